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
//! A plane is [`PlaneKind::Surface`] when its object evidence outweighs its
//! structure evidence and its area is below `structure_min_area_m2`; otherwise it
//! is [`PlaneKind::Structure`]. The image border and invalid cells are no evidence.

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

/// Sets the kind of every plane from its boundary evidence.
pub(crate) fn classify_planes(maps: &GridMaps, planes: &mut [DetectedPlane], cfg: &SegmentConfig) {
    let mut owner = vec![0u32; maps.depth.len()];
    for (k, p) in planes.iter().enumerate() {
        for &i in &p.cells {
            if let Some(o) = owner.get_mut(i) {
                *o = k as u32 + 1;
            }
        }
    }
    for (k, p) in planes.iter_mut().enumerate() {
        let (object, structure) = evidence(maps, &owner, &p.cells, k as u32 + 1, cfg);
        let surface = object > structure && p.plane.area_m2 < cfg.structure_min_area_m2;
        p.plane.kind = if surface {
            PlaneKind::Surface
        } else {
            PlaneKind::Structure
        };
        log::trace!(
            "segment: plane {k} ({} cells, {:.2} m2): object evidence {object}, structure {structure} -> {:?}",
            p.cells.len(),
            p.plane.area_m2,
            p.plane.kind
        );
    }
}
