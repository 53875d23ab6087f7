//! Voxel keys and voxel-averaged point storage.
//!
//! A [`VoxelKey`] is the integer cell `floor(p / size)` of a point `p` (metres).
//! Grids are nested: a grid at level `L` has cells of `base_size * 2^L`, and its
//! key is the base key divided (rounding towards −∞) by `2^L`, so coarsening is
//! exact integer arithmetic.
//!
//! [`VoxelGrid`] keeps one running-mean point (with mean normal and colour) per
//! occupied cell, in first-insertion order (never in hash order), and a hash index
//! from key to cell. When it would hold more cells than its cap it doubles its cell
//! size and merges cells (weighted means), deterministically, until it fits.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use nalgebra::{Point3, Vector3};

/// Integer voxel coordinates of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct VoxelKey(pub [i32; 3]);

impl Hash for VoxelKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let [x, y, z] = self.0;
        let packed = (x as u32 as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (y as u32 as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
            ^ (z as u32 as u64).wrapping_mul(0x1656_67B1_9E37_79F9);
        state.write_u64(packed);
    }
}

impl VoxelKey {
    /// The key of `p` for cells of `size` metres; `None` for a non-finite point or
    /// one too far from the origin for 32-bit keys.
    pub fn of(p: &Point3<f32>, size: f32) -> Option<VoxelKey> {
        let mut k = [0i32; 3];
        for (i, slot) in k.iter_mut().enumerate() {
            let c = (p[i] / size).floor();
            if !c.is_finite() || c.abs() > 1.0e9 {
                return None;
            }
            *slot = c as i32;
        }
        Some(VoxelKey(k))
    }

    /// The key of the enclosing cell `factor` times larger (`factor ≥ 1`).
    pub fn coarsen(self, factor: i32) -> VoxelKey {
        let f = factor.max(1);
        let [x, y, z] = self.0;
        VoxelKey([x.div_euclid(f), y.div_euclid(f), z.div_euclid(f)])
    }
}

/// A small, fast, deterministic hasher for [`VoxelKey`] (a multiply–xorshift mix;
/// no per-process random state).
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z ^ (z >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x0100_0000_01B3);
        }
    }

    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Hash map keyed by voxel, with the deterministic [`KeyHasher`].
pub type KeyMap<V> = HashMap<VoxelKey, V, BuildHasherDefault<KeyHasher>>;

/// One voxel-averaged sample, as inserted into a [`VoxelGrid`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Position, metres.
    pub point: Point3<f32>,
    /// Normal (unit, or zero when unknown).
    pub normal: Vector3<f32>,
    /// Colour as floating RGB in `[0, 255]`, or `None` when unknown.
    pub color: Option<[f32; 3]>,
}

/// Sums of position, normal, colour and the point count of one cell.
type SumAcc = (Vector3<f32>, Vector3<f32>, [u32; 3], u32);

/// Downsamples points to one averaged [`Sample`] per cell of `size` metres.
///
/// Returns the cells' keys and samples in first-occurrence order. Non-finite
/// points are skipped; `normals` and `colors` are used only when they have one
/// entry per point.
pub fn downsample(
    points: &[Point3<f32>],
    normals: &[Vector3<f32>],
    colors: &[[u8; 3]],
    size: f32,
) -> (Vec<VoxelKey>, Vec<Sample>) {
    let use_n = normals.len() == points.len();
    let use_c = colors.len() == points.len();
    let mut index: KeyMap<u32> = KeyMap::with_capacity_and_hasher(points.len(), Default::default());
    let mut keys: Vec<VoxelKey> = Vec::with_capacity(points.len());
    let mut acc: Vec<SumAcc> = Vec::with_capacity(points.len());
    for (i, p) in points.iter().enumerate() {
        let Some(key) = VoxelKey::of(p, size) else {
            continue;
        };
        let slot = *index.entry(key).or_insert_with(|| {
            keys.push(key);
            acc.push((Vector3::zeros(), Vector3::zeros(), [0; 3], 0));
            (acc.len() - 1) as u32
        });
        let Some(a) = acc.get_mut(slot as usize) else {
            continue;
        };
        a.0 += p.coords;
        if use_n && let Some(n) = normals.get(i).filter(|n| n.iter().all(|v| v.is_finite())) {
            a.1 += n;
        }
        if use_c && let Some(c) = colors.get(i) {
            for k in 0..3 {
                a.2[k] += u32::from(c[k]);
            }
        }
        a.3 += 1;
    }
    let samples = acc
        .iter()
        .map(|(sp, sn, sc, n)| {
            let w = (*n).max(1) as f32;
            Sample {
                point: Point3::from(sp / w),
                normal: unit_or_zero(*sn),
                color: use_c.then(|| sc.map(|c| c as f32 / w)),
            }
        })
        .collect();
    (keys, samples)
}

/// `v` normalised, or zero when it is (nearly) zero or not finite.
pub fn unit_or_zero(v: Vector3<f32>) -> Vector3<f32> {
    let n = v.norm();
    if n > 1e-6 && n.is_finite() {
        v / n
    } else {
        Vector3::zeros()
    }
}

/// Bookkeeping of one cell besides its public point, normal and colour.
#[derive(Debug, Clone, Copy)]
struct CellAcc {
    key: VoxelKey,
    color: [f32; 3],
    color_weight: u32,
    weight: u32,
}

/// Voxel-averaged point storage with a cell cap (see the module doc). Points,
/// unit normals and colours are stored ready to hand out as slices.
#[derive(Debug, Clone, Default)]
pub struct VoxelGrid {
    base_size: f32,
    level: u32,
    max_cells: usize,
    max_weight: u32,
    index: KeyMap<u32>,
    acc: Vec<CellAcc>,
    points: Vec<Point3<f32>>,
    normals: Vec<Vector3<f32>>,
    colors: Vec<[u8; 3]>,
}

/// A floating colour rounded to 8 bits.
fn to_u8(c: [f32; 3]) -> [u8; 3] {
    c.map(|v| (v + 0.5).clamp(0.0, 255.0) as u8)
}

impl VoxelGrid {
    /// An empty grid with cells of `base_size` metres, at most `max_cells` cells
    /// (at least 1), and running-mean weights capped at `max_weight` (at least 1)
    /// so old observations fade.
    pub fn new(base_size: f32, max_cells: usize, max_weight: u32) -> VoxelGrid {
        VoxelGrid {
            base_size,
            max_cells: max_cells.max(1),
            max_weight: max_weight.max(1),
            ..VoxelGrid::default()
        }
    }

    /// Current level: cells are `base_size * 2^level` metres.
    pub fn level(&self) -> u32 {
        self.level
    }

    /// `2^level`, the cell size in base cells.
    pub fn scale(&self) -> i32 {
        1i32 << self.level.min(30)
    }

    /// Current cell size, metres.
    pub fn cell_size(&self) -> f32 {
        self.base_size * self.scale() as f32
    }

    /// Number of occupied cells.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// True without cells.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Cell keys at the current level, in cell order.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = VoxelKey> + '_ {
        self.acc.iter().map(|c| c.key)
    }

    /// Mean position per cell, metres, in cell order.
    pub fn points(&self) -> &[Point3<f32>] {
        &self.points
    }

    /// Unit mean normal per cell (zero where no normal was seen).
    pub fn normals(&self) -> &[Vector3<f32>] {
        &self.normals
    }

    /// Mean colour per cell (grey where no colour was seen).
    pub fn colors(&self) -> &[[u8; 3]] {
        &self.colors
    }

    /// Adds one sample with `weight` to the cell `key_base.coarsen(scale)` (the key
    /// of the sample's base-level cell). Returns the key at the current level and
    /// whether the cell is new. Does not enforce the cap (call [`Self::enforce_cap`]).
    pub fn insert(&mut self, key_base: VoxelKey, s: &Sample, weight: u32) -> (VoxelKey, bool) {
        let key = key_base.coarsen(self.scale());
        self.insert_at(key, s, weight)
    }

    /// Adds one sample whose cell is computed from its position at the current
    /// level; `None` when the position has no key.
    pub fn insert_point(&mut self, s: &Sample, weight: u32) -> Option<(VoxelKey, bool)> {
        let key = VoxelKey::of(&s.point, self.cell_size())?;
        Some(self.insert_at(key, s, weight))
    }

    fn insert_at(&mut self, key: VoxelKey, s: &Sample, weight: u32) -> (VoxelKey, bool) {
        let weight = weight.max(1);
        let next = self.points.len() as u32;
        let slot = *self.index.entry(key).or_insert(next);
        if slot != next {
            self.blend(slot as usize, s, weight);
            return (key, false);
        }
        let w = weight.min(self.max_weight);
        self.acc.push(CellAcc {
            key,
            color: s.color.unwrap_or([0.0; 3]),
            color_weight: if s.color.is_some() { w } else { 0 },
            weight: w,
        });
        self.points.push(s.point);
        self.normals.push(unit_or_zero(s.normal));
        self.colors.push(s.color.map_or([128; 3], to_u8));
        (key, true)
    }

    /// Running weighted means; weights saturate at `max_weight`. The normal is
    /// renormalised after each update.
    fn blend(&mut self, i: usize, s: &Sample, weight: u32) {
        let (Some(c), Some(p), Some(n), Some(col)) = (
            self.acc.get_mut(i),
            self.points.get_mut(i),
            self.normals.get_mut(i),
            self.colors.get_mut(i),
        ) else {
            return;
        };
        let a = weight as f32 / (c.weight + weight) as f32;
        *p += (s.point - *p) * a;
        *n = unit_or_zero(*n + (s.normal - *n) * a);
        c.weight = (c.weight + weight).min(self.max_weight);
        if let Some(sc) = s.color {
            let b = weight as f32 / (c.color_weight + weight) as f32;
            for k in 0..3 {
                c.color[k] += (sc[k] - c.color[k]) * b;
            }
            c.color_weight = (c.color_weight + weight).min(self.max_weight);
            *col = to_u8(c.color);
        }
    }

    /// The cell `i` as a sample with its weight (for moving cells between grids).
    pub fn sample(&self, i: usize) -> Option<(Sample, u32)> {
        let c = self.acc.get(i)?;
        let s = Sample {
            point: *self.points.get(i)?,
            normal: *self.normals.get(i)?,
            color: (c.color_weight > 0).then_some(c.color),
        };
        Some((s, c.weight))
    }

    /// Doubles the cell size until at most `max_cells` cells remain. Returns true
    /// when the grid was coarsened.
    pub fn enforce_cap(&mut self) -> bool {
        let mut changed = false;
        while self.points.len() > self.max_cells && self.level < 30 {
            self.coarsen_once();
            changed = true;
        }
        changed
    }

    fn coarsen_once(&mut self) {
        let old = std::mem::replace(
            self,
            VoxelGrid {
                base_size: self.base_size,
                level: self.level + 1,
                max_cells: self.max_cells,
                max_weight: self.max_weight,
                ..VoxelGrid::default()
            },
        );
        for (i, c) in old.acc.iter().enumerate() {
            if let Some((s, w)) = old.sample(i) {
                self.insert_at(c.key.coarsen(2), &s, w);
            }
        }
        log::trace!(
            "voxel grid coarsened to level {} ({} cells)",
            self.level,
            self.points.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_floor_and_coarsen_nest() {
        let k = VoxelKey::of(&Point3::new(-0.01, 0.03, 0.0), 0.02).unwrap();
        assert_eq!(k, VoxelKey([-1, 1, 0]));
        assert_eq!(k.coarsen(2), VoxelKey([-1, 0, 0]));
        let p = Point3::new(-0.13, 0.37, 1.01);
        let fine = VoxelKey::of(&p, 0.02).unwrap();
        assert_eq!(fine.coarsen(4), VoxelKey::of(&p, 0.08).unwrap());
        assert!(VoxelKey::of(&Point3::new(f32::NAN, 0.0, 0.0), 0.02).is_none());
        assert!(VoxelKey::of(&Point3::new(1e12, 0.0, 0.0), 0.02).is_none());
    }

    #[test]
    fn downsample_averages_per_cell_in_first_occurrence_order() {
        let pts = [
            Point3::new(0.011, 0.0, 0.0),
            Point3::new(0.5, 0.5, 0.5),
            Point3::new(0.013, 0.0, 0.0),
        ];
        let cols = [[10, 0, 0], [0, 0, 0], [30, 0, 0]];
        let (keys, s) = downsample(&pts, &[], &cols, 0.02);
        assert_eq!(keys.len(), 2);
        assert!((s[0].point.x - 0.012).abs() < 1e-6);
        assert_eq!(s[0].color.unwrap()[0], 20.0);
        assert_eq!(s[0].normal, Vector3::zeros());
    }

    #[test]
    fn grid_respects_cap_by_coarsening() {
        let mut g = VoxelGrid::new(0.01, 100, 16);
        for i in 0..1000 {
            let p = Point3::new(
                (i % 40) as f32 * 0.01 + 0.005,
                (i / 40) as f32 * 0.01 + 0.005,
                0.0,
            );
            let s = Sample {
                point: p,
                normal: Vector3::z(),
                color: Some([100.0, 50.0, 0.0]),
            };
            g.insert_point(&s, 1);
        }
        assert_eq!(g.len(), 1000);
        assert!(g.enforce_cap());
        assert!(g.len() <= 100, "{}", g.len());
        assert_eq!(g.level(), 2);
        assert!(g.colors().iter().all(|c| *c == [100, 50, 0]));
        assert!(g.normals().iter().all(|n| (n - Vector3::z()).norm() < 1e-5));
    }
}
