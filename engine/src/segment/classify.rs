//! Tells room structure (floor, walls, ceiling) from large flat object surfaces
//! (table tops, sofa fronts, wardrobe doors) among the detected planes, from the
//! evidence along each plane's boundary on the grid.
//!
//! Seen from inside a room, structure meets other structure and the objects
//! standing on it at concave creases, and is occluded by what stands in front of
//! it. A flat object surface instead ends at convex edges (the table's edge) or
//! occludes what lies behind it. For every 4-neighbour pair (plane cell, valid
//! cell outside the plane):
//! - a depth jump to a farther neighbour (the plane occludes it) is object evidence;
//! - a depth jump to a nearer neighbour (the plane is occluded) counts for nothing;
//! - a continuous crease whose normals differ by more than `normal_angle_deg` is
//!   object evidence when convex (`(p_j - p_i) · (n_j - n_i) > 0`), structure
//!   evidence when concave; gentler changes count for nothing.
//!
//! The image border and invalid cells are no evidence.
//!
//! Height comes first where there is a floor. The floor is the plane facing up in
//! the camera frame (normal within 45° of -y, which assumes a roughly upright
//! camera: headset, hand-held, robot) with the largest offset (the lowest such
//! plane); it is structure. (Where the floor itself is not among the planes, the
//! lowest upward plane, say a table top, stands in for it.) Then a plane parallel to the
//! floor (within 20°) is structure (a ceiling) when it lies higher than
//! `structure_min_height_m` above the floor, an object surface otherwise; a plane
//! perpendicular to the floor (within 20°) is structure (a wall) when some of its
//! cells lie higher than `structure_min_height_m`, an object surface when it ends
//! below that without reaching the top of the image. Other planes, vertical
//! planes cut by the top of the image, and every plane when there is no floor, go
//! by the boundary evidence: an object surface when the object evidence outweighs
//! the structure evidence and the plane is smaller than `structure_min_area_m2`,
//! structure otherwise.

use super::SegmentConfig;
use super::maps::{GridMaps, depth_continuous};
use super::planes::{DetectedPlane, PlaneKind};

/// Object and structure evidence along the boundary of plane `id` (cells `cells`;
/// `owner` maps each cell to its plane id, 0 for none).
pub(super) fn evidence(
    maps: &GridMaps,
    owner: &[u32],
    cells: &[usize],
    id: u32,
    cfg: &SegmentConfig,
) -> (u32, u32) {
    let (w, h) = (maps.width, maps.height);
    let cos = cfg.normal_angle_deg.to_radians().cos();
    let (mut object, mut structure) = (0u32, 0u32);
    for &i in cells {
        let (x, y) = (i % w, i / w);
        let neighbours = [
            (x > 0).then(|| i - 1),
            (x + 1 < w).then(|| i + 1),
            (y > 0).then(|| i - w),
            (y + 1 < h).then(|| i + w),
        ];
        for j in neighbours.into_iter().flatten() {
            if owner[j] == id || !maps.valid(j) {
                continue;
            }
            let (zi, zj) = (maps.depth[i], maps.depth[j]);
            if !depth_continuous(zi, zj, cfg) {
                if zj > zi {
                    object += 1;
                }
                continue;
            }
            if !maps.has_normal(i) || !maps.has_normal(j) {
                continue;
            }
            let (ni, nj) = (&maps.normals[i], &maps.normals[j]);
            if ni.dot(nj) >= cos {
                continue;
            }
            if (maps.points[j] - maps.points[i]).dot(&(nj - ni)) > 0.0 {
                object += 1;
            } else {
                structure += 1;
            }
        }
    }
    (object, structure)
}

/// Index of the floor among the planes, if there is one (see the module doc).
fn find_floor(planes: &[DetectedPlane]) -> Option<usize> {
    let cos45 = std::f32::consts::FRAC_1_SQRT_2;
    planes
        .iter()
        .enumerate()
        .filter(|(_, p)| -p.plane.normal.y > cos45)
        .max_by(|a, b| a.1.plane.offset.total_cmp(&b.1.plane.offset))
        .map(|(i, _)| i)
}

/// The kind of `plane` from its height above `floor`, or `None` when height does
/// not decide.
fn kind_by_height(
    maps: &GridMaps,
    plane: &DetectedPlane,
    floor: &DetectedPlane,
    cfg: &SegmentConfig,
) -> Option<PlaneKind> {
    let (nf, df) = (&floor.plane.normal, floor.plane.offset);
    let c = plane.plane.normal.dot(nf);
    let tilt = 20f32.to_radians();
    let height = |i: usize| nf.dot(&maps.points[i]) + df;
    if c > tilt.cos() {
        // Parallel to the floor, facing the same way (a surface seen from above).
        let h = df - plane.plane.offset;
        return Some(if h > cfg.structure_min_height_m {
            PlaneKind::Structure
        } else {
            PlaneKind::Surface
        });
    }
    if c < -tilt.cos() {
        // Facing down, above the camera: a ceiling or the underside of something.
        let h = df + plane.plane.offset;
        return Some(if h > cfg.structure_min_height_m {
            PlaneKind::Structure
        } else {
            PlaneKind::Surface
        });
    }
    if c.abs() < tilt.sin() {
        let top = plane
            .cells
            .iter()
            .map(|&i| height(i))
            .fold(f32::NEG_INFINITY, f32::max);
        if top > cfg.structure_min_height_m {
            return Some(PlaneKind::Structure);
        }
        let cut = plane.cells.iter().any(|&i| i / maps.width.max(1) == 0);
        if !cut {
            return Some(PlaneKind::Surface);
        }
    }
    None
}

/// Sets the kind of every plane (see the module doc).
pub(crate) fn classify_planes(maps: &GridMaps, planes: &mut [DetectedPlane], cfg: &SegmentConfig) {
    let mut owner = vec![0u32; maps.depth.len()];
    for (k, p) in planes.iter().enumerate() {
        for &i in &p.cells {
            if let Some(o) = owner.get_mut(i) {
                *o = k as u32 + 1;
            }
        }
    }
    let floor = find_floor(planes);
    let mut kinds = Vec::with_capacity(planes.len());
    for (k, p) in planes.iter().enumerate() {
        let by_height = match floor.and_then(|f| planes.get(f)) {
            Some(_) if Some(k) == floor => Some(PlaneKind::Structure),
            Some(f) => kind_by_height(maps, p, f, cfg),
            None => None,
        };
        let kind = by_height.unwrap_or_else(|| {
            let (object, structure) = evidence(maps, &owner, &p.cells, k as u32 + 1, cfg);
            if object > structure && p.plane.area_m2 < cfg.structure_min_area_m2 {
                PlaneKind::Surface
            } else {
                PlaneKind::Structure
            }
        });
        log::trace!(
            "segment: plane {k} ({} cells, {:.2} m2): {kind:?} (by height: {})",
            p.cells.len(),
            p.plane.area_m2,
            by_height.is_some()
        );
        kinds.push(kind);
    }
    for (p, kind) in planes.iter_mut().zip(kinds) {
        p.plane.kind = kind;
    }
}
