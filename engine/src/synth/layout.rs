//! Furniture placement: the [`Placer`] that keeps objects inside the room, clear
//! of each other and of doorways, standing against walls or free, or on supports;
//! and the per-room-kind recipes of [`furnish`].
//!
//! Guarantees of every placement: floor objects' footprints lie inside the floor
//! plan (1 cm from walls) and do not overlap each other or a door's clearance
//! zone (3 cm margin); a supported object's footprint lies inside its support's
//! top (1 cm margin), its base at the support's top height, and it does not overlap
//! its siblings. Rooms get 8–25 objects. In a symmetric room every recipe
//! placement has a twin turned by 180° about the room centre (sharing its model);
//! afterwards 1–3 unique objects break the symmetry.

use std::collections::BTreeMap;
use std::f32::consts::{FRAC_PI_2, PI};
use std::sync::Arc;

use nalgebra::{Point2, Vector2, Vector3};

use super::footprint::{Footprint, yaw_of};
use super::furniture::SizeClass;
use super::objects::{Object, ObjectKind, ObjectModel};
use super::props::build_model;
use super::room::{FloorPlan, Opening, OpeningKind, Room, RoomKind, inward_normal};
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
    plan: &'a FloorPlan,
    keepouts: Vec<Footprint>,
    /// Objects placed so far (any order).
    pub objects: Vec<Object>,
    next_id: u32,
    symmetric: bool,
    twin_of: BTreeMap<u32, u32>,
    max_objects: usize,
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

    fn object(&self, id: u32) -> Option<&Object> {
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

fn model(kind: ObjectKind, size: SizeClass, rng: &mut Rng) -> Arc<ObjectModel> {
    Arc::new(build_model(kind, size, rng))
}

/// Chairs around table `table`: `n` chairs of one shared model facing the table.
fn chairs_around(p: &mut Placer, table: u32, chair: &Arc<ObjectModel>, n: usize, rng: &mut Rng) {
    let Some(t) = p.object(table).cloned() else {
        return;
    };
    let (_, th) = t.model.footprint_local();
    let (_, ch) = chair.footprint_local();
    let gap = 0.04;
    let mut slots: Vec<(f32, f32, f32)> = Vec::new();
    let per_side = (((2.0 * th[0] - 0.1) / 0.62).floor() as usize).max(1);
    for side in [1.0f32, -1.0] {
        if p.symmetric && side < 0.0 {
            continue;
        }
        for i in 0..per_side {
            let x = -th[0] + (2.0 * th[0]) * (i as f32 + 0.5) / per_side as f32;
            let y = side * (th[1] + ch[1] + gap);
            slots.push((x, y, if side > 0.0 { PI } else { 0.0 }));
        }
    }
    for end in [1.0f32, -1.0] {
        if p.symmetric && end < 0.0 {
            continue;
        }
        slots.push((
            end * (th[0] + ch[1] + gap),
            0.0,
            if end > 0.0 { FRAC_PI_2 } else { -FRAC_PI_2 },
        ));
    }
    rng.shuffle(&mut slots);
    let want = if p.symmetric { n.div_ceil(2) } else { n };
    let mut placed = 0;
    for (x, y, yaw) in slots {
        if placed >= want {
            break;
        }
        let pull = rng.range(0.0, 0.12);
        let (x, y) = if y.abs() > 1e-3 {
            (x, y + y.signum() * pull)
        } else {
            (x + x.signum() * pull, y)
        };
        if p.try_near(table, chair, x, y, yaw + rng.range(-0.12, 0.12))
            .is_some()
        {
            placed += 1;
        }
    }
}

/// One chair in front of each original desk.
fn chairs_at_desks(p: &mut Placer, chair: &Arc<ObjectModel>, rng: &mut Rng) {
    let (_, ch) = chair.footprint_local();
    for desk in p.originals(ObjectKind::Desk) {
        let Some(d) = p.object(desk).cloned() else {
            continue;
        };
        let (_, dh) = d.model.footprint_local();
        for _ in 0..6 {
            let x = rng.range(-0.25, 0.25);
            let y = dh[1] + ch[1] + rng.range(0.04, 0.3);
            if p.try_near(desk, chair, x, y, PI + rng.range(-0.3, 0.3))
                .is_some()
            {
                break;
            }
        }
    }
}

/// One object per original support of `kind` (with probability `prob`).
fn one_on_each(
    p: &mut Placer,
    kind: ObjectKind,
    item: &Arc<ObjectModel>,
    prob: f32,
    rng: &mut Rng,
) {
    for s in p.originals(kind) {
        if rng.chance(prob) {
            let _ = p.place_on_ids(&[s], item, 12, rng);
        }
    }
}

/// Nightstands on both sides of the bed, backs aligned with the headboard.
fn beside_bed(p: &mut Placer, bed: u32, stand: &Arc<ObjectModel>, n: usize) {
    let Some(b) = p.object(bed).cloned() else {
        return;
    };
    let (_, bh) = b.model.footprint_local();
    let (_, sh) = stand.footprint_local();
    for side in [1.0f32, -1.0].into_iter().take(n) {
        let _ = p.try_near(
            bed,
            stand,
            side * (bh[0] + sh[0] + 0.04),
            -bh[1] + sh[1],
            0.0,
        );
    }
}

fn count(rng: &mut Rng, lo: usize, hi: usize) -> usize {
    lo + rng.below(hi - lo + 1)
}

fn shared_or_own(
    shared: bool,
    kind: ObjectKind,
    size: SizeClass,
    first: &Arc<ObjectModel>,
    rng: &mut Rng,
) -> Arc<ObjectModel> {
    if shared {
        first.clone()
    } else {
        model(kind, size, rng)
    }
}

/// Wall-standing objects of one kind (`shared`: one model for all).
fn wall_set(
    p: &mut Placer,
    kind: ObjectKind,
    size: SizeClass,
    n: usize,
    shared: bool,
    rng: &mut Rng,
) {
    let first = model(kind, size, rng);
    for i in 0..n {
        let m = if i == 0 {
            first.clone()
        } else {
            shared_or_own(shared, kind, size, &first, rng)
        };
        let _ = p.place_wall(&m, false, 30, rng);
    }
}

/// Supported objects of one kind on random supports of `on`.
fn on_set(p: &mut Placer, on: &[ObjectKind], kind: ObjectKind, n: usize, rng: &mut Rng) {
    for _ in 0..n {
        let m = model(kind, SizeClass::Small, rng);
        let _ = p.place_on(on, &m, 20, rng);
    }
}

/// A central table (exactly at the centre in a symmetric room).
fn centre_table(p: &mut Placer, kind: ObjectKind, size: SizeClass, rng: &mut Rng) -> Option<u32> {
    let t = model(kind, size, rng);
    if p.symmetric {
        let yaw = if rng.chance(0.5) { 0.0 } else { FRAC_PI_2 };
        return p.try_floor(&t, pose_xy(0.0, 0.0, 0.0, yaw), true);
    }
    let r = p.plan.rects.first().copied()?;
    for _ in 0..40 {
        let cx = 0.5 * (r[0] + r[2]) + rng.range(-0.6, 0.6);
        let cy = 0.5 * (r[1] + r[3]) + rng.range(-0.6, 0.6);
        let yaw = if (r[2] - r[0]) >= (r[3] - r[1]) {
            0.0
        } else {
            FRAC_PI_2
        } + rng.range(-0.08, 0.08);
        if let Some(id) = p.try_floor(&t, pose_xy(cx, cy, 0.0, yaw), false) {
            return Some(id);
        }
    }
    p.place_free(&t, true, 40, rng)
}

fn recipe(p: &mut Placer, kind: RoomKind, rng: &mut Rng) {
    use ObjectKind as K;
    use SizeClass::{Large, Normal, Small};
    match kind {
        RoomKind::Kitchen => {
            wall_set(p, K::Counter, Normal, count(rng, 1, 2), true, rng);
            wall_set(p, K::Fridge, Normal, 1, false, rng);
            wall_set(p, K::Cabinet, Normal, count(rng, 0, 1), false, rng);
            if let Some(t) = centre_table(p, K::Table, Normal, rng) {
                let chair = model(K::Chair, Normal, rng);
                let n = count(rng, 2, 6);
                chairs_around(p, t, &chair, n, rng);
            }
            let stool = model(K::Stool, Normal, rng);
            for _ in 0..count(rng, 0, 2) {
                let _ = p.place_free(&stool, false, 20, rng);
            }
            wall_set(p, K::Bin, Normal, 1, false, rng);
            on_set(p, &[K::Table, K::Counter], K::Mug, count(rng, 1, 3), rng);
            on_set(p, &[K::Counter, K::Table], K::Plant, count(rng, 0, 1), rng);
            wall_set(p, K::Box, Normal, count(rng, 0, 1), false, rng);
        }
        RoomKind::Office => {
            let shared = rng.chance(0.7);
            wall_set(p, K::Desk, Normal, count(rng, 2, 4), shared, rng);
            let chair = model(K::Chair, Normal, rng);
            chairs_at_desks(p, &chair, rng);
            let monitor = model(K::Monitor, Normal, rng);
            one_on_each(p, K::Desk, &monitor, 0.9, rng);
            on_set(p, &[K::Desk], K::Lamp, count(rng, 0, 2), rng);
            on_set(p, &[K::Desk], K::Mug, count(rng, 0, 3), rng);
            wall_set(
                p,
                K::Bookshelf,
                Normal,
                count(rng, 1, 2),
                rng.chance(0.5),
                rng,
            );
            wall_set(p, K::Cabinet, Normal, count(rng, 0, 2), false, rng);
            wall_set(p, K::Bin, Normal, count(rng, 1, 2), true, rng);
            wall_set(p, K::Plant, Large, count(rng, 0, 1), false, rng);
            wall_set(p, K::Box, Normal, count(rng, 0, 2), false, rng);
        }
        RoomKind::LivingRoom => {
            wall_set(p, K::Sofa, Normal, 1, false, rng);
            let ct = model(K::CoffeeTable, Normal, rng);
            let sofa = p.originals(K::Sofa).first().copied();
            let placed_ct = sofa.and_then(|s| {
                let d = p.object(s)?.model.footprint_local().1[1];
                let cd = ct.footprint_local().1[1];
                p.try_near(
                    s,
                    &ct,
                    rng.range(-0.1, 0.1),
                    d + cd + rng.range(0.35, 0.55),
                    0.0,
                )
            });
            if placed_ct.is_none() {
                let _ = p.place_free(&ct, true, 30, rng);
            }
            let arm = model(K::Armchair, Normal, rng);
            for _ in 0..count(rng, 1, 2) {
                let _ = p.place_free(&arm, false, 30, rng);
            }
            wall_set(p, K::Cabinet, Normal, 1, false, rng);
            if rng.chance(0.8) {
                on_set(p, &[K::Cabinet], K::Tv, 1, rng);
            }
            wall_set(p, K::Bookshelf, Normal, count(rng, 0, 2), true, rng);
            let fl = model(K::FloorLamp, Normal, rng);
            if rng.chance(0.6) {
                let _ = p.place_wall(&fl, true, 20, rng);
            }
            wall_set(p, K::Plant, Large, count(rng, 1, 2), false, rng);
            on_set(p, &[K::CoffeeTable], K::Mug, count(rng, 0, 2), rng);
            on_set(p, &[K::Cabinet], K::Lamp, count(rng, 0, 1), rng);
            wall_set(p, K::Box, Normal, count(rng, 0, 1), false, rng);
        }
        RoomKind::Bedroom => {
            let size = if rng.chance(0.3) { Small } else { Normal };
            let bed = model(K::Bed, size, rng);
            if let Some(b) = p.place_wall(&bed, false, 40, rng) {
                let stand = model(K::Nightstand, Normal, rng);
                beside_bed(p, b, &stand, count(rng, 1, 2));
                let lamp = model(K::Lamp, Normal, rng);
                one_on_each(p, K::Nightstand, &lamp, 0.7, rng);
            }
            wall_set(p, K::Wardrobe, Normal, 1, false, rng);
            if rng.chance(0.6) {
                wall_set(p, K::Desk, Normal, 1, false, rng);
                let chair = model(K::Chair, Normal, rng);
                chairs_at_desks(p, &chair, rng);
            }
            wall_set(p, K::Bin, Normal, count(rng, 0, 1), false, rng);
            wall_set(p, K::Plant, Large, count(rng, 0, 1), false, rng);
            wall_set(p, K::Box, Normal, count(rng, 0, 2), false, rng);
            on_set(p, &[K::Nightstand, K::Desk], K::Mug, count(rng, 0, 1), rng);
            wall_set(p, K::Bookshelf, Normal, count(rng, 0, 1), false, rng);
        }
        RoomKind::MeetingRoom => {
            if let Some(t) = centre_table(p, K::Table, Large, rng) {
                let chair = model(K::Chair, Normal, rng);
                let n = count(rng, 4, 10);
                chairs_around(p, t, &chair, n, rng);
            }
            wall_set(p, K::Cabinet, Normal, count(rng, 1, 2), true, rng);
            if rng.chance(0.6) {
                on_set(p, &[K::Cabinet], K::Tv, 1, rng);
            }
            wall_set(p, K::Plant, Large, count(rng, 1, 2), rng.chance(0.5), rng);
            wall_set(p, K::Bin, Normal, count(rng, 0, 1), false, rng);
            on_set(p, &[K::Table], K::Mug, count(rng, 0, 3), rng);
        }
        RoomKind::Storage => {
            wall_set(
                p,
                K::Bookshelf,
                Normal,
                count(rng, 2, 5),
                rng.chance(0.5),
                rng,
            );
            let boxes = count(rng, 4, 9);
            let b = model(K::Box, Normal, rng);
            for i in 0..boxes {
                let m = if i % 2 == 0 {
                    b.clone()
                } else {
                    model(K::Box, Normal, rng)
                };
                if rng.chance(0.5) {
                    let _ = p.place_wall(&m, false, 20, rng);
                } else {
                    let _ = p.place_free(&m, false, 20, rng);
                }
            }
            wall_set(p, K::Cabinet, Normal, count(rng, 1, 2), false, rng);
            wall_set(p, K::Wardrobe, Normal, count(rng, 0, 1), false, rng);
            wall_set(p, K::Bin, Normal, count(rng, 0, 1), false, rng);
            let stool = model(K::Stool, Normal, rng);
            if rng.chance(0.5) {
                let _ = p.place_free(&stool, false, 20, rng);
            }
            on_set(p, &[K::Cabinet], K::Mug, count(rng, 0, 1), rng);
        }
    }
}

/// Adds one filler object (box, bin, plant, stool or a small item on a support).
fn filler(p: &mut Placer, rng: &mut Rng) {
    use ObjectKind as K;
    match rng.below(6) {
        0 => {
            let _ = p.place_free(&model(K::Box, SizeClass::Normal, rng), false, 20, rng);
        }
        1 => {
            let _ = p.place_wall(&model(K::Bin, SizeClass::Normal, rng), false, 20, rng);
        }
        2 => {
            let _ = p.place_wall(&model(K::Plant, SizeClass::Large, rng), true, 20, rng);
        }
        3 => {
            let _ = p.place_free(&model(K::Stool, SizeClass::Normal, rng), false, 20, rng);
        }
        4 => {
            let supports = [
                K::Table,
                K::Desk,
                K::Cabinet,
                K::Counter,
                K::Nightstand,
                K::CoffeeTable,
            ];
            let _ = p.place_on(&supports, &model(K::Mug, SizeClass::Small, rng), 20, rng);
        }
        _ => {
            let supports = [
                K::Table,
                K::Desk,
                K::Cabinet,
                K::Counter,
                K::Nightstand,
                K::CoffeeTable,
            ];
            let _ = p.place_on(&supports, &model(K::Plant, SizeClass::Small, rng), 20, rng);
        }
    }
}

/// Furnishes a room (whose plan, openings and `symmetric` flag are set) following
/// its kind's recipe; returns the objects sorted by id.
pub fn furnish(room: &Room, rng: &mut Rng) -> Vec<Object> {
    let mut p = Placer::new(&room.plan, &room.openings, room.symmetric);
    if room.symmetric {
        // keep space for the objects that break the symmetry
        p.max_objects = MAX_OBJECTS - 3;
    }
    recipe(&mut p, room.kind, rng);
    let mut guard = 0;
    while p.len() < MIN_OBJECTS && guard < 200 {
        filler(&mut p, rng);
        guard += 1;
    }
    if room.symmetric {
        // unique objects that break the symmetry
        p.symmetric = false;
        p.max_objects = MAX_OBJECTS;
        let n = 1 + rng.below(3);
        let mut added = 0;
        let mut tries = 0;
        while added < n && tries < 80 && p.len() < MAX_OBJECTS {
            tries += 1;
            let kinds = [
                ObjectKind::Plant,
                ObjectKind::FloorLamp,
                ObjectKind::Box,
                ObjectKind::Armchair,
                ObjectKind::Mug,
            ];
            let kind = kinds[rng.below(kinds.len())];
            let placed = match kind {
                ObjectKind::Box | ObjectKind::Armchair => {
                    p.place_free(&model(kind, SizeClass::Large, rng), false, 10, rng)
                }
                ObjectKind::Mug => {
                    let supports = [
                        ObjectKind::Table,
                        ObjectKind::Desk,
                        ObjectKind::Cabinet,
                        ObjectKind::Counter,
                    ];
                    p.place_on(&supports, &model(kind, SizeClass::Small, rng), 10, rng)
                }
                _ => p.place_wall(&model(kind, SizeClass::Large, rng), true, 10, rng),
            };
            if placed.is_some() {
                added += 1;
            }
        }
    }
    p.into_objects()
}
