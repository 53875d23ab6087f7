//! Dominant planes (floor, walls, table tops, counters) on the grid; which of them
//! are room structure is decided afterwards (see `classify`).
//!
//! Detection is a seeded one-point RANSAC: each hypothesis is the tangent plane of
//! a random cell (its vertex and smoothed normal), scored on a regular subsample
//! (about `plane_sample_points` cells) of the unassigned cells; the best one is
//! refined by least squares (PCA of its inliers) twice on the subsample, then its
//! inliers are gathered from all unassigned cells (and the final plane is fitted
//! to the cells kept). A cell is an inlier when its distance to the plane
//! is at most `plane_inlier_distance + plane_inlier_rel * z` and its normal (where
//! it has one) lies within `plane_normal_angle_deg` of the plane's. Detection stops
//! when the best remaining plane, estimated from the subsample, falls below half of
//! the size thresholds below.
//! Inlier pieces smaller than `min_segment_points` cells (4-connected) are given
//! back. A plane is kept when it has at least `min_plane_points` cells and either
//! covers `min_plane_share` of the valid cells or `min_plane_area_m2` square metres.
//!
//! Planes are in the camera frame: `normal · p + offset = 0`, the unit normal points
//! towards the camera, so `offset` is the camera's distance to the plane (metres).
//! Results are deterministic for a given `seed` and sorted by cell count
//! (descending), ties by detection order. After detection, planes grow over
//! neighbouring cells within their inlier distance whatever their normals
//! (`extend_planes`): every plane by one ring, then (once classified) object
//! surfaces over all such connected cells whose normals lie within 53° of the
//! plane's.

use nalgebra::{Matrix3, Point3, SymmetricEigen, Vector3};

use super::SegmentConfig;
use super::maps::GridMaps;
use crate::frame::CameraIntrinsics;
use crate::rng::Rng;

/// What a detected plane is taken to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PlaneKind {
    /// Room structure: floor, wall, ceiling. Its cells carry the plane's label.
    Structure,
    /// A large flat surface of an object (table top, sofa front, wardrobe door).
    /// Its cells go to the object segments unless
    /// [`super::SegmentConfig::surfaces_as_structure`] is set.
    Surface,
}

/// A detected plane, in the camera frame.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaneSegment {
    /// `STRUCTURE_BASE + i` for plane `i` of [`super::Segmentation::planes`]: the
    /// label of its cells in [`super::Segmentation::labels`] when they are
    /// labelled as structure.
    pub label: u32,
    /// Structure or object surface.
    pub kind: PlaneKind,
    /// Unit normal, camera frame, pointing towards the camera.
    pub normal: Vector3<f32>,
    /// Plane offset `d` in `normal · p + d = 0` (metres; the camera's distance).
    pub offset: f32,
    /// Number of grid cells on the plane.
    pub pixel_count: usize,
    /// Approximate visible area, square metres (sum of the cells' footprints).
    pub area_m2: f32,
    /// Mean of the plane's cell vertices, camera frame, metres.
    pub centroid: Point3<f32>,
}

/// A plane with its cells (grid indices, ascending).
pub(crate) struct DetectedPlane {
    pub plane: PlaneSegment,
    pub cells: Vec<usize>,
}

/// Least-squares plane through the given points: unit normal towards the camera,
/// offset and centroid. `None` for fewer than 3 points or a degenerate set.
fn fit_plane<'a>(
    points: impl Iterator<Item = &'a Vector3<f32>> + Clone,
) -> Option<(Vector3<f32>, f32, Vector3<f32>)> {
    let mut mean = Vector3::<f64>::zeros();
    let mut count = 0usize;
    for p in points.clone() {
        mean += p.cast::<f64>();
        count += 1;
    }
    if count < 3 {
        return None;
    }
    mean /= count as f64;
    let mut cov = Matrix3::<f64>::zeros();
    for p in points {
        let d = p.cast::<f64>() - mean;
        cov += d * d.transpose();
    }
    let eig = SymmetricEigen::new(cov);
    let k = eig.eigenvalues.imin();
    let mut n = eig.eigenvectors.column(k).into_owned();
    let len = n.norm();
    if len.is_nan() || len <= 1e-9 || !n.iter().all(|x| x.is_finite()) {
        return None;
    }
    n /= len;
    if n.dot(&mean) > 0.0 {
        n = -n;
    }
    let n32: Vector3<f32> = n.cast();
    let c32: Vector3<f32> = mean.cast();
    Some((n32, -n32.dot(&c32), c32))
}

/// A cell of the scoring subsample, with its inlier distance precomputed.
struct Sample {
    p: Vector3<f32>,
    n: Vector3<f32>,
    tol: f32,
}

impl Sample {
    #[inline]
    fn inlier(&self, n: &Vector3<f32>, d: f32, cos: f32) -> bool {
        (n.dot(&self.p) + d).abs() <= self.tol && self.n.dot(n) >= cos
    }
}

/// Inlier test of cell `i` against plane `(n, d)`.
#[inline]
fn is_inlier(
    maps: &GridMaps,
    i: usize,
    n: &Vector3<f32>,
    d: f32,
    cfg: &SegmentConfig,
    cos: f32,
) -> bool {
    let z = maps.depth[i];
    if z <= 0.0 {
        return false;
    }
    let dist = (n.dot(&maps.points[i]) + d).abs();
    if dist > cfg.plane_inlier_distance + cfg.plane_inlier_rel * z {
        return false;
    }
    let ni = &maps.normals[i];
    !maps.has_normal(i) || ni.dot(n) >= cos
}

/// 4-connected pieces of `mask` with at least `min_size` cells, as one ascending
/// list of cell indices.
fn large_pieces(maps: &GridMaps, mask: &[bool], min_size: usize) -> Vec<usize> {
    let (w, h) = (maps.width, maps.height);
    let mut seen = vec![false; mask.len()];
    let mut keep = vec![false; mask.len()];
    let mut stack = Vec::new();
    let mut piece = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        piece.clear();
        while let Some(i) = stack.pop() {
            piece.push(i);
            let (x, y) = (i % w, i / w);
            let mut visit = |j: usize| {
                if mask[j] && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            };
            if x > 0 {
                visit(i - 1);
            }
            if x + 1 < w {
                visit(i + 1);
            }
            if y > 0 {
                visit(i - w);
            }
            if y + 1 < h {
                visit(i + w);
            }
        }
        if piece.len() >= min_size {
            piece.iter().for_each(|&i| keep[i] = true);
        }
    }
    (0..mask.len()).filter(|&i| keep[i]).collect()
}

/// Approximate metric area (m²) of one grid cell at `p` on a plane with normal `n`.
#[inline]
fn footprint(p: &Vector3<f32>, n: &Vector3<f32>, step: u32, k: &CameraIntrinsics) -> f32 {
    let s = step as f32;
    let cos = (n.dot(p) / p.norm().max(1e-6)).abs().max(0.1);
    p.z * p.z * s * s / (k.fx * k.fy * cos)
}

/// Approximate metric area (m²) of the cells on a plane with normal `n`.
fn cells_area(maps: &GridMaps, cells: &[usize], n: &Vector3<f32>, k: &CameraIntrinsics) -> f32 {
    cells
        .iter()
        .map(|&i| footprint(&maps.points[i], n, maps.step, k))
        .sum()
}

/// Detects the dominant planes among the valid cells. Returns them sorted by cell
/// count (descending) and labelled `structure_base + i`.
pub(crate) fn detect_planes(
    maps: &GridMaps,
    k: &CameraIntrinsics,
    cfg: &SegmentConfig,
    structure_base: u32,
) -> Vec<DetectedPlane> {
    let n_cells = maps.depth.len();
    let cos = cfg.plane_normal_angle_deg.to_radians().cos();
    let mut free: Vec<bool> = (0..n_cells).map(|i| maps.valid(i)).collect();
    let mut tried = vec![false; n_cells];
    let mut rng = Rng::derive(cfg.seed, 0x504C_414E);
    let mut found: Vec<DetectedPlane> = Vec::new();
    let mut mask = vec![false; n_cells];
    let attempts = cfg.max_planes + 2;
    for _ in 0..attempts {
        if found.len() >= cfg.max_planes {
            break;
        }
        let candidates: Vec<usize> = (0..n_cells)
            .filter(|&i| free[i] && !tried[i] && maps.has_normal(i))
            .collect();
        if candidates.len() < cfg.min_plane_points.max(3) {
            break;
        }
        let stride = (candidates.len() / cfg.plane_sample_points.max(1)).max(1);
        let sample: Vec<Sample> = candidates
            .iter()
            .step_by(stride)
            .map(|&i| Sample {
                p: maps.points[i],
                n: maps.normals[i],
                tol: cfg.plane_inlier_distance + cfg.plane_inlier_rel * maps.depth[i],
            })
            .collect();
        let mut best: Option<(usize, Vector3<f32>, f32)> = None;
        for _ in 0..cfg.plane_hypotheses {
            let Some(&seed) = candidates.get(rng.below(candidates.len())) else {
                continue;
            };
            let n = maps.normals[seed];
            let d = -n.dot(&maps.points[seed]);
            let score = sample.iter().filter(|s| s.inlier(&n, d, cos)).count();
            if best.is_none_or(|(s, _, _)| score > s) {
                best = Some((score, n, d));
            }
        }
        let Some((score, mut n, mut d)) = best else {
            break;
        };
        // Refine on the subsample, then estimate the plane's size from it: when even
        // the best plane left is clearly too small, no further plane will pass.
        for _ in 0..2 {
            let pts = sample.iter().filter(|s| s.inlier(&n, d, cos)).map(|s| &s.p);
            match fit_plane(pts) {
                Some((n2, d2, _)) => (n, d) = (n2, d2),
                None => break,
            }
        }
        let scale = candidates.len() as f32 / sample.len().max(1) as f32;
        let est_count = score as f32 * scale;
        let est_area: f32 = sample
            .iter()
            .filter(|s| s.inlier(&n, d, cos))
            .map(|s| footprint(&s.p, &n, maps.step, k))
            .sum::<f32>()
            * scale;
        let est_share = est_count / maps.valid_count.max(1) as f32;
        if est_count < 0.5 * cfg.min_plane_points as f32
            || (est_share < 0.5 * cfg.min_plane_share && est_area < 0.5 * cfg.min_plane_area_m2)
        {
            break;
        }
        let inliers: Vec<usize> = (0..n_cells)
            .filter(|&i| free[i] && is_inlier(maps, i, &n, d, cfg, cos))
            .collect();
        mask.iter_mut().for_each(|m| *m = false);
        for &i in &inliers {
            mask[i] = true;
        }
        let cells = large_pieces(maps, &mask, cfg.min_segment_points.max(1));
        let area = cells_area(maps, &cells, &n, k);
        let share = cells.len() as f32 / maps.valid_count.max(1) as f32;
        let big = share >= cfg.min_plane_share || area >= cfg.min_plane_area_m2;
        let fit = fit_plane(cells.iter().map(|&i| &maps.points[i]));
        match fit {
            Some((n2, d2, c)) if cells.len() >= cfg.min_plane_points && big => {
                log::trace!(
                    "segment: plane n=({:.2},{:.2},{:.2}) d={:.2} cells={} area={:.2}",
                    n2.x,
                    n2.y,
                    n2.z,
                    d2,
                    cells.len(),
                    area
                );
                for &i in &cells {
                    free[i] = false;
                }
                found.push(DetectedPlane {
                    plane: PlaneSegment {
                        label: 0,
                        kind: PlaneKind::Structure,
                        normal: n2,
                        offset: d2,
                        pixel_count: cells.len(),
                        area_m2: area,
                        centroid: Point3::from(c),
                    },
                    cells,
                });
            }
            _ => {
                // Not a large plane: do not seed from these cells again.
                for &i in &inliers {
                    tried[i] = true;
                }
            }
        }
    }
    // Stable sort keeps detection order for equal counts.
    found.sort_by_key(|p| std::cmp::Reverse(p.plane.pixel_count));
    for (i, p) in found.iter_mut().enumerate() {
        p.plane.label = structure_base.saturating_add(i as u32);
    }
    found
}

/// Grows every plane by `rings(plane)` rings of 4-connected valid cells that lie
/// within its inlier distance and whose normal (where they have one) has a cosine
/// of at least `min_cos` with the plane's (-1: any; the fringe where smoothed
/// normals bend towards a crease), so that the fringe neither joins the objects
/// standing on the plane nor links them to it; `usize::MAX` grows over every
/// connected such cell. Cells already on a plane stay where they are; planes grow
/// in order. Cell counts and areas are updated, the fitted plane parameters are
/// not; the planes are sorted again by cell count (descending, stable) and
/// labelled `structure_base + i`.
pub(crate) fn extend_planes(
    maps: &GridMaps,
    planes: &mut [DetectedPlane],
    k: &CameraIntrinsics,
    cfg: &SegmentConfig,
    structure_base: u32,
    rings: &dyn Fn(&PlaneSegment) -> usize,
    min_cos: f32,
) {
    let (w, h) = (maps.width, maps.height);
    let mut taken = vec![false; maps.depth.len()];
    for p in planes.iter() {
        p.cells.iter().for_each(|&i| taken[i] = true);
    }
    for p in planes.iter_mut() {
        let (n, d) = (p.plane.normal, p.plane.offset);
        let near = |i: usize| {
            let z = maps.depth[i];
            z > 0.0
                && (n.dot(&maps.points[i]) + d).abs()
                    <= cfg.plane_inlier_distance + cfg.plane_inlier_rel * z
                && (!maps.has_normal(i) || maps.normals[i].dot(&n) >= min_cos)
        };
        let before = p.cells.len();
        let mut ring: Vec<usize> = p.cells.clone();
        for _ in 0..rings(&p.plane) {
            if ring.is_empty() {
                break;
            }
            let mut next = Vec::new();
            for &i in &ring {
                let (x, y) = (i % w, i / w);
                let neighbours = [
                    (x > 0).then(|| i - 1),
                    (x + 1 < w).then(|| i + 1),
                    (y > 0).then(|| i - w),
                    (y + 1 < h).then(|| i + w),
                ];
                for j in neighbours.into_iter().flatten() {
                    if !taken[j] && near(j) {
                        taken[j] = true;
                        next.push(j);
                    }
                }
            }
            p.cells.extend_from_slice(&next);
            ring = next;
        }
        if p.cells.len() > before {
            p.cells.sort_unstable();
            p.plane.pixel_count = p.cells.len();
            p.plane.area_m2 = cells_area(maps, &p.cells, &n, k);
        }
    }
    planes.sort_by_key(|p| std::cmp::Reverse(p.plane.pixel_count));
    for (i, p) in planes.iter_mut().enumerate() {
        p.plane.label = structure_base.saturating_add(i as u32);
    }
}
