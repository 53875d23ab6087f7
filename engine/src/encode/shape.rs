//! Geometric blocks of the [`GeometricColorEncoder`](super::GeometricColorEncoder)
//! descriptor: PCA extent and shape ratios, and shape distributions (Osada D2
//! distances, A3 angles, unoriented normal-pair angles) from seeded random samples.
//!
//! Guarantees: everything here depends only on distances, angles and the
//! eigenvalues of the covariance, so it is invariant to rigid transforms (exactly
//! in real arithmetic; up to `f32` rounding in practice). Sizes are absolute, in
//! metres. Sampling uses [`Rng`] with the configured seed, so the same input (same
//! points in the same order) always gives the same histograms.

use nalgebra::{Matrix3, Vector3};

use super::geometric::GeometricColorConfig;
use super::histogram::{LogBins, add_gaussian, add_linear, log_coord, unit_coord};
use crate::rng::Rng;

/// Stream labels deriving independent generators from the configured seed.
const STREAM_PAIRS: u64 = 1;
const STREAM_TRIPLETS: u64 = 2;

/// Extent and shape of a point set from the eigenvalues of its covariance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PcaShape {
    /// `sqrt(12 λ)` for the eigenvalues `λ1 ≥ λ2 ≥ λ3`: the length, in metres, of a
    /// uniform segment with the same variance along each principal axis.
    pub extents_m: [f32; 3],
    /// `(λ1 − λ2) / λ1`.
    pub linearity: f32,
    /// `(λ2 − λ3) / λ1`.
    pub planarity: f32,
    /// `λ3 / λ1`.
    pub scattering: f32,
}

/// PCA of `points` (in any frame), computed in `f64`. A degenerate set (all points
/// equal) gives zero extents and `scattering = 1`.
pub(crate) fn pca_shape(points: &[Vector3<f32>]) -> PcaShape {
    let n = points.len().max(1) as f64;
    let mut mean = Vector3::<f64>::zeros();
    for p in points {
        mean += p.cast::<f64>();
    }
    mean /= n;
    let mut cov = Matrix3::<f64>::zeros();
    for p in points {
        let d = p.cast::<f64>() - mean;
        cov += d * d.transpose();
    }
    cov /= n;
    let eig = cov.symmetric_eigen();
    let mut l: [f64; 3] = [
        eig.eigenvalues[0].max(0.0),
        eig.eigenvalues[1].max(0.0),
        eig.eigenvalues[2].max(0.0),
    ];
    l.sort_by(|a, b| b.total_cmp(a));
    if !l.iter().all(|v| v.is_finite()) {
        l = [0.0; 3];
    }
    let extents_m = l.map(|v| (12.0 * v).sqrt() as f32);
    let (linearity, planarity, scattering) = if l[0] > 1e-18 {
        (
            ((l[0] - l[1]) / l[0]) as f32,
            ((l[1] - l[2]) / l[0]) as f32,
            (l[2] / l[0]) as f32,
        )
    } else {
        (0.0, 0.0, 1.0)
    };
    PcaShape {
        extents_m,
        linearity,
        planarity,
        scattering,
    }
}

/// Writes the PCA block: for each sorted extent a Gaussian soft histogram on
/// log-spaced bins, then for each of linearity, planarity and scattering a Gaussian
/// soft histogram on `[0, 1]`. Each sub-histogram sums to 1; the caller normalises
/// the block. `out` must hold `3 * extent_bins + 3 * ratio_bins` values.
pub(crate) fn write_pca_block(shape: &PcaShape, cfg: &GeometricColorConfig, out: &mut [f32]) {
    let eb = cfg.extent_bins;
    let rb = cfg.ratio_bins;
    let (lo, hi) = cfg.extent_range_m;
    let (extents, ratios) = out.split_at_mut((3 * eb).min(out.len()));
    for (chunk, &e) in extents.chunks_mut(eb.max(1)).zip(&shape.extents_m) {
        add_gaussian(chunk, log_coord(e, lo, hi, eb), cfg.extent_sigma_bins, 1.0);
    }
    let r = [shape.linearity, shape.planarity, shape.scattering];
    for (chunk, &v) in ratios.chunks_mut(rb.max(1)).zip(&r) {
        add_gaussian(chunk, unit_coord(v, rb), cfg.ratio_sigma_bins, 1.0);
    }
}

/// Histograms of the shape distributions, unnormalised (masses).
pub(crate) struct Distributions {
    /// D2: distances between random point pairs, log-spaced bins in metres.
    pub distances: Vec<f32>,
    /// A3: angle θ at the first point of random triplets, binned uniformly in
    /// `(1 − cos θ) / 2 ∈ [0, 1]` (0° to 180°; no `acos` needed).
    pub angles: Vec<f32>,
    /// Joint histogram, distance-major (`normal_distance_bins` rows of
    /// `normal_bins`), of the pair distance (coarse log bins over the D2 range) and
    /// the unoriented angle θ between the normals of random pairs where both are
    /// valid, binned uniformly in `sqrt(1 − |cos θ|) ∈ [0, 1]` (close to linear in θ
    /// from 0° to 90°, so normal noise of a few degrees moves mass by less than a
    /// bin); all zero when no normals are given.
    pub normal_angles: Vec<f32>,
}

/// Samples the shape distributions of `points`. `normals`, when given, has one entry
/// per point: a unit normal, or the zero vector where the normal is invalid.
/// `points` must hold at least 3 points for the angles (otherwise they stay empty).
pub(crate) fn distributions(
    points: &[Vector3<f32>],
    normals: Option<&[Vector3<f32>]>,
    cfg: &GeometricColorConfig,
) -> Distributions {
    let mut out = Distributions {
        distances: vec![0.0; cfg.distance_bins],
        angles: vec![0.0; cfg.angle_bins],
        normal_angles: vec![0.0; cfg.normal_bins * cfg.normal_distance_bins.max(1)],
    };
    let n = points.len();
    if n < 2 {
        return out;
    }
    let (lo, hi) = cfg.distance_range_m;
    let bins = LogBins::new(lo, hi, cfg.distance_bins);
    let nb = cfg.normal_bins;
    let ndb = cfg.normal_distance_bins.max(1);
    // Distance coordinate of the joint (distance × normal angle) histogram.
    let to_coarse = if cfg.distance_bins > 1 {
        ndb.saturating_sub(1) as f32 / (cfg.distance_bins - 1) as f32
    } else {
        0.0
    };
    let mut rng = Rng::derive(cfg.seed, STREAM_PAIRS);
    for _ in 0..cfg.pairs {
        let (i, j) = distinct_pair(&mut rng, n);
        let (Some(p), Some(q)) = (points.get(i), points.get(j)) else {
            continue;
        };
        let d_sq = (p - q).norm_squared();
        let dx = bins.coord_of_squared(d_sq);
        add_linear(&mut out.distances, dx, 1.0);
        if let Some(normals) = normals
            && let (Some(a), Some(b)) = (normals.get(i), normals.get(j))
            && a.norm_squared() > 0.5
            && b.norm_squared() > 0.5
        {
            let ax = unit_coord((1.0 - a.dot(b).abs()).max(0.0).sqrt(), nb);
            let cx = dx * to_coarse;
            let c0 = cx as usize;
            let f = cx - c0 as f32;
            for (row, mass) in [(c0, 1.0 - f), (c0 + 1, f)] {
                if mass > 0.0
                    && let Some(r) = out.normal_angles.get_mut(row * nb..(row + 1) * nb)
                {
                    add_linear(r, ax, mass);
                }
            }
        }
    }
    if n < 3 {
        return out;
    }
    let ab = cfg.angle_bins;
    let mut rng = Rng::derive(cfg.seed, STREAM_TRIPLETS);
    for _ in 0..cfg.triplets {
        let (i, j) = distinct_pair(&mut rng, n);
        let mut k = rng.below(n);
        while k == i || k == j {
            k = (k + 1) % n;
        }
        let (Some(a), Some(b), Some(c)) = (points.get(i), points.get(j), points.get(k)) else {
            continue;
        };
        let (u, v) = (b - a, c - a);
        let denom = (u.norm_squared() * v.norm_squared()).sqrt();
        if denom <= 1e-18 {
            continue;
        }
        let cos = (u.dot(&v) / denom).clamp(-1.0, 1.0);
        add_linear(&mut out.angles, unit_coord(0.5 * (1.0 - cos), ab), 1.0);
    }
    out
}

/// Two distinct indices in `[0, n)`, `n ≥ 2`.
fn distinct_pair(rng: &mut Rng, n: usize) -> (usize, usize) {
    let i = rng.below(n);
    let mut j = rng.below(n - 1);
    if j >= i {
        j += 1;
    }
    (i, j)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pca_of_a_segment_recovers_its_length() {
        let pts: Vec<Vector3<f32>> = (0..1001)
            .map(|i| Vector3::new(0.3, i as f32 * 0.002, -1.0))
            .collect();
        let s = pca_shape(&pts);
        assert!((s.extents_m[0] - 2.0).abs() < 0.01, "{s:?}");
        assert!(s.extents_m[1] < 1e-3 && s.linearity > 0.99);
        let same = pca_shape(&[Vector3::new(1.0, 2.0, 3.0); 10]);
        assert_eq!(same.extents_m, [0.0; 3]);
        assert_eq!(same.scattering, 1.0);
    }

    #[test]
    fn distances_of_two_points_land_in_one_bin() {
        let cfg = GeometricColorConfig::default();
        let pts = vec![Vector3::zeros(), Vector3::new(0.0, 0.0, 1.0)];
        let d = distributions(&pts, None, &cfg);
        let total: f32 = d.distances.iter().sum();
        assert!((total - cfg.pairs as f32).abs() < 1e-3 * cfg.pairs as f32);
        let x = log_coord(
            1.0,
            cfg.distance_range_m.0,
            cfg.distance_range_m.1,
            cfg.distance_bins,
        );
        let peak = x.round() as usize;
        assert!(d.distances[peak] > 0.4 * total);
        assert!(d.angles.iter().all(|&a| a == 0.0));
        assert!(d.normal_angles.iter().all(|&a| a == 0.0));
    }
}
