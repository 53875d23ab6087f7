//! Residual pieces of live objects in place or moved: the part of a live object
//! that no database object or room structure explains. A small object put on a
//! mapped one (a mug on a cabinet) is fused with it by the live segmentation, so
//! the live object as a whole lies in place; its residual is the new object.
//! Likewise a mug carried on a moved nightstand: the live object is the
//! nightstand moved, and its residual is the mug (moved too, once paired with
//! its old place seen empty).

use nalgebra::{Point3, Vector3};

use super::{ChangeDetector, LiveObject, Pose, Scene, centroid, is_patch, oriented_box, sample};
use crate::db::OrientedBox;

/// What the live object whose residual is taken stands as.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Host {
    /// In place, of this database instance where known (or a piece of the
    /// room).
    InPlace(Option<usize>),
    /// Database instance `db` moved by `pose`: its points there explain the
    /// live object's too.
    Moved {
        /// Database instance index.
        db: usize,
        /// Where it is now: its points moved by this pose.
        pose: Pose,
    },
}

/// The parent live object's id of a residual piece's id; other ids unchanged.
pub(crate) fn parent_of(id: u32) -> u32 {
    if id & RESIDUAL_ID_BIT != 0 {
        id & !(RESIDUAL_ID_BIT | (0x7 << 28))
    } else {
        id
    }
}

/// Set in the id of a residual piece: the piece of live object `n` is
/// `n | RESIDUAL_ID_BIT`.
pub const RESIDUAL_ID_BIT: u32 = 1 << 31;

/// Most residual points clustered per live object.
const MAX_RESIDUAL_POINTS: usize = 600;
/// Most residual pieces per live object.
pub(super) const MAX_PIECES: usize = 4;

/// The sets of `points` connected by links of at most `link` metres, largest
/// first (ties by first point).
fn components(points: &[Point3<f32>], link: f32) -> Vec<Vec<Point3<f32>>> {
    let mut seen = vec![false; points.len()];
    let mut out: Vec<Vec<usize>> = Vec::new();
    let l2 = link * link;
    for seed in 0..points.len() {
        if seen.get(seed) != Some(&false) {
            continue;
        }
        let mut members = vec![seed];
        if let Some(s) = seen.get_mut(seed) {
            *s = true;
        }
        let mut k = 0;
        while let Some(&i) = members.get(k) {
            k += 1;
            let Some(p) = points.get(i) else { continue };
            for (j, q) in points.iter().enumerate() {
                if seen.get(j) == Some(&false) && (p - q).norm_squared() <= l2 {
                    if let Some(s) = seen.get_mut(j) {
                        *s = true;
                    }
                    members.push(j);
                }
            }
        }
        members.sort_unstable();
        out.push(members);
    }
    out.sort_by(|a, b| b.len().cmp(&a.len()).then(a.first().cmp(&b.first())));
    out.into_iter()
        .map(|m| m.iter().filter_map(|&i| points.get(i).copied()).collect())
        .collect()
}

impl ChangeDetector {
    /// The residual pieces of `obj` (a live object standing as `host`): the
    /// connected sets (at most [`MAX_PIECES`], largest first) of its points
    /// further than `residual_radius_m` from every database instance, the
    /// structure and (for a moved host) the moved database object that have
    /// at least `min_points` points, are at least
    /// `min_residual_half_thickness_m` thick, lie mostly outside the mapped
    /// objects' boxes (or where the reference saw empty space), not wholly
    /// inside the box of the host's own database instance (where it stands
    /// now), are no piece of the room (flat patch or beam) and do not lie on the
    /// structure. Piece `k` of live object `n` has id
    /// `n | RESIDUAL_ID_BIT | k << 28`; pieces have no descriptor.
    pub(super) fn residuals(
        &self,
        scene: &Scene,
        obj: &LiveObject,
        host: Host,
        min_points: usize,
    ) -> Vec<LiveObject> {
        let r = self.cfg.residual_radius_m;
        let mut rest = self.unexplained(scene, &obj.points_map, r);
        let own_box = match host {
            Host::InPlace(own) => own.and_then(|di| self.grown_tight(di)),
            Host::Moved { db, pose } => {
                let back = pose.inverse();
                if let Some(g) = self.grids.get(db) {
                    rest.retain(|p| !g.any_within(&(back * p), r));
                }
                self.grown_tight(db).map(|b| OrientedBox {
                    center: pose * b.center,
                    rotation: pose.rotation * b.rotation,
                    ..b
                })
            }
        };
        log::trace!(
            "live {}: {} of {} points unexplained within {r} m",
            obj.id,
            rest.len(),
            obj.points_map.len()
        );
        if rest.len() < min_points {
            return Vec::new();
        }
        // The sample keeps every stride-th point: counts are scaled back.
        let stride = rest.len().div_ceil(MAX_RESIDUAL_POINTS).max(1);
        components(
            &sample(&rest, MAX_RESIDUAL_POINTS),
            self.cfg.residual_link_m,
        )
        .into_iter()
        .filter(|piece| self.is_new_piece(scene, obj.id, own_box, piece, stride, min_points))
        .take(MAX_PIECES)
        .enumerate()
        .map(|(k, piece)| LiveObject {
            id: obj.id | RESIDUAL_ID_BIT | ((k as u32) << 28),
            points_map: piece,
            descriptor: Vec::new(),
            observations: obj.observations,
        })
        .collect()
    }

    /// The tight box of database instance `di` grown by `residual_radius_m`.
    fn grown_tight(&self, di: usize) -> Option<OrientedBox> {
        self.tight.get(di).map(|b| {
            let mut b = *b;
            b.half_extents += Vector3::repeat(self.cfg.residual_radius_m);
            b
        })
    }

    /// Whether a residual piece (of a sample keeping every `stride`-th point)
    /// passes the tests of [`Self::residuals`].
    fn is_new_piece(
        &self,
        scene: &Scene,
        live: u32,
        own_box: Option<OrientedBox>,
        piece: &[Point3<f32>],
        stride: usize,
        min_points: usize,
    ) -> bool {
        if piece.len() * stride < min_points {
            return false;
        }
        // Inside a mapped object's (tight) box it is a part of that object seen
        // anew (the inside of a shelf), not a new object, unless the reference
        // saw that place empty (a lamp put on a cabinet's open shelf, a mug
        // beside the mapped one on a nightstand). (PCA's box of a cabinet seen
        // from the front and above leans, and holds what stands on it.)
        let space = scene.seen_space.as_ref();
        let boxes: Vec<_> = (0..self.tight.len())
            .filter_map(|di| self.grown_tight(di))
            .collect();
        let inside = piece
            .iter()
            .filter(|p| !space.is_some_and(|s| s.seen_empty(p)))
            .filter(|p| boxes.iter().any(|b| b.contains(p)))
            .count();
        // Wholly inside the box of the object the live one stands in place of,
        // it is that object turned (a plant's leaves where the reference saw
        // between them), whatever the reference saw.
        let in_own = own_box.map_or(0, |b| piece.iter().filter(|p| b.contains(p)).count());
        let half = oriented_box(piece).half_extents;
        let n = piece.len() as f32;
        let on_structure = self
            .structure
            .share_within(piece, self.cfg.structure_radius_m);
        let new = inside as f32 <= self.cfg.max_residual_inside * n
            && (in_own as f32) < self.cfg.min_residual_own_inside * n
            && half.min() >= self.cfg.min_residual_half_thickness_m
            && !is_patch(&half, &self.cfg)
            && on_structure < self.cfg.max_structure_share;
        log::trace!(
            "live {live}: residual of {} points at {:.2?}, half extents {:.2?}, {inside} inside mapped boxes where not seen empty, {in_own} inside its own, {on_structure:.2} near the structure: new {new}",
            piece.len() * stride,
            centroid(piece).coords.as_slice(),
            half.as_slice()
        );
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linked_sets_are_found_largest_first() {
        let mut pts: Vec<Point3<f32>> = (0..10)
            .map(|i| Point3::new(i as f32 * 0.03, 0.0, 0.0))
            .collect();
        pts.extend((0..4).map(|i| Point3::new(5.0 + i as f32 * 0.03, 0.0, 0.0)));
        pts.push(Point3::new(0.0, 1.0, 0.0));
        let c = components(&pts, 0.04);
        let sizes: Vec<usize> = c.iter().map(|p| p.len()).collect();
        assert_eq!(sizes, vec![10, 4, 1]);
        assert!(c[0].iter().all(|p| p.x < 1.0 && p.y == 0.0));
        assert!(c[1].iter().all(|p| p.x >= 5.0));
        assert!(components(&[], 0.04).is_empty());
        assert_eq!(components(&pts, 0.02).len(), pts.len());
    }
}
