//! Per-frame instance segmentation of RGB-D frames.
//!
//! [`segment_frame`] turns one [`RgbdFrame`] into planes (room structure and large
//! flat object surfaces) and object segments, working on a subsampled grid: grid
//! cell `(gx, gy)` covers the pixel block starting at `(gx * step, gy * step)` and
//! stands for the block's centre pixel `(gx * step + step / 2, gy * step +
//! step / 2)` (clamped to the image), so the grid (and the label image) is
//! `ceil(width / step) x ceil(height / step)` (160x120 for 640x480 at the default
//! `step = 4`).
//!
//! Stages:
//! 1. `maps`: depth per cell (block mean), vertex map (camera frame, metres) and
//!    normal map, invalid where the depth is missing, outside
//!    `[min_depth, max_depth]`, or jumps;
//! 2. `planes`: dominant planes by seeded one-point RANSAC + least squares, then
//!    `classify`: room structure (floor, walls, ceiling) or a flat object surface
//!    (table top, sofa front, wardrobe door), by height above the floor where one
//!    is found (this assumes a roughly upright camera) and otherwise from the
//!    creases and occlusions along the plane's boundary. Structure cells are
//!    labelled with their plane; surface cells go on to the object segments
//!    (unless `surfaces_as_structure`), each surface held together as one piece;
//! 3. `regions`: object regions by union-find, split at depth discontinuities and
//!    at concave normal creases (convex creases such as box edges join), regions
//!    smaller than `min_segment_points` dropped.
//!
//! Guarantees: everything is in the camera frame of the frame (x right, y down,
//! z forward, metres); pixel coordinates in the output are full-resolution;
//! the result is deterministic for a given frame and [`SegmentConfig`] (seeded
//! RANSAC, sorted outputs). A frame whose depth size differs from its intrinsics,
//! whose colour (when not empty) differs in size, or whose raw depth scale is not
//! positive is an error; a frame without valid depth gives an empty
//! [`Segmentation`] (all labels 0), not an error. Nothing here panics on bad input.
//!
//! Cost: about 3–5 ms for a 640x480 frame at `step = 4` on one core (reading every
//! depth pixel for the block means is about a third of it; `average_depth = false`
//! skips that at the price of noisier normals beyond ~3 m).

mod classify;
mod maps;
mod planes;
mod regions;

#[cfg(test)]
mod tests;

use nalgebra::{Point3, Vector3};

use crate::frame::{DepthData, RgbdFrame};

pub use planes::{PlaneKind, PlaneSegment};

/// Labels at or above this value mark structural planes: `STRUCTURE_BASE + i` is
/// plane `i` of [`Segmentation::planes`]. Object segments are `1..`, 0 is "none".
pub const STRUCTURE_BASE: u32 = 0x8000_0000;

/// Largest angle between a cell's normal and an object surface's for the cell
/// to join the surface's fringe (tuned on synthetic rooms).
const SURFACE_FRINGE_MAX_ANGLE_DEG: f32 = 53.0;

/// Parameters of [`segment_frame`]. Cell counts are grid cells (at `step`), not
/// full-resolution pixels; distances are metres, angles degrees.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentConfig {
    /// Grid subsampling step in pixels (default 4: 640x480 → 160x120). Must be ≥ 1.
    pub step: u32,
    /// Nearest depth used (default 0.2 m).
    pub min_depth: f32,
    /// Farthest depth used (default 6.0 m).
    pub max_depth: f32,
    /// Cell depth = mean of the cell's `step x step` block (depth-continuous with
    /// its centre pixel) rather than the centre pixel alone (default true: about
    /// `step` times less depth noise, at the cost of reading every pixel).
    pub average_depth: bool,
    /// Depth discontinuity between grid neighbours: constant part (default 0.03 m).
    pub depth_jump_abs: f32,
    /// Depth discontinuity: part proportional to depth (default 0.03, i.e. 3 % of z).
    pub depth_jump_rel: f32,
    /// Number of 3x3 normal smoothing passes (default 1; 0 = none).
    pub normal_smoothing: u32,
    /// Largest angle between neighbouring normals inside a segment (default 20°).
    pub normal_angle_deg: f32,
    /// Join across convex creases (box edges) up to `max_convex_angle_deg`
    /// (default true); concave creases always split.
    pub convex_merge: bool,
    /// Largest normal change joined across a convex crease (default 100°).
    pub max_convex_angle_deg: f32,
    /// Split where neighbouring colours differ by more than this sum of absolute RGB
    /// differences (default `None`: colour is not used).
    pub color_jump: Option<u32>,
    /// Most planes detected per frame (default 6; 0 disables planes).
    pub max_planes: usize,
    /// RANSAC hypotheses per plane (default 40).
    pub plane_hypotheses: usize,
    /// Cells scoring each hypothesis (a regular subsample; default 1000).
    pub plane_sample_points: usize,
    /// Plane inlier distance, constant part (default 0.015 m).
    pub plane_inlier_distance: f32,
    /// Plane inlier distance, part proportional to depth (default 0.008 m per m).
    pub plane_inlier_rel: f32,
    /// Largest angle between a cell's normal and its plane's (default 25°).
    pub plane_normal_angle_deg: f32,
    /// Fewest cells of a detected plane (default 150).
    pub min_plane_points: usize,
    /// A plane is detected when it covers this share of the valid cells ...
    /// (default 0.10) ...
    pub min_plane_share: f32,
    /// ... or this visible area in square metres (default 0.5 m²).
    pub min_plane_area_m2: f32,
    /// Where a floor is found: planes reaching higher above it than this are
    /// structure (walls, ceiling), lower ones object surfaces (default 2.25 m).
    pub structure_min_height_m: f32,
    /// Where height does not decide, planes at least this large (visible area, m²)
    /// are structure, never an object surface (default 4.0 m²).
    pub structure_min_area_m2: f32,
    /// Label the cells of object-surface planes (table tops, ...) as structure
    /// too, instead of leaving them to the object segments (default false).
    pub surfaces_as_structure: bool,
    /// Fewest cells of an object segment (and of a plane piece; default 40).
    pub min_segment_points: usize,
    /// Seed of the plane RANSAC (default 0x5E6).
    pub seed: u64,
}

impl Default for SegmentConfig {
    fn default() -> Self {
        SegmentConfig {
            step: 4,
            min_depth: 0.2,
            max_depth: 6.0,
            average_depth: true,
            depth_jump_abs: 0.03,
            depth_jump_rel: 0.03,
            normal_smoothing: 1,
            normal_angle_deg: 20.0,
            convex_merge: true,
            max_convex_angle_deg: 100.0,
            color_jump: None,
            max_planes: 6,
            plane_hypotheses: 40,
            plane_sample_points: 1000,
            plane_inlier_distance: 0.015,
            plane_inlier_rel: 0.008,
            plane_normal_angle_deg: 25.0,
            min_plane_points: 150,
            min_plane_share: 0.10,
            min_plane_area_m2: 0.5,
            structure_min_height_m: 2.25,
            structure_min_area_m2: 4.0,
            surfaces_as_structure: false,
            min_segment_points: 40,
            seed: 0x5E6,
        }
    }
}

impl SegmentConfig {
    /// Checks that every parameter is usable (finite, in range).
    pub fn validate(&self) -> Result<(), SegmentError> {
        let bad = |message: &str| Err(SegmentError::InvalidConfig(message.to_string()));
        let finite_nonneg = [
            self.depth_jump_abs,
            self.depth_jump_rel,
            self.normal_angle_deg,
            self.max_convex_angle_deg,
            self.plane_inlier_distance,
            self.plane_inlier_rel,
            self.plane_normal_angle_deg,
            self.min_plane_share,
            self.min_plane_area_m2,
            self.structure_min_area_m2,
            self.structure_min_height_m,
        ];
        if self.step == 0 {
            return bad("step must be at least 1");
        }
        if !(self.min_depth.is_finite() && self.max_depth.is_finite())
            || self.min_depth < 0.0
            || self.min_depth >= self.max_depth
        {
            return bad("depth range must satisfy 0 <= min_depth < max_depth");
        }
        if finite_nonneg.iter().any(|x| !x.is_finite() || *x < 0.0) {
            return bad("thresholds must be finite and non-negative");
        }
        Ok(())
    }
}

/// Why a frame could not be segmented.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SegmentError {
    /// The intrinsics are not finite or describe an empty image.
    #[error("frame {index}: invalid intrinsics")]
    InvalidIntrinsics {
        /// Frame index.
        index: u64,
    },
    /// The depth image (or its data) does not match the intrinsics' size.
    #[error(
        "frame {index}: depth is {found_w}x{found_h} ({values} values), intrinsics say {expected_w}x{expected_h}"
    )]
    DepthSizeMismatch {
        /// Frame index.
        index: u64,
        /// Width from the intrinsics.
        expected_w: u32,
        /// Height from the intrinsics.
        expected_h: u32,
        /// Depth width.
        found_w: u32,
        /// Depth height.
        found_h: u32,
        /// Number of stored depth values.
        values: usize,
    },
    /// A non-empty colour image whose size differs from the depth image.
    #[error("frame {index}: colour is {found_w}x{found_h}, depth is {expected_w}x{expected_h}")]
    ColorSizeMismatch {
        /// Frame index.
        index: u64,
        /// Depth width.
        expected_w: u32,
        /// Depth height.
        expected_h: u32,
        /// Colour width.
        found_w: u32,
        /// Colour height.
        found_h: u32,
    },
    /// Raw depth whose units per metre are not finite and positive.
    #[error("frame {index}: invalid depth scale {units_per_metre} units per metre")]
    InvalidDepthScale {
        /// Frame index.
        index: u64,
        /// The scale found.
        units_per_metre: f32,
    },
    /// A configuration value out of range.
    #[error("invalid segmentation config: {0}")]
    InvalidConfig(String),
}

/// One object segment, in the camera frame. Every per-point vector has one entry
/// per grid cell of the segment, in raster order of the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Label in [`Segmentation::labels`] (1-based; 1 is the largest segment).
    pub label: u32,
    /// Vertices, camera frame, metres.
    pub points: Vec<Point3<f32>>,
    /// Unit normals towards the camera, camera frame.
    pub normals: Vec<Vector3<f32>>,
    /// Colours (black where the frame has no colour image).
    pub colors: Vec<[u8; 3]>,
    /// Full-resolution pixel `(u, v)` each cell stands for (its block's centre).
    pub pixels: Vec<(u32, u32)>,
    /// Mean of `points`.
    pub centroid: Point3<f32>,
    /// True when a cell lies on the border of the grid (the object may be cut off).
    pub touches_border: bool,
}

impl Segment {
    /// Number of grid cells (points) in the segment.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// True for a segment without points (never produced by [`segment_frame`]).
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

/// The segmentation of one frame on its subsampled grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Segmentation {
    /// Grid width in cells (`ceil(image width / step)`).
    pub width: u32,
    /// Grid height in cells (`ceil(image height / step)`).
    pub height: u32,
    /// Subsampling step: cell `(gx, gy)` covers pixels `[gx * step, (gx + 1) * step)
    /// x [gy * step, (gy + 1) * step)`.
    pub step: u32,
    /// One label per cell, row-major: 0 = no segment, `1..` = object segment label,
    /// `STRUCTURE_BASE + i` = structure plane `i` (object-surface planes' cells
    /// belong to object segments or are 0, unless `surfaces_as_structure`).
    pub labels: Vec<u32>,
    /// Detected planes (structure and object surfaces), by cell count
    /// (descending).
    pub planes: Vec<PlaneSegment>,
    /// Object segments by size (descending), then label (ascending).
    pub segments: Vec<Segment>,
    /// Number of cells with a valid depth in range.
    pub valid_cells: usize,
}

impl Segmentation {
    /// The label at full-resolution pixel `(u, v)`: the label of the grid cell
    /// `(u / step, v / step)`, or `None` when that cell is outside the grid.
    pub fn label_at_pixel(&self, u: u32, v: u32) -> Option<u32> {
        let step = self.step.max(1);
        let (gx, gy) = (u / step, v / step);
        if gx >= self.width || gy >= self.height {
            return None;
        }
        self.labels
            .get(gy as usize * self.width as usize + gx as usize)
            .copied()
    }
}

fn depth_values(data: &DepthData) -> usize {
    match data {
        DepthData::Metres(m) => m.len(),
        DepthData::U16 { raw, .. } => raw.len(),
    }
}

/// Checks the frame's sizes against its intrinsics.
fn check_frame(frame: &RgbdFrame) -> Result<(), SegmentError> {
    let k = &frame.intrinsics;
    let index = frame.index;
    if !k.is_valid() {
        return Err(SegmentError::InvalidIntrinsics { index });
    }
    let d = &frame.depth;
    let values = depth_values(&d.data);
    if d.width != k.width || d.height != k.height || values != k.pixel_count() {
        return Err(SegmentError::DepthSizeMismatch {
            index,
            expected_w: k.width,
            expected_h: k.height,
            found_w: d.width,
            found_h: d.height,
            values,
        });
    }
    if let DepthData::U16 {
        units_per_metre, ..
    } = d.data
        && !(units_per_metre.is_finite() && units_per_metre > 0.0)
    {
        return Err(SegmentError::InvalidDepthScale {
            index,
            units_per_metre,
        });
    }
    let c = &frame.color;
    let empty = c.width == 0 || c.height == 0;
    if !empty && (c.width != k.width || c.height != k.height) {
        return Err(SegmentError::ColorSizeMismatch {
            index,
            expected_w: k.width,
            expected_h: k.height,
            found_w: c.width,
            found_h: c.height,
        });
    }
    Ok(())
}

/// Planes of the frame: detected, grown over their fringe, classified, and object
/// surfaces grown over their whole fringe.
fn find_planes(
    maps: &maps::GridMaps,
    k: &crate::frame::CameraIntrinsics,
    cfg: &SegmentConfig,
) -> Vec<planes::DetectedPlane> {
    let mut detected = planes::detect_planes(maps, k, cfg, STRUCTURE_BASE);
    planes::extend_planes(maps, &mut detected, k, cfg, STRUCTURE_BASE, &|_| 1, -1.0);
    classify::classify_planes(maps, &mut detected, cfg);
    // An object surface takes its whole near-plane fringe (normals within 53°), so
    // that what stands on it cannot reach it through a gradual (smoothed) crease.
    let surface_rings = |p: &PlaneSegment| match p.kind {
        PlaneKind::Surface => usize::MAX,
        _ => 0,
    };
    let min_cos = SURFACE_FRINGE_MAX_ANGLE_DEG.to_radians().cos();
    planes::extend_planes(
        maps,
        &mut detected,
        k,
        cfg,
        STRUCTURE_BASE,
        &surface_rings,
        min_cos,
    );
    detected
}

/// Segments one RGB-D frame into planes and object segments on the
/// grid of `cfg.step`.
///
/// Errors: invalid intrinsics or config, depth size different from the
/// intrinsics, non-empty colour of another size, invalid raw depth scale. A frame
/// without valid depth gives `Ok` with no planes, no segments and all labels 0.
///
/// ```
/// use crossloc::segment::{PlaneKind, SegmentConfig, segment_frame};
/// use crossloc::{CameraIntrinsics, DepthImage, RgbImage, RgbdFrame};
///
/// // A flat wall 2 m in front of the camera.
/// let k = CameraIntrinsics::KINECT_7SCENES;
/// let frame = RgbdFrame {
///     index: 0,
///     timestamp: 0.0,
///     intrinsics: k,
///     color: RgbImage::default(),
///     depth: DepthImage::from_u16(640, 480, vec![2000; 640 * 480], 1000.0),
///     T_session_camera: None,
/// };
/// let seg = segment_frame(&frame, &SegmentConfig::default()).unwrap();
/// assert_eq!((seg.width, seg.height, seg.step), (160, 120, 4));
/// assert_eq!(seg.planes.len(), 1);
/// assert_eq!(seg.planes[0].kind, PlaneKind::Structure);
/// assert!((seg.planes[0].offset - 2.0).abs() < 1e-3);
/// assert!(seg.segments.is_empty());
/// ```
pub fn segment_frame(frame: &RgbdFrame, cfg: &SegmentConfig) -> Result<Segmentation, SegmentError> {
    cfg.validate()?;
    check_frame(frame)?;
    let maps = maps::build_maps(frame, cfg);
    let n = maps.width * maps.height;
    let mut labels = vec![0u32; n];
    let (gw, gh) = (maps.width as u32, maps.height as u32);
    if maps.valid_count == 0 {
        log::trace!("segment: frame {} has no valid depth", frame.index);
        return Ok(Segmentation {
            width: gw,
            height: gh,
            step: maps.step,
            labels,
            planes: Vec::new(),
            segments: Vec::new(),
            valid_cells: 0,
        });
    }
    let detected = find_planes(&maps, &frame.intrinsics, cfg);
    for p in &detected {
        if p.plane.kind != PlaneKind::Structure && !cfg.surfaces_as_structure {
            continue;
        }
        for &i in &p.cells {
            if let Some(l) = labels.get_mut(i) {
                *l = p.plane.label;
            }
        }
    }
    let eligible: Vec<bool> = (0..n)
        .map(|i| labels[i] == 0 && maps.valid(i) && maps.has_normal(i))
        .collect();
    let has_color = frame.color.width > 0 && frame.color.height > 0;
    let color_of = |i: usize| {
        let (u, v) = maps.pixel(i);
        if has_color {
            frame.color.get(u, v).unwrap_or([0, 0, 0])
        } else {
            [0, 0, 0]
        }
    };
    let cell_colors: Option<Vec<[u8; 3]>> =
        (cfg.color_jump.is_some() && has_color).then(|| (0..n).map(color_of).collect());
    let mut groups = vec![0u32; n];
    let mut surfaces = Vec::new();
    for p in &detected {
        if p.plane.kind == PlaneKind::Surface && !cfg.surfaces_as_structure {
            surfaces.push((p.plane.normal, p.plane.offset));
            let id = surfaces.len() as u32;
            p.cells.iter().for_each(|&i| groups[i] = id);
        }
    }
    let regions = regions::grow_regions(
        &maps,
        &eligible,
        &groups,
        &surfaces,
        cell_colors.as_deref(),
        cfg,
    );
    let mut segments = Vec::with_capacity(regions.len());
    for (k, cells) in regions.iter().enumerate() {
        let label = k as u32 + 1;
        let mut seg = Segment {
            label,
            points: Vec::with_capacity(cells.len()),
            normals: Vec::with_capacity(cells.len()),
            colors: Vec::with_capacity(cells.len()),
            pixels: Vec::with_capacity(cells.len()),
            centroid: Point3::origin(),
            touches_border: false,
        };
        let mut sum = Vector3::<f64>::zeros();
        for &i in cells {
            if let Some(l) = labels.get_mut(i) {
                *l = label;
            }
            let p = maps.points[i];
            sum += p.cast::<f64>();
            seg.points.push(Point3::from(p));
            seg.normals.push(maps.normals[i]);
            seg.colors.push(color_of(i));
            seg.pixels.push(maps.pixel(i));
            let (gx, gy) = (i % maps.width, i / maps.width);
            if gx == 0 || gy == 0 || gx + 1 == maps.width || gy + 1 == maps.height {
                seg.touches_border = true;
            }
        }
        seg.centroid = Point3::from((sum / cells.len().max(1) as f64).cast::<f32>());
        segments.push(seg);
    }
    log::trace!(
        "segment: frame {}: {} valid cells, {} planes, {} segments",
        frame.index,
        maps.valid_count,
        detected.len(),
        segments.len()
    );
    Ok(Segmentation {
        width: gw,
        height: gh,
        step: maps.step,
        labels,
        planes: detected.into_iter().map(|p| p.plane).collect(),
        segments,
        valid_cells: maps.valid_count,
    })
}
