//! Per-room-kind furnishing recipes built on the [`Placer`]: which objects a
//! kitchen, office, living room, bedroom, meeting room or storage room gets, how
//! chairs gather around tables and desks, and the symmetric-room variant.
//!
//! Guarantees (on top of the [`Placer`]'s layout rules): rooms get
//! [`MIN_OBJECTS`]..=[`MAX_OBJECTS`] objects; chairs around one table or at the
//! desks of one room share one model (identical chairs); in a symmetric room every
//! recipe placement has a twin turned by 180° about the room centre (sharing its
//! model), and afterwards 1–3 unique objects break the symmetry.

use std::f32::consts::{FRAC_PI_2, PI};
use std::sync::Arc;

use super::furniture::SizeClass;
use super::layout::{MAX_OBJECTS, MIN_OBJECTS, Placer, pose_xy};
use super::objects::{Object, ObjectKind, ObjectModel};
use super::props::build_model;
use super::room::{Room, RoomKind};
use crate::rng::Rng;

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
