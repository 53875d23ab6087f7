//! Furniture placement: the [`Placer`] that keeps objects inside the room, clear
//! of each other and of doorways, standing against walls or free, or on supports
//! (the per-room-kind recipes that use it are in [`super::recipes`]).
//!
//! Guarantees of every placement: floor objects' footprints lie inside the floor
//! plan (1 cm from walls) and do not overlap each other or a door's clearance
//! zone (3 cm margin); a supported object's footprint lies inside its support's
//! top (1 cm margin), its base at the support's top height, and it does not overlap
//! its siblings. In symmetric mode every placement also places a twin turned by
//! 180° about the room centre (sharing its model), or fails as a whole.

use std::collections::BTreeMap;
use std::f32::consts::{FRAC_PI_2, PI};
use std::sync::Arc;

use nalgebra::{Point2, Vector2, Vector3};

use super::footprint::{Footprint, yaw_of};
use super::objects::{Object, ObjectKind, ObjectModel};
use super::room::{FloorPlan, Opening, OpeningKind, Room, inward_normal};
use crate::frame::Pose;
use crate::rng::Rng;

/// Fewest objects a room gets.
pub const MIN_OBJECTS: usize = 8;
/// Most objects a room gets.
pub const MAX_OBJECTS: usize = 25;
/// Margin between floor footprints, metres.
pub const FLOOR_MARGIN: f32 = 0.03;
/// Distance kept from walls, metres.
pub const WALL_MARGIN: f32 = 0.01;

/// A pose on the floor (or at height `z`) turned by `yaw` about the vertical.
pub fn pose_xy(x: f32, y: f32, z: f32, yaw: f32) -> Pose {
    Pose::new(Vector3::new(x, y, z), Vector3::z() * yaw)
}

/// The 180° turn about the map z axis through the origin.
fn half_turn() -> Pose {
    pose_xy(0.0, 0.0, 0.0, PI)
}

/// Door clearance zones (0.9 m deep, 10 cm wider than the door each side).
pub fn door_keepouts(plan: &FloorPlan, openings: &[Opening]) -> Vec<Footprint> {
    let edges: Vec<_> = plan.edges().collect();
    openings
        .iter()
        .filter(|o| o.kind == OpeningKind::Door)
        .filter_map(|o| {
            let (a, b) = *edges.get(o.edge)?;
            let u = (b - a).try_normalize(1e-9)?;
            let n = inward_normal(a, b);
            let c = a + u * (o.start + 0.5 * o.width) + n * 0.45;
            Some(Footprint {
                centre: c,
                half: Vector2::new(0.5 * o.width + 0.1, 0.45),
                yaw: u.y.atan2(u.x),
            })
        })
        .collect()
}

/// Places objects into a room while keeping the layout rules.
#[derive(Debug)]
pub struct Placer<'a> {
    pub(super) plan: &'a FloorPlan,
    keepouts: Vec<Footprint>,
    /// Objects placed so far (any order).
    pub objects: Vec<Object>,
    next_id: u32,
    pub(super) symmetric: bool,
    twin_of: BTreeMap<u32, u32>,
    pub(super) max_objects: usize,
}

impl<'a> Placer<'a> {
    /// An empty placer for a room's plan and openings.
    pub fn new(plan: &'a FloorPlan, openings: &[Opening], symmetric: bool) -> Placer<'a> {
        Placer {
            plan,
            keepouts: door_keepouts(plan, openings),
            objects: Vec::new(),
            next_id: 1,
            symmetric,
            twin_of: BTreeMap::new(),
            max_objects: MAX_OBJECTS,
        }
    }

    /// A placer holding a room's current objects; new ids start at `next_id`.
    pub fn from_room(room: &'a Room, next_id: u32) -> Placer<'a> {
        let mut p = Placer::new(&room.plan, &room.openings, false);
        p.objects = room.objects.clone();
        p.next_id = next_id.max(1);
        p.max_objects = usize::MAX;
        p
    }

    /// Number of objects placed.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// True when nothing is placed.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The placed object with id `id`.
    pub fn object(&self, id: u32) -> Option<&Object> {
        self.objects.iter().find(|o| o.id == id)
    }

    /// True when `model` at `pose` fits on the floor, ignoring objects in `ignore`.
    pub fn floor_ok(&self, model: &ObjectModel, pose: &Pose, ignore: &[u32]) -> bool {
        let fp = Footprint::of(model, pose);
        fp.fits_in_plan(self.plan, WALL_MARGIN)
            && self.keepouts.iter().all(|k| !fp.overlaps(k, FLOOR_MARGIN))
            && self
                .objects
                .iter()
                .filter(|o| o.support.is_none() && !ignore.contains(&o.id))
                .all(|o| !fp.overlaps(&Footprint::of(&o.model, &o.T_map_object), FLOOR_MARGIN))
    }

    /// The top of `support` as a footprint (map frame).
    pub fn support_top(support: &Object) -> Footprint {
        let c = support.T_map_object.translation;
        Footprint {
            centre: Point2::new(c.x, c.y),
            half: Vector2::new(support.model.support_half[0], support.model.support_half[1]),
            yaw: yaw_of(&support.T_map_object),
        }
    }

    /// True when `model` at `pose` fits on `support`'s top, ignoring `ignore`.
    pub fn support_ok(
        &self,
        support: &Object,
        model: &ObjectModel,
        pose: &Pose,
        ignore: &[u32],
    ) -> bool {
        let Some(top) = support.support_top() else {
            return false;
        };
        let fp = Footprint::of(model, pose);
        (pose.translation.z - top).abs() < 1e-4
            && fp.inside(&Self::support_top(support), 0.01)
            && self
                .objects
                .iter()
                .filter(|o| o.support == Some(support.id) && !ignore.contains(&o.id))
                .all(|o| !fp.overlaps(&Footprint::of(&o.model, &o.T_map_object), 0.02))
    }

    fn push(&mut self, model: Arc<ObjectModel>, pose: Pose, support: Option<u32>) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        self.objects.push(Object {
            id,
            model,
            T_map_object: pose,
            support,
        });
        id
    }

    fn room_for(&self, n: usize) -> bool {
        self.objects.len() + n <= self.max_objects
    }

    /// Places `model` on the floor at `pose` (and its twin in a symmetric room,
    /// unless `self_symmetric`); returns the id, `None` when it does not fit.
    pub fn try_floor(
        &mut self,
        model: &Arc<ObjectModel>,
        pose: Pose,
        self_symmetric: bool,
    ) -> Option<u32> {
        let twin = self.symmetric && !self_symmetric;
        if !self.room_for(if twin { 2 } else { 1 }) || !self.floor_ok(model, &pose, &[]) {
            return None;
        }
        if twin {
            let tp = half_turn() * pose;
            let fp = Footprint::of(model, &pose);
            if !self.floor_ok(model, &tp, &[]) || fp.overlaps(&fp.turned(), FLOOR_MARGIN) {
                return None;
            }
            let id = self.push(model.clone(), pose, None);
            let tid = self.push(model.clone(), tp, None);
            self.twin_of.insert(id, tid);
            return Some(id);
        }
        Some(self.push(model.clone(), pose, None))
    }

    /// Places `model` on `support` at support-local `(x, y)` turned by `yaw`
    /// relative to the support (and the twin on the twin support in a symmetric
    /// room).
    pub fn try_on(
        &mut self,
        support: u32,
        model: &Arc<ObjectModel>,
        x: f32,
        y: f32,
        yaw: f32,
    ) -> Option<u32> {
        let sup = self.object(support)?.clone();
        let top = sup.support_top()?;
        let local = pose_xy(x, y, 0.0, yaw);
        let mut pose = sup.T_map_object * local;
        pose.translation.vector.z = top;
        if !self.support_ok(&sup, model, &pose, &[]) {
            return None;
        }
        if self.symmetric {
            if !self.room_for(2) {
                return None;
            }
            let tp = half_turn() * pose;
            let twin_support = self.twin_of.get(&support).copied().unwrap_or(support);
            let tsup = self.object(twin_support)?.clone();
            let fp = Footprint::of(model, &pose);
            let same = twin_support == support;
            if !self.support_ok(&tsup, model, &tp, &[]) || (same && fp.overlaps(&fp.turned(), 0.02))
            {
                return None;
            }
            let id = self.push(model.clone(), pose, Some(support));
            let tid = self.push(model.clone(), tp, Some(twin_support));
            self.twin_of.insert(id, tid);
            return Some(id);
        }
        if !self.room_for(1) {
            return None;
        }
        Some(self.push(model.clone(), pose, Some(support)))
    }

    /// A random pose with the model's back against a wall, facing into the room
    /// (`corner`: pushed to one end of the wall).
    pub fn wall_pose(&self, model: &ObjectModel, corner: bool, rng: &mut Rng) -> Option<Pose> {
        let edges: Vec<_> = self.plan.edges().collect();
        let total: f32 = edges.iter().map(|(a, b)| (b - a).norm()).sum();
        let mut pick = rng.f32() * total;
        let mut chosen = *edges.first()?;
        for e in &edges {
            let l = (e.1 - e.0).norm();
            if pick < l {
                chosen = *e;
                break;
            }
            pick -= l;
        }
        let (a, b) = chosen;
        let len = (b - a).norm();
        let (_, h) = model.footprint_local();
        let lo = h[0] + 0.03;
        let hi = len - h[0] - 0.03;
        if hi < lo {
            return None;
        }
        let s = if corner {
            if rng.chance(0.5) {
                lo + rng.range(0.0, 0.1)
            } else {
                hi - rng.range(0.0, 0.1)
            }
        } else {
            rng.range(lo, hi)
        };
        let u = (b - a) / len;
        let n = inward_normal(a, b);
        let p = a + u * s + n * (h[1] + 0.02);
        Some(pose_xy(p.x, p.y, 0.0, (-n.x).atan2(n.y)))
    }

    /// A random free-standing pose (yaw near an axis when `aligned`).
    pub fn free_pose(&self, margin: f32, aligned: bool, rng: &mut Rng) -> Option<Pose> {
        let p = self.plan.random_point(margin, rng)?;
        let yaw = if aligned {
            rng.below(4) as f32 * FRAC_PI_2 + rng.range(-0.1, 0.1)
        } else {
            rng.range(-PI, PI)
        };
        Some(pose_xy(p.x, p.y, 0.0, yaw))
    }

    /// Tries up to `tries` wall poses; returns the placed id.
    pub fn place_wall(
        &mut self,
        model: &Arc<ObjectModel>,
        corner: bool,
        tries: usize,
        rng: &mut Rng,
    ) -> Option<u32> {
        for _ in 0..tries {
            if let Some(p) = self.wall_pose(model, corner, rng)
                && let Some(id) = self.try_floor(model, p, false)
            {
                return Some(id);
            }
        }
        None
    }

    /// Tries up to `tries` free poses; returns the placed id.
    pub fn place_free(
        &mut self,
        model: &Arc<ObjectModel>,
        aligned: bool,
        tries: usize,
        rng: &mut Rng,
    ) -> Option<u32> {
        let (_, h) = model.footprint_local();
        let margin = h[0].hypot(h[1]) * 0.5 + 0.1;
        for _ in 0..tries {
            if let Some(p) = self.free_pose(margin, aligned, rng)
                && let Some(id) = self.try_floor(model, p, false)
            {
                return Some(id);
            }
        }
        None
    }

    /// Places `model` on a random support among objects of `kinds` (originals only
    /// in a symmetric room); returns the id.
    pub fn place_on(
        &mut self,
        kinds: &[ObjectKind],
        model: &Arc<ObjectModel>,
        tries: usize,
        rng: &mut Rng,
    ) -> Option<u32> {
        let twins: Vec<u32> = self.twin_of.values().copied().collect();
        let supports: Vec<u32> = self
            .objects
            .iter()
            .filter(|o| {
                kinds.contains(&o.kind())
                    && o.model.support_height.is_some()
                    && !twins.contains(&o.id)
            })
            .map(|o| o.id)
            .collect();
        self.place_on_ids(&supports, model, tries, rng)
    }

    /// Places `model` on a random one of the `supports` (ids); returns the id.
    pub fn place_on_ids(
        &mut self,
        supports: &[u32],
        model: &Arc<ObjectModel>,
        tries: usize,
        rng: &mut Rng,
    ) -> Option<u32> {
        if supports.is_empty() {
            return None;
        }
        let (_, h) = model.footprint_local();
        let r = h[0].hypot(h[1]);
        let facing = matches!(model.kind, ObjectKind::Monitor | ObjectKind::Tv);
        for _ in 0..tries {
            let sid = *supports.get(rng.below(supports.len()))?;
            let sup = self.object(sid)?;
            let [sx, sy] = sup.model.support_half;
            let (x, y, yaw) = if facing {
                (
                    rng.range(-sx, sx) * 0.6,
                    -sy + h[1] + 0.02 + rng.range(0.0, 0.08),
                    rng.range(-0.15, 0.15),
                )
            } else {
                (
                    rng.range(-sx + r, (sx - r).max(-sx + r)),
                    rng.range(-sy + r, (sy - r).max(-sy + r)),
                    rng.range(-PI, PI),
                )
            };
            if let Some(id) = self.try_on(sid, model, x, y, yaw) {
                return Some(id);
            }
        }
        None
    }

    /// Original (non-twin) objects of `kind`, in placement order.
    pub fn originals(&self, kind: ObjectKind) -> Vec<u32> {
        let twins: Vec<u32> = self.twin_of.values().copied().collect();
        self.objects
            .iter()
            .filter(|o| o.kind() == kind && !twins.contains(&o.id))
            .map(|o| o.id)
            .collect()
    }

    /// Places `model` at object-local `(x, y, yaw)` of `anchor` on the floor.
    pub fn try_near(
        &mut self,
        anchor: u32,
        model: &Arc<ObjectModel>,
        x: f32,
        y: f32,
        yaw: f32,
    ) -> Option<u32> {
        let a = self.object(anchor)?.T_map_object;
        let mut pose = a * pose_xy(x, y, 0.0, yaw);
        pose.translation.vector.z = 0.0;
        self.try_floor(model, pose, false)
    }

    /// The placed objects, sorted by id.
    pub fn into_objects(mut self) -> Vec<Object> {
        self.objects.sort_by_key(|o| o.id);
        self.objects
    }
}
