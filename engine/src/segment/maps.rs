//! Vertex and normal maps on the subsampled grid.
//!
//! Grid cell `(gx, gy)` covers the pixel block `[gx * step, (gx + 1) * step) x
//! [gy * step, (gy + 1) * step)` and stands for its centre pixel
//! `(gx * step + step / 2, gy * step + step / 2)` (clamped to the image); the grid
//! is `ceil(width / step) x ceil(height / step)` cells. The cell's depth is the
//! centre pixel's depth or, with `average_depth`, the mean of the block's valid
//! depths within `depth_jump_abs + depth_jump_rel * z_ref` of the reference depth
//! `z_ref`: the centre pixel's or, where the centre has none, the block's first
//! valid depth in raster order. Depths outside `[min_depth, max_depth]` are
//! invalid. Vertices are in the camera frame (x right,
//! y down, z forward), metres, back-projected at the centre pixel with the frame's
//! intrinsics.
//!
//! Normals are unit vectors oriented towards the camera (`n · p < 0`). A normal is
//! computed from the cross product of a horizontal and a vertical tangent taken
//! between depth-continuous grid neighbours (central difference where both sides
//! are continuous, one-sided otherwise). A cell with a tangent along one axis only
//! (a one-cell-wide leg or pole) gets the direction to the camera made
//! perpendicular to that tangent. Normals are then smoothed by `normal_smoothing`
//! separable 3x3 averaging passes that only cross depth-continuous links. A cell
//! has no normal (zero vector) when its depth is invalid or when it has no
//! continuous neighbour at all.

use nalgebra::Vector3;

use super::SegmentConfig;
use crate::frame::{DepthData, RgbdFrame};

/// The vertex and normal maps of one frame on the subsampled grid.
#[derive(Debug, Clone)]
pub(crate) struct GridMaps {
    /// Grid width in cells.
    pub width: usize,
    /// Grid height in cells.
    pub height: usize,
    /// Subsampling step in full-resolution pixels.
    pub step: u32,
    /// Full-resolution image width, pixels.
    pub image_width: u32,
    /// Full-resolution image height, pixels.
    pub image_height: u32,
    /// Depth per cell, metres; 0 where invalid or outside the configured range.
    pub depth: Vec<f32>,
    /// Camera-frame vertex per cell (meaningless where `depth` is 0).
    pub points: Vec<Vector3<f32>>,
    /// Unit normal per cell, towards the camera; zero where there is none.
    pub normals: Vec<Vector3<f32>>,
    /// Number of cells with a valid depth.
    pub valid_count: usize,
}

impl GridMaps {
    /// True when cell `i` has a valid depth.
    #[inline]
    pub fn valid(&self, i: usize) -> bool {
        self.depth.get(i).is_some_and(|z| *z > 0.0)
    }

    /// True when cell `i` has a normal.
    #[inline]
    pub fn has_normal(&self, i: usize) -> bool {
        self.normals
            .get(i)
            .is_some_and(|n| n.z != 0.0 || n.x != 0.0 || n.y != 0.0)
    }

    /// Full-resolution pixel that cell `i` stands for (its block's centre).
    #[inline]
    pub fn pixel(&self, i: usize) -> (u32, u32) {
        let gx = (i % self.width.max(1)) as u32;
        let gy = (i / self.width.max(1)) as u32;
        centre_pixel(gx, gy, self.step, self.image_width, self.image_height)
    }
}

/// Largest depth difference (metres) between two grid neighbours at depths `a`
/// and `b` that still counts as the same surface.
#[inline]
pub(crate) fn depth_continuous(a: f32, b: f32, cfg: &SegmentConfig) -> bool {
    (a - b).abs() <= cfg.depth_jump_abs + cfg.depth_jump_rel * a.min(b)
}

/// Centre pixel of the block of cell `(gx, gy)`, clamped to the image.
#[inline]
pub(crate) fn centre_pixel(gx: u32, gy: u32, step: u32, w: u32, h: u32) -> (u32, u32) {
    let half = step / 2;
    (
        (gx * step + half).min(w.saturating_sub(1)),
        (gy * step + half).min(h.saturating_sub(1)),
    )
}

/// A stored depth value that converts exactly to `f32` (in its own units).
trait DepthUnit: Copy {
    fn value(self) -> f32;
}

impl DepthUnit for u16 {
    #[inline]
    fn value(self) -> f32 {
        self as f32
    }
}

impl DepthUnit for f32 {
    #[inline]
    fn value(self) -> f32 {
        self
    }
}

/// Cell depths in metres (0 = invalid) from row-major stored values `data`, whose
/// usable range in their own units is `[lo, hi]` (NaN is never usable) and which
/// are `scale` metres per unit.
#[allow(clippy::too_many_arguments)]
fn cell_depths<T: DepthUnit>(
    data: &[T],
    lo: f32,
    hi: f32,
    scale: f32,
    w: u32,
    h: u32,
    gw: usize,
    gh: usize,
    cfg: &SegmentConfig,
) -> Vec<f32> {
    let step = cfg.step.max(1);
    let usable = |x: f32| x >= lo && x <= hi;
    let (w_us, step_us) = (w as usize, step as usize);
    let abs = cfg.depth_jump_abs / scale;
    let mut out = vec![0.0f32; gw * gh];
    for gy in 0..gh {
        let v0 = gy * step_us;
        let v1 = (v0 + step_us).min(h as usize);
        for gx in 0..gw {
            let (uc, vc) = centre_pixel(gx as u32, gy as u32, step, w, h);
            let centre = data
                .get(vc as usize * w_us + uc as usize)
                .map(|d| d.value())
                .filter(|&x| usable(x));
            if !cfg.average_depth {
                out[gy * gw + gx] = centre.map_or(0.0, |x| x * scale);
                continue;
            }
            let u0 = gx * step_us;
            let u1 = (u0 + step_us).min(w_us);
            let rows = || (v0..v1).filter_map(|v| data.get(v * w_us + u0..v * w_us + u1));
            // The centre's depth, else the block's first usable one.
            let reference = centre.or_else(|| {
                rows()
                    .flat_map(|r| r.iter())
                    .map(|d| d.value())
                    .find(|&x| usable(x))
            });
            let Some(r) = reference else {
                continue;
            };
            let t = abs + cfg.depth_jump_rel * r;
            let (a, b) = (lo.max(r - t), hi.min(r + t));
            let (mut sum, mut count) = (0.0f32, 0u32);
            for row in rows() {
                for d in row {
                    // Branch-free; NaN fails both comparisons.
                    let x = d.value();
                    let ok = (x >= a) & (x <= b);
                    sum += if ok { x } else { 0.0 };
                    count += ok as u32;
                }
            }
            if count > 0 {
                out[gy * gw + gx] = sum / count as f32 * scale;
            }
        }
    }
    out
}

/// Builds the vertex and normal maps. The caller has checked that the depth image
/// matches the intrinsics and that `cfg.step >= 1`.
pub(crate) fn build_maps(frame: &RgbdFrame, cfg: &SegmentConfig) -> GridMaps {
    let step = cfg.step.max(1);
    let k = &frame.intrinsics;
    let width = k.width.div_ceil(step) as usize;
    let height = k.height.div_ceil(step) as usize;
    let n = width * height;
    let (w, h) = (k.width, k.height);
    let depth = match &frame.depth.data {
        DepthData::Metres(m) => {
            let lo = cfg.min_depth.max(f32::MIN_POSITIVE);
            cell_depths(m, lo, cfg.max_depth, 1.0, w, h, width, height, cfg)
        }
        DepthData::U16 {
            raw,
            units_per_metre,
        } => {
            // Raw 0 and 65535 mean "no reading".
            let upm = *units_per_metre;
            let lo = (cfg.min_depth * upm).max(1.0);
            let hi = (cfg.max_depth * upm).min(65534.0);
            cell_depths(raw, lo, hi, 1.0 / upm, w, h, width, height, cfg)
        }
    };
    let mut points = vec![Vector3::zeros(); n];
    let mut valid_count = 0usize;
    let (inv_fx, inv_fy) = (1.0 / k.fx, 1.0 / k.fy);
    for gy in 0..height {
        for gx in 0..width {
            let i = gy * width + gx;
            let z = depth[i];
            if z <= 0.0 || z.is_nan() {
                continue;
            }
            let (u, v) = centre_pixel(gx as u32, gy as u32, step, w, h);
            points[i] = Vector3::new(
                (u as f32 - k.cx) * z * inv_fx,
                (v as f32 - k.cy) * z * inv_fy,
                z,
            );
            valid_count += 1;
        }
    }
    let links = Links::new(width, height, &depth, cfg);
    let mut normals = raw_normals(width, height, &points, &links);
    for _ in 0..cfg.normal_smoothing {
        normals = smooth_normals(width, height, &points, &normals, &links);
    }
    GridMaps {
        width,
        height,
        step,
        image_width: w,
        image_height: h,
        depth,
        points,
        normals,
        valid_count,
    }
}

/// Depth continuity of each cell with its right and lower neighbour (both valid
/// and [`depth_continuous`]).
struct Links {
    right: Vec<bool>,
    down: Vec<bool>,
}

impl Links {
    fn new(width: usize, height: usize, depth: &[f32], cfg: &SegmentConfig) -> Links {
        let n = width * height;
        let mut right = vec![false; n];
        let mut down = vec![false; n];
        for y in 0..height {
            for x in 0..width {
                let i = y * width + x;
                let z = depth[i];
                if z <= 0.0 {
                    continue;
                }
                if x + 1 < width {
                    let zr = depth[i + 1];
                    right[i] = zr > 0.0 && depth_continuous(z, zr, cfg);
                }
                if y + 1 < height {
                    let zd = depth[i + width];
                    down[i] = zd > 0.0 && depth_continuous(z, zd, cfg);
                }
            }
        }
        Links { right, down }
    }
}

/// Orients `n` towards the camera seen from `p` and normalises it; zero when
/// degenerate.
#[inline]
fn unit_towards_camera(n: Vector3<f32>, p: &Vector3<f32>) -> Vector3<f32> {
    let len = n.norm();
    if len.is_nan() || len <= 1e-12 {
        return Vector3::zeros();
    }
    let n = n / len;
    if n.dot(p) > 0.0 { -n } else { n }
}

/// Tangent from `prev` to `next` around `i` along one axis (central difference
/// where both links hold, one-sided otherwise), or `None` without any link.
#[inline]
fn tangent(
    points: &[Vector3<f32>],
    i: usize,
    prev: Option<usize>,
    next: Option<usize>,
) -> Option<Vector3<f32>> {
    match (prev, next) {
        (Some(a), Some(b)) => Some(points[b] - points[a]),
        (None, Some(b)) => Some(points[b] - points[i]),
        (Some(a), None) => Some(points[i] - points[a]),
        (None, None) => None,
    }
}

/// Per-cell normals from neighbour cross products (zero where there is none).
fn raw_normals(
    width: usize,
    height: usize,
    points: &[Vector3<f32>],
    links: &Links,
) -> Vec<Vector3<f32>> {
    let mut normals = vec![Vector3::zeros(); width * height];
    for gy in 0..height {
        for gx in 0..width {
            let i = gy * width + gx;
            let left = (gx > 0 && links.right[i - 1]).then(|| i - 1);
            let right = links.right[i].then_some(i + 1);
            let up = (gy > 0 && links.down[i - width]).then(|| i - width);
            let down = links.down[i].then_some(i + width);
            let p = &points[i];
            normals[i] = match (
                tangent(points, i, left, right),
                tangent(points, i, up, down),
            ) {
                (Some(tu), Some(tv)) => unit_towards_camera(tu.cross(&tv), p),
                // A one-cell-wide structure (a leg, a pole): the direction to the
                // camera, made perpendicular to the one tangent there is.
                (Some(t), None) | (None, Some(t)) => {
                    let t = t.normalize();
                    unit_towards_camera(-(p - t * t.dot(p)), p)
                }
                (None, None) => Vector3::zeros(),
            };
        }
    }
    normals
}

/// One 3x3 smoothing pass, separable: a horizontal then a vertical sum, each
/// taking a neighbour only across a depth-continuous link. Cells without a normal
/// keep none.
fn smooth_normals(
    width: usize,
    height: usize,
    points: &[Vector3<f32>],
    normals: &[Vector3<f32>],
    links: &Links,
) -> Vec<Vector3<f32>> {
    let n = width * height;
    let mut hsum = normals.to_vec();
    for y in 0..height {
        for x in 0..width {
            let i = y * width + x;
            if x > 0 && links.right[i - 1] {
                hsum[i] += normals[i - 1];
            }
            if links.right[i] {
                hsum[i] += normals[i + 1];
            }
        }
    }
    let mut out = vec![Vector3::zeros(); n];
    for y in 0..height {
        for x in 0..width {
            let i = y * width + x;
            if normals[i] == Vector3::zeros() {
                continue;
            }
            let mut sum = hsum[i];
            if y > 0 && links.down[i - width] {
                sum += hsum[i - width];
            }
            if links.down[i] {
                sum += hsum[i + width];
            }
            out[i] = unit_towards_camera(sum, &points[i]);
        }
    }
    out
}
