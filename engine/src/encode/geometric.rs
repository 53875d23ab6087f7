//! The training-free instance descriptor: [`GeometricColorEncoder`].
//!
//! A descriptor is the concatenation of six blocks ([`Block`]), each normalised to
//! unit L2 norm (histograms through their Hellinger embedding, so the dot product of
//! two blocks is the Bhattacharyya coefficient of the two distributions), multiplied
//! by its weight ([`BlockWeights`]), and the whole vector L2-normalised. The cosine
//! of two descriptors is therefore the weight²-averaged block similarity:
//!
//! | block | content |
//! |---|---|
//! | [`Block::Extent`] | `sqrt(12 λ)` of the three sorted covariance eigenvalues (metres), Gaussian soft-binned on log-spaced bins: size matters |
//! | [`Block::ShapeRatios`] | linearity, planarity, scattering of the eigenvalues, soft-binned on `[0, 1]` |
//! | [`Block::Distances`] | Osada D2: distances of random point pairs, log-spaced bins, absolute metres |
//! | [`Block::Angles`] | A3: angle at the first point of random triplets |
//! | [`Block::NormalAngles`] | joint histogram of pair distance (coarse log bins) × unoriented angle between the pair's normals, binned in `sqrt(1 − |cos|)` (zero block without normals) |
//! | [`Block::Color`] | hue × saturation histogram plus grey levels normalised by the instance mean (zero block without colours), see [`super::color`] |
//!
//! Guarantees:
//! - invariant to rigid transforms of the input by construction (distances, angles,
//!   eigenvalues, colours only); no gravity direction or frame is assumed;
//! - deterministic: random pairs and triplets come from [`crate::rng::Rng`] seeded
//!   with [`GeometricColorConfig::seed`]; the same points in the same order give the
//!   same descriptor bit for bit;
//! - robust to subsampling (histograms are normalised distributions), to a global
//!   exposure change and to moderate white-balance changes;
//! - cost is bounded: at most `max_points` points are used (a seeded subset of
//!   larger inputs), `pairs` pairs and `triplets` triplets are drawn whatever the
//!   size.
//!
//! Input rules: a point with a non-finite coordinate or a coordinate beyond
//! [`MAX_ABS_COORD_M`] is *ignored* with its colour and normal (logged at `debug`);
//! fewer than [`MIN_POINTS`] remaining points give [`EncodeError::TooFewPoints`];
//! attributes whose length differs from the number of points give
//! [`EncodeError::Inconsistent`]. Normals need not be unit length; zero or
//! non-finite normals are left out of the normal block only.
//!
//! Limits (expected behaviour): the descriptor sees shape, size and colour, not
//! identity. Two identical chairs give near-identical descriptors (cosine ≈ 1):
//! that is intended, the geometry-consistent RANSAC of the localiser tells them
//! apart from their layout. Objects of similar size and colour (a grey box and a
//! grey cabinet) also score high; partial views lower the similarity to the full
//! object, mostly through the extent and distance blocks. Descriptors from inputs
//! with different attribute sets (colours or normals missing on one side) are
//! comparable but score lower, by the weight share of the missing block.

use std::ops::Range;

use nalgebra::Vector3;
use serde::{Deserialize, Serialize};

use super::color::write_color_block;
use super::histogram::{hellinger, l2_normalise};
use super::shape::{distributions, pca_shape, write_pca_block};
use super::{EncodeError, InstanceEncoder, Modality};
use crate::frame::PointCloud;
use crate::rng::Rng;

/// Fewest valid (finite) points an instance must have to be encoded.
pub const MIN_POINTS: usize = 10;
/// Points with a coordinate of larger magnitude (metres) are ignored as corrupt.
pub const MAX_ABS_COORD_M: f32 = 1.0e5;
/// Stream label of the generator choosing the subset of large inputs.
const STREAM_SUBSET: u64 = 3;

/// One block of the descriptor, in layout order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Block {
    /// Sorted PCA extents, log-binned (metres).
    Extent,
    /// Linearity, planarity, scattering.
    ShapeRatios,
    /// D2 pair distances (metres).
    Distances,
    /// A3 triplet angles.
    Angles,
    /// Angles between the normals of random pairs.
    NormalAngles,
    /// Hue–saturation and normalised grey-level histogram.
    Color,
}

impl Block {
    /// Every block, in layout order.
    pub const ALL: [Block; 6] = [
        Block::Extent,
        Block::ShapeRatios,
        Block::Distances,
        Block::Angles,
        Block::NormalAngles,
        Block::Color,
    ];
}

/// Relative weight of each block in the descriptor (non-negative; a block with
/// weight 0 is left out of the similarity). Only ratios matter.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BlockWeights {
    /// Weight of [`Block::Extent`].
    pub extent: f32,
    /// Weight of [`Block::ShapeRatios`].
    pub shape_ratios: f32,
    /// Weight of [`Block::Distances`].
    pub distances: f32,
    /// Weight of [`Block::Angles`].
    pub angles: f32,
    /// Weight of [`Block::NormalAngles`].
    pub normal_angles: f32,
    /// Weight of [`Block::Color`].
    pub color: f32,
}

impl Default for BlockWeights {
    fn default() -> Self {
        BlockWeights {
            extent: 1.0,
            shape_ratios: 0.6,
            distances: 1.0,
            angles: 0.3,
            normal_angles: 0.6,
            color: 1.0,
        }
    }
}

impl BlockWeights {
    /// The weight of `block`.
    pub fn get(&self, block: Block) -> f32 {
        match block {
            Block::Extent => self.extent,
            Block::ShapeRatios => self.shape_ratios,
            Block::Distances => self.distances,
            Block::Angles => self.angles,
            Block::NormalAngles => self.normal_angles,
            Block::Color => self.color,
        }
    }
}

/// Parameters of the [`GeometricColorEncoder`]. The defaults give a 128-dimensional
/// descriptor tuned for indoor furniture and objects from 3 cm to 4 m.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GeometricColorConfig {
    /// Log-spaced bins per PCA extent (3 extents).
    pub extent_bins: usize,
    /// Centres of the first and last extent bins, metres (`0 < lo < hi`).
    pub extent_range_m: (f32, f32),
    /// Standard deviation of the extent soft binning, in bins.
    pub extent_sigma_bins: f32,
    /// Bins per eigenvalue ratio on `[0, 1]` (3 ratios).
    pub ratio_bins: usize,
    /// Standard deviation of the ratio soft binning, in bins.
    pub ratio_sigma_bins: f32,
    /// Log-spaced D2 distance bins.
    pub distance_bins: usize,
    /// Centres of the first and last distance bins, metres (`0 < lo < hi`).
    pub distance_range_m: (f32, f32),
    /// A3 angle bins, uniform in `(1 − cos θ) / 2` over `[0, 1]`.
    pub angle_bins: usize,
    /// Normal-pair angle bins, uniform in `sqrt(1 − |cos θ|)` over `[0, 1]`.
    pub normal_bins: usize,
    /// Log-spaced distance bins (same range as the D2 bins) of the joint
    /// distance × normal-angle histogram; 1 gives a plain normal-angle histogram.
    pub normal_distance_bins: usize,
    /// Hue bins (circular).
    pub hue_bins: usize,
    /// Standard deviation of the (circular) hue soft binning, in bins.
    pub hue_sigma_bins: f32,
    /// Saturation bins per hue.
    pub saturation_bins: usize,
    /// Grey-level bins.
    pub grey_bins: usize,
    /// Random point pairs drawn for the D2 and normal histograms.
    pub pairs: usize,
    /// Random point triplets drawn for the A3 histogram.
    pub triplets: usize,
    /// Inputs with more valid points use a seeded subset of this many.
    pub max_points: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Block weights.
    pub weights: BlockWeights,
}

impl Default for GeometricColorConfig {
    fn default() -> Self {
        GeometricColorConfig {
            extent_bins: 12,
            extent_range_m: (0.03, 3.0),
            extent_sigma_bins: 0.75,
            ratio_bins: 5,
            ratio_sigma_bins: 0.6,
            distance_bins: 16,
            distance_range_m: (0.01, 4.0),
            angle_bins: 9,
            normal_bins: 6,
            normal_distance_bins: 4,
            hue_bins: 12,
            hue_sigma_bins: 0.7,
            saturation_bins: 2,
            grey_bins: 4,
            pairs: 4096,
            triplets: 2048,
            max_points: 4096,
            seed: 0x5EED_C0DE,
            weights: BlockWeights::default(),
        }
    }
}

/// Why a [`GeometricColorConfig`] was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A bin count outside its allowed range.
    #[error("{field} must be in {min}..={max}, got {value}")]
    Bins {
        /// The field.
        field: &'static str,
        /// Its value.
        value: usize,
        /// Smallest allowed.
        min: usize,
        /// Largest allowed.
        max: usize,
    },
    /// A metric range that is not `0 < lo < hi`, finite.
    #[error("{field} must satisfy 0 < lo < hi (finite), got ({lo}, {hi})")]
    Range {
        /// The field.
        field: &'static str,
        /// Lower end.
        lo: f32,
        /// Upper end.
        hi: f32,
    },
    /// A weight or width that is negative or not finite, or all weights zero.
    #[error("{0}")]
    Value(String),
}

impl GeometricColorConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bins = [
            ("extent_bins", self.extent_bins, 2),
            ("ratio_bins", self.ratio_bins, 2),
            ("distance_bins", self.distance_bins, 2),
            ("angle_bins", self.angle_bins, 2),
            ("normal_bins", self.normal_bins, 2),
            ("normal_distance_bins", self.normal_distance_bins, 1),
            ("hue_bins", self.hue_bins, 3),
            ("saturation_bins", self.saturation_bins, 1),
            ("grey_bins", self.grey_bins, 2),
        ];
        for (field, value, min) in bins {
            if !(min..=256).contains(&value) {
                return Err(ConfigError::Bins {
                    field,
                    value,
                    min,
                    max: 256,
                });
            }
        }
        for (field, (lo, hi)) in [
            ("extent_range_m", self.extent_range_m),
            ("distance_range_m", self.distance_range_m),
        ] {
            if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && hi > lo) {
                return Err(ConfigError::Range { field, lo, hi });
            }
        }
        for (field, v) in [
            ("extent_sigma_bins", self.extent_sigma_bins),
            ("ratio_sigma_bins", self.ratio_sigma_bins),
            ("hue_sigma_bins", self.hue_sigma_bins),
        ] {
            if !(v.is_finite() && (0.0..=16.0).contains(&v)) {
                return Err(ConfigError::Value(format!(
                    "{field} must be in [0, 16], got {v}"
                )));
            }
        }
        for (field, value, min) in [
            ("pairs", self.pairs, 16),
            ("triplets", self.triplets, 16),
            ("max_points", self.max_points, MIN_POINTS),
        ] {
            if !(min..=1 << 24).contains(&value) {
                return Err(ConfigError::Bins {
                    field,
                    value,
                    min,
                    max: 1 << 24,
                });
            }
        }
        let w = self.weights;
        let all = Block::ALL.map(|b| w.get(b));
        if all.iter().any(|v| !(v.is_finite() && *v >= 0.0)) || all.iter().all(|v| *v == 0.0) {
            return Err(ConfigError::Value(format!(
                "block weights must be finite, non-negative and not all zero, got {w:?}"
            )));
        }
        Ok(())
    }

    /// Length of the part of the descriptor that `block` occupies.
    pub fn block_len(&self, block: Block) -> usize {
        match block {
            Block::Extent => 3 * self.extent_bins,
            Block::ShapeRatios => 3 * self.ratio_bins,
            Block::Distances => self.distance_bins,
            Block::Angles => self.angle_bins,
            Block::NormalAngles => self.normal_bins * self.normal_distance_bins,
            Block::Color => self.hue_bins * self.saturation_bins + self.grey_bins,
        }
    }

    /// Index range of `block` in the descriptor.
    pub fn block_range(&self, block: Block) -> Range<usize> {
        let start: usize = Block::ALL
            .iter()
            .take_while(|&&b| b != block)
            .map(|&b| self.block_len(b))
            .sum();
        start..start + self.block_len(block)
    }

    /// Descriptor length: the sum of `3·extent_bins`, `3·ratio_bins`,
    /// `distance_bins`, `angle_bins`, `normal_bins·normal_distance_bins` and
    /// `hue_bins·saturation_bins + grey_bins` (36 + 15 + 16 + 9 + 24 + 28 = 128 by
    /// default).
    pub fn dim(&self) -> usize {
        Block::ALL.iter().map(|&b| self.block_len(b)).sum()
    }
}

/// Training-free instance descriptor from geometry (PCA extent and shape, shape
/// distributions) and colour; see the [module documentation](self).
///
/// ```
/// use crossloc::encode::{GeometricColorEncoder, InstanceEncoder, cosine};
/// use crossloc::PointCloud;
/// use nalgebra::Point3;
///
/// let enc = GeometricColorEncoder::default();
/// let cloud = PointCloud {
///     points: (0..200)
///         .map(|i| Point3::new((i % 10) as f32 * 0.05, (i / 10) as f32 * 0.02, 0.0))
///         .collect(),
///     ..Default::default()
/// };
/// let d = enc.encode(&cloud).unwrap();
/// assert_eq!(d.len(), enc.dim());
/// assert!((cosine(&d, &d) - 1.0).abs() < 1e-5);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GeometricColorEncoder {
    config: GeometricColorConfig,
}

impl GeometricColorEncoder {
    /// An encoder with a checked configuration.
    pub fn new(config: GeometricColorConfig) -> Result<GeometricColorEncoder, ConfigError> {
        config.validate()?;
        Ok(GeometricColorEncoder { config })
    }

    /// The configuration.
    pub fn config(&self) -> &GeometricColorConfig {
        &self.config
    }
}

/// The valid part of an instance, at most `max_points` points.
struct Selected {
    points: Vec<Vector3<f32>>,
    normals: Option<Vec<Vector3<f32>>>,
    colors: Option<Vec<[u8; 3]>>,
}

fn inconsistency(instance: &PointCloud) -> Option<String> {
    let n = instance.points.len();
    let lens = [
        ("colors", instance.colors.as_ref().map(Vec::len)),
        ("normals", instance.normals.as_ref().map(Vec::len)),
        ("instance_ids", instance.instance_ids.as_ref().map(Vec::len)),
        ("semantic_ids", instance.semantic_ids.as_ref().map(Vec::len)),
    ];
    lens.iter().find_map(|(name, len)| {
        len.filter(|&l| l != n)
            .map(|l| format!("{l} {name} for {n} points"))
    })
}

fn select(instance: &PointCloud, cfg: &GeometricColorConfig) -> Result<Selected, EncodeError> {
    if let Some(message) = inconsistency(instance) {
        return Err(EncodeError::Inconsistent(message));
    }
    let mut valid: Vec<usize> = instance
        .points
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            p.coords
                .iter()
                .all(|c| c.is_finite() && c.abs() <= MAX_ABS_COORD_M)
        })
        .map(|(i, _)| i)
        .collect();
    let ignored = instance.points.len() - valid.len();
    if ignored > 0 {
        log::debug!("encode: ignored {ignored} non-finite or out-of-range points");
    }
    if valid.len() < MIN_POINTS {
        return Err(EncodeError::TooFewPoints {
            found: valid.len(),
            needed: MIN_POINTS,
        });
    }
    if valid.len() > cfg.max_points {
        // Partial Fisher–Yates: the first `max_points` entries become a uniform
        // seeded subset; sorting keeps the input order.
        let mut rng = Rng::derive(cfg.seed, STREAM_SUBSET);
        let n = valid.len();
        for i in 0..cfg.max_points {
            let j = i + rng.below(n - i);
            valid.swap(i, j);
        }
        valid.truncate(cfg.max_points);
        valid.sort_unstable();
    }
    let points = valid
        .iter()
        .filter_map(|&i| instance.points.get(i).map(|p| p.coords))
        .collect();
    let normals = instance.normals.as_ref().map(|ns| {
        valid
            .iter()
            .map(|&i| {
                ns.get(i)
                    .and_then(|n| n.try_normalize(1e-6))
                    .filter(|n| n.iter().all(|c| c.is_finite()))
                    .unwrap_or_else(Vector3::zeros)
            })
            .collect()
    });
    let colors = instance.colors.as_ref().map(|cs| {
        valid
            .iter()
            .map(|&i| cs.get(i).copied().unwrap_or([0, 0, 0]))
            .collect()
    });
    Ok(Selected {
        points,
        normals,
        colors,
    })
}

impl InstanceEncoder for GeometricColorEncoder {
    fn modality(&self) -> Modality {
        Modality::Point
    }

    /// See [`GeometricColorConfig::dim`].
    fn dim(&self) -> usize {
        self.config.dim()
    }

    fn encode(&self, instance: &PointCloud) -> Result<Vec<f32>, EncodeError> {
        let cfg = &self.config;
        let sel = select(instance, cfg)?;
        let mut out = vec![0.0f32; cfg.dim()];

        let pca = pca_shape(&sel.points);
        let pca_range =
            cfg.block_range(Block::Extent).start..cfg.block_range(Block::ShapeRatios).end;
        if let Some(slot) = out.get_mut(pca_range) {
            write_pca_block(&pca, cfg, slot);
        }
        let dists = distributions(&sel.points, sel.normals.as_deref(), cfg);
        for (block, hist) in [
            (Block::Distances, &dists.distances),
            (Block::Angles, &dists.angles),
            (Block::NormalAngles, &dists.normal_angles),
        ] {
            if let Some(slot) = out.get_mut(cfg.block_range(block)) {
                slot.iter_mut().zip(hist).for_each(|(o, h)| *o = *h);
            }
        }
        if let Some(colors) = &sel.colors
            && let Some(slot) = out.get_mut(cfg.block_range(Block::Color))
        {
            write_color_block(colors, cfg, slot);
        }

        for block in Block::ALL {
            if let Some(slot) = out.get_mut(cfg.block_range(block)) {
                hellinger(slot);
                let w = cfg.weights.get(block);
                slot.iter_mut().for_each(|x| *x *= w);
            }
        }
        if !l2_normalise(&mut out) {
            return Err(EncodeError::Inconsistent(
                "descriptor is degenerate (every weighted block is empty)".into(),
            ));
        }
        log::trace!(
            "encode: {} points ({} used), extents {:?} m",
            instance.points.len(),
            sel.points.len(),
            pca.extents_m
        );
        Ok(out)
    }
}

#[cfg(test)]
#[path = "geometric_tests.rs"]
mod tests;
