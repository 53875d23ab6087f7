//! The space a scene's reference data saw empty: a voxel grid in which a cell is
//! set when depth rays of the reference frames passed through it (and hardly any
//! ended in it). Change detection needs it to tell a new object from a part of
//! the room the reference never saw: something now standing where the reference
//! looked through empty space is new; something where the reference never looked
//! (behind a cupboard, through a door, under a table) is unknown, not a change.
//!
//! Built offline from posed depth frames ([`SeenSpaceBuilder`]): every sampled
//! pixel's ray is walked cell by cell (Amanatides–Woo) from the camera to a margin
//! short of the measured surface; the cells passed count as seen free, the cell
//! of the surface point as hit.

use std::collections::HashMap;

use nalgebra::{Point3, Vector3};

use super::build::BuildError;
use crate::frame::{Pose, RgbdFrame};

/// Most cells a grid may have (one bit each: 16 MiB).
pub const MAX_CELLS: u64 = 1 << 27;

/// Cells per block edge in the builder (blocks of 8 × 8 × 8 cells).
const BLOCK_SHIFT: i32 = 3;
const BLOCK_EDGE: i32 = 1 << BLOCK_SHIFT;
const BLOCK_CELLS: usize = (BLOCK_EDGE * BLOCK_EDGE * BLOCK_EDGE) as usize;

/// A dense bit grid of the cells seen empty, map frame.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenSpace {
    origin: Point3<f32>,
    cell_m: f32,
    dims: [u32; 3],
    bits: Vec<u8>,
}

impl SeenSpace {
    /// A grid from its parts: the corner of cell (0, 0, 0), the cell edge in
    /// metres, the cell counts along x, y, z and the bits (cell `(i, j, k)` is bit
    /// `i + dims[0] · (j + dims[1] · k)`, least significant bit first). Fails
    /// unless every value is finite, the cell positive, the grid at most
    /// [`MAX_CELLS`] cells and `bits` exactly long enough.
    pub fn from_parts(
        origin: Point3<f32>,
        cell_m: f32,
        dims: [u32; 3],
        bits: Vec<u8>,
    ) -> Result<SeenSpace, String> {
        if !origin.coords.iter().all(|v| v.is_finite()) {
            return Err("seen-space origin is not finite".into());
        }
        if !(cell_m.is_finite() && cell_m > 0.0) {
            return Err(format!("seen-space cell must be positive, got {cell_m}"));
        }
        let cells = dims.iter().map(|&d| u64::from(d)).product::<u64>();
        if cells > MAX_CELLS {
            return Err(format!(
                "seen-space grid of {dims:?} cells is larger than {MAX_CELLS}"
            ));
        }
        let need = cells.div_ceil(8);
        if bits.len() as u64 != need {
            return Err(format!(
                "seen-space grid of {dims:?} cells needs {need} bytes, got {}",
                bits.len()
            ));
        }
        Ok(SeenSpace {
            origin,
            cell_m,
            dims,
            bits,
        })
    }

    /// The corner of cell (0, 0, 0), map frame.
    pub fn origin(&self) -> Point3<f32> {
        self.origin
    }

    /// Cell edge, metres.
    pub fn cell_m(&self) -> f32 {
        self.cell_m
    }

    /// Cells along x, y and z.
    pub fn dims(&self) -> [u32; 3] {
        self.dims
    }

    /// The packed bits (see [`SeenSpace::from_parts`]).
    pub fn bits(&self) -> &[u8] {
        &self.bits
    }

    /// Number of cells seen empty.
    pub fn empty_cells(&self) -> u64 {
        self.bits.iter().map(|b| u64::from(b.count_ones())).sum()
    }

    fn index(&self, p: &Point3<f32>) -> Option<u64> {
        let mut idx = [0u64; 3];
        for (k, slot) in idx.iter_mut().enumerate() {
            let c = ((p[k] - self.origin[k]) / self.cell_m).floor();
            let d = self.dims[k];
            if !(c >= 0.0 && c < d as f32) {
                return None;
            }
            *slot = (c as u64).min(u64::from(d) - 1);
        }
        let [dx, dy, _] = self.dims.map(u64::from);
        Some(idx[0] + dx * (idx[1] + dy * idx[2]))
    }

    /// Whether the reference saw the place of `p` empty.
    pub fn seen_empty(&self, p: &Point3<f32>) -> bool {
        self.index(p).is_some_and(|i| {
            let byte = self.bits.get((i / 8) as usize).copied().unwrap_or(0);
            byte >> (i % 8) & 1 == 1
        })
    }

    /// Share of `points` whose place the reference saw empty (0 for none).
    pub fn share_seen_empty(&self, points: &[Point3<f32>]) -> f32 {
        if points.is_empty() {
            return 0.0;
        }
        let n = points.iter().filter(|p| self.seen_empty(p)).count();
        n as f32 / points.len() as f32
    }
}

/// Per-cell counts: rays passed through, rays ended in.
type Counts = [u16; 2];

/// Accumulates the rays of posed depth frames into a [`SeenSpace`].
#[derive(Debug, Clone)]
pub struct SeenSpaceBuilder {
    cell_m: f32,
    pixel_step: u32,
    blocks: Vec<[Counts; BLOCK_CELLS]>,
    block_of: HashMap<[i32; 3], usize>,
    /// The block last looked up (a ray stays in one block for several cells).
    last_block: Option<([i32; 3], usize)>,
}

impl SeenSpaceBuilder {
    /// Rays needed through a cell before it counts as seen empty.
    pub const MIN_FREE: u16 = 2;
    /// A cell seen empty has at most one ray ending in it per this many passing.
    pub const FREE_PER_HIT: u16 = 4;

    /// An empty builder with cells of `cell_m` metres, reading every
    /// `pixel_step`-th pixel row and column of each frame.
    pub fn new(cell_m: f32, pixel_step: u32) -> Result<SeenSpaceBuilder, BuildError> {
        if !(cell_m.is_finite() && cell_m >= 0.005) {
            return Err(BuildError::Config(format!(
                "seen-space cell must be at least 5 mm, got {cell_m}"
            )));
        }
        Ok(SeenSpaceBuilder {
            cell_m,
            pixel_step: pixel_step.max(1),
            blocks: Vec::new(),
            block_of: HashMap::new(),
            last_block: None,
        })
    }

    /// The margin kept short of a surface at range `r` metres: the depth noise
    /// there, and at least one cell.
    fn margin(&self, r: f32) -> f32 {
        (0.05 + 0.01 * r).max(self.cell_m)
    }

    fn counts(&mut self, cell: [i32; 3]) -> &mut Counts {
        let key = cell.map(|c| c >> BLOCK_SHIFT);
        let b = match self.last_block {
            Some((k, b)) if k == key => b,
            _ => {
                let next = self.blocks.len();
                let b = *self.block_of.entry(key).or_insert(next);
                if b == next {
                    self.blocks.push([[0; 2]; BLOCK_CELLS]);
                }
                self.last_block = Some((key, b));
                b
            }
        };
        let l = cell.map(|c| (c & (BLOCK_EDGE - 1)) as usize);
        let e = BLOCK_EDGE as usize;
        &mut self.blocks[b][l[0] + e * (l[1] + e * l[2])]
    }

    fn cell_of(&self, p: &Point3<f32>) -> Option<[i32; 3]> {
        let mut c = [0i32; 3];
        for (k, slot) in c.iter_mut().enumerate() {
            let v = (p[k] / self.cell_m).floor();
            // Far beyond any room: not a cell this grid can hold.
            if v.is_nan() || v.abs() >= 1.0e6 {
                return None;
            }
            *slot = v as i32;
        }
        Some(c)
    }

    /// Walks the cells from `from` to `to` (both map frame), counting each as
    /// passed, and the cell of `hit` as hit.
    fn ray(&mut self, from: &Point3<f32>, to: &Point3<f32>, hit: &Point3<f32>) {
        let (Some(mut cell), Some(last), Some(hit_cell)) =
            (self.cell_of(from), self.cell_of(to), self.cell_of(hit))
        else {
            return;
        };
        let a: Vector3<f32> = from.coords / self.cell_m;
        let d: Vector3<f32> = (to - from) / self.cell_m;
        let mut t_max = [f32::INFINITY; 3];
        let mut t_delta = [f32::INFINITY; 3];
        let mut step = [0i32; 3];
        for k in 0..3 {
            if d[k] > 0.0 {
                step[k] = 1;
                t_delta[k] = 1.0 / d[k];
                t_max[k] = (a[k].floor() + 1.0 - a[k]) / d[k];
            } else if d[k] < 0.0 {
                step[k] = -1;
                t_delta[k] = -1.0 / d[k];
                t_max[k] = (a[k] - a[k].floor()) / -d[k];
            }
        }
        // One visit per cell boundary crossed, and a few to spare for rounding.
        let budget =
            (last[0] - cell[0]).abs() + (last[1] - cell[1]).abs() + (last[2] - cell[2]).abs();
        for _ in 0..=budget + 3 {
            let c = self.counts(cell);
            c[0] = c[0].saturating_add(1);
            if cell == last {
                break;
            }
            let k = if t_max[0] <= t_max[1] && t_max[0] <= t_max[2] {
                0
            } else if t_max[1] <= t_max[2] {
                1
            } else {
                2
            };
            if t_max[k] > 1.0 {
                break;
            }
            cell[k] += step[k];
            t_max[k] += t_delta[k];
        }
        let c = self.counts(hit_cell);
        c[1] = c[1].saturating_add(1);
    }

    /// Adds the rays of `frame`'s valid depth pixels, the camera at
    /// `T_map_camera`.
    pub fn add_frame(&mut self, frame: &RgbdFrame, T_map_camera: &Pose) {
        let origin = T_map_camera * Point3::origin();
        let step = self.pixel_step as usize;
        for v in (0..frame.depth.height).step_by(step) {
            for u in (0..frame.depth.width).step_by(step) {
                let Some(z) = frame.depth.metres_at(u, v) else {
                    continue;
                };
                let p_cam = frame.intrinsics.unproject(u as f32, v as f32, z);
                let r = p_cam.coords.norm();
                let keep = r - self.margin(r);
                if keep.is_nan() || keep <= 0.0 {
                    continue;
                }
                let hit = T_map_camera * p_cam;
                let end = T_map_camera * Point3::from(p_cam.coords * (keep / r));
                self.ray(&origin, &end, &hit);
            }
        }
    }

    /// The grid of the cells seen empty (at least [`Self::MIN_FREE`] rays
    /// through, and at most one ending in it per [`Self::FREE_PER_HIT`] passing),
    /// over their bounding box; `None` when no cell was seen empty or the box is
    /// larger than [`MAX_CELLS`] (logged).
    pub fn finish(self) -> Option<SeenSpace> {
        let e = BLOCK_EDGE as usize;
        let mut empty: Vec<[i32; 3]> = Vec::new();
        for (key, &b) in &self.block_of {
            let Some(block) = self.blocks.get(b) else {
                continue;
            };
            for (i, c) in block.iter().enumerate() {
                let free_enough = c[0] >= Self::MIN_FREE;
                let few_hits = u32::from(c[1]) * u32::from(Self::FREE_PER_HIT) <= u32::from(c[0]);
                if free_enough && few_hits {
                    let l = [i % e, (i / e) % e, i / (e * e)];
                    empty.push([0, 1, 2].map(|k| (key[k] << BLOCK_SHIFT) + l[k] as i32));
                }
            }
        }
        if empty.is_empty() {
            return None;
        }
        let lo = [0, 1, 2].map(|k| empty.iter().map(|c| c[k]).min().unwrap_or(0));
        let hi = [0, 1, 2].map(|k| empty.iter().map(|c| c[k]).max().unwrap_or(0));
        let dims = [0, 1, 2].map(|k| (hi[k] - lo[k] + 1) as u32);
        let cells = dims.iter().map(|&d| u64::from(d)).product::<u64>();
        if cells > MAX_CELLS {
            log::warn!(
                "seen space of {dims:?} cells of {} m is larger than {MAX_CELLS} cells: left out",
                self.cell_m
            );
            return None;
        }
        let mut bits = vec![0u8; cells.div_ceil(8) as usize];
        let [dx, dy, _] = dims.map(u64::from);
        for c in &empty {
            let i = [0, 1, 2].map(|k| (c[k] - lo[k]) as u64);
            let idx = i[0] + dx * (i[1] + dy * i[2]);
            if let Some(b) = bits.get_mut((idx / 8) as usize) {
                *b |= 1 << (idx % 8);
            }
        }
        let origin = Point3::from(Vector3::from(lo.map(|c| c as f32 * self.cell_m)));
        SeenSpace::from_parts(origin, self.cell_m, dims, bits).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{CameraIntrinsics, DepthImage, RgbImage};

    fn wall_frame(depth_m: f32) -> RgbdFrame {
        let (w, h) = (64u32, 48u32);
        RgbdFrame {
            index: 0,
            timestamp: 0.0,
            intrinsics: CameraIntrinsics {
                fx: 50.0,
                fy: 50.0,
                cx: 31.5,
                cy: 23.5,
                width: w,
                height: h,
            },
            color: RgbImage::new(w, h),
            depth: DepthImage::from_metres(w, h, vec![depth_m; (w * h) as usize]),
            T_session_camera: None,
        }
    }

    #[test]
    fn space_in_front_of_a_wall_is_seen_empty_and_behind_it_is_not() {
        let mut b = SeenSpaceBuilder::new(0.05, 2).unwrap();
        // Two frames from one place: every cell on the way was passed twice.
        let f = wall_frame(3.0);
        b.add_frame(&f, &Pose::identity());
        b.add_frame(&f, &Pose::identity());
        let s = b.finish().expect("cells seen empty");
        // The camera looks along +z at a wall 3 m away.
        for z in [0.3f32, 1.0, 2.0, 2.8] {
            assert!(s.seen_empty(&Point3::new(0.0, 0.0, z)), "z {z}");
        }
        // The wall itself, behind it, and beside the field of view are not.
        for p in [
            Point3::new(0.0, 0.0, 3.0),
            Point3::new(0.0, 0.0, 3.5),
            Point3::new(5.0, 0.0, 1.0),
            Point3::new(0.0, 0.0, -0.5),
        ] {
            assert!(!s.seen_empty(&p), "{p:?}");
        }
        let inside = [Point3::new(0.1, 0.0, 1.5), Point3::new(0.0, 0.0, 4.0)];
        assert!((s.share_seen_empty(&inside) - 0.5).abs() < 1e-6);
        assert_eq!(s.share_seen_empty(&[]), 0.0);
    }

    #[test]
    fn a_moved_camera_and_a_rotated_pose_walk_the_right_cells() {
        let mut b = SeenSpaceBuilder::new(0.05, 2).unwrap();
        // Camera at (2, 1, 0.5) looking along -x (its +z is the map's -x).
        let R = nalgebra::UnitQuaternion::from_euler_angles(0.0, -std::f32::consts::FRAC_PI_2, 0.0);
        let T = Pose::from_parts(nalgebra::Translation3::new(2.0, 1.0, 0.5), R);
        b.add_frame(&wall_frame(2.0), &T);
        b.add_frame(&wall_frame(2.0), &T);
        let s = b.finish().unwrap();
        assert!(s.seen_empty(&Point3::new(1.0, 1.0, 0.5)));
        assert!(s.seen_empty(&Point3::new(0.3, 1.0, 0.5)));
        assert!(!s.seen_empty(&Point3::new(-0.2, 1.0, 0.5)));
        assert!(!s.seen_empty(&Point3::new(3.0, 1.0, 0.5)));
    }

    #[test]
    fn a_surface_seen_from_behind_the_free_space_stays_not_empty() {
        // Two views from one place: one sees a wall at 2 m; the other sees
        // through to 4 m. The cells where the first ends have hits and one ray
        // passed: not empty. A single ray through a cell is not enough either.
        let mut b = SeenSpaceBuilder::new(0.05, 4).unwrap();
        b.add_frame(&wall_frame(2.0), &Pose::identity());
        b.add_frame(&wall_frame(4.0), &Pose::identity());
        let s = b.finish().unwrap();
        assert!(!s.seen_empty(&Point3::new(0.0, 0.0, 2.01)));
        // Before the first wall's margin both rays passed: empty.
        assert!(s.seen_empty(&Point3::new(0.0, 0.0, 1.5)));
        // Between the walls only one ray passed: not enough.
        assert!(!s.seen_empty(&Point3::new(0.0, 0.0, 3.0)));
    }

    #[test]
    fn bad_settings_and_parts_are_refused() {
        assert!(SeenSpaceBuilder::new(0.0, 2).is_err());
        assert!(SeenSpaceBuilder::new(f32::NAN, 2).is_err());
        let o = Point3::origin();
        assert!(SeenSpace::from_parts(o, 0.05, [2, 2, 2], vec![0]).is_ok());
        assert!(SeenSpace::from_parts(o, 0.05, [2, 2, 2], vec![0, 0]).is_err());
        assert!(SeenSpace::from_parts(o, -1.0, [2, 2, 2], vec![0]).is_err());
        assert!(
            SeenSpace::from_parts(Point3::new(f32::NAN, 0.0, 0.0), 0.05, [1, 1, 1], vec![0])
                .is_err()
        );
        assert!(SeenSpace::from_parts(o, 0.05, [1 << 20, 1 << 20, 1], vec![]).is_err());
        // No frame, nothing seen.
        assert!(SeenSpaceBuilder::new(0.05, 2).unwrap().finish().is_none());
    }
}
