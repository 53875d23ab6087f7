//! Rescans: the same room later, with objects moved, removed and added, plus the
//! ground-truth change list.
//!
//! Guarantees: exactly `k` primary changes are applied when the room allows it
//! (fewer only when no valid placement exists after many tries; the shortfall is
//! logged). A primary move translates a floor object by 0.2–1.5 m and/or turns it
//! by 10–180° about its vertical axis (supported objects: a new spot and/or a turn
//! on a support); objects standing on a moved support move with it and are listed
//! as `Moved` too. Tall furniture (over 1.3 m) is never moved. Every `Moved` entry exceeds the 5 cm / 1° rule
//! ([`is_moved`]); removed objects never carry others; added objects get ids never
//! used in the room (`max id of the reference + 1 + 64·(rescan − 1)` onwards).
//! Layout rules of [`super::layout`] hold after every change. The list is sorted by
//! instance id.

use std::collections::BTreeSet;
use std::f32::consts::PI;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::furniture::SizeClass;
use super::layout::{Placer, pose_xy};
use super::objects::{Object, ObjectKind};
use super::props::build_model;
use super::room::{Light, Room, RoomKind};
use crate::frame::Pose;
use crate::rng::Rng;

/// Translation above which an object counts as moved, metres.
pub const MOVE_MIN_TRANSLATION_M: f32 = 0.05;
/// Rotation above which an object counts as moved, degrees.
pub const MOVE_MIN_ROTATION_DEG: f32 = 1.0;
/// Tallest object that is ever moved (wardrobes, shelves and fridges stay put).
pub const MOVABLE_MAX_HEIGHT_M: f32 = 1.3;
/// Ids reserved for the objects added by one rescan.
pub const ADDED_ID_STRIDE: u32 = 64;

/// What happened to an instance between the reference scan and a rescan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Same object, new pose (beyond 5 cm or 1°).
    Moved,
    /// Present in the reference, absent in the rescan.
    Removed,
    /// Absent in the reference, present in the rescan (new id).
    Added,
}

/// One ground-truth change relative to the reference scan (`scan_00`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// What happened.
    pub kind: ChangeKind,
    /// The instance id.
    pub instance: u32,
    /// `T_map_object` in the reference (`None` for added objects).
    #[serde(with = "super::truth::opt_pose_rows")]
    pub T_before: Option<Pose>,
    /// `T_map_object` in the rescan (`None` for removed objects).
    #[serde(with = "super::truth::opt_pose_rows")]
    pub T_after: Option<Pose>,
    /// Distance between the object origins, metres (0 unless moved).
    pub translation_m: f32,
    /// Angle of the relative rotation, degrees (0 unless moved).
    pub rotation_deg: f32,
}

/// Translation (metres) and rotation angle (degrees) between two poses.
pub fn pose_delta(before: &Pose, after: &Pose) -> (f32, f32) {
    let t = (after.translation.vector - before.translation.vector).norm();
    let r = (before.rotation.inverse() * after.rotation)
        .angle()
        .to_degrees();
    (t, r)
}

/// True when the pose change exceeds the 5 cm / 1° rule.
pub fn is_moved(before: &Pose, after: &Pose) -> bool {
    let (t, r) = pose_delta(before, after);
    t > MOVE_MIN_TRANSLATION_M || r > MOVE_MIN_ROTATION_DEG
}

const RESCAN_STREAM: u64 = 0x5245_5343_0000_0000;

/// Builds rescan `rescan_index` (≥ 1) of `room` with `k` primary changes (`None`:
/// drawn in 2..=5). Deterministic in `(seed, room.index, rescan_index, k)`.
/// Returns the changed room and the change list (sorted by instance id).
pub fn make_rescan(
    room: &Room,
    seed: u64,
    rescan_index: usize,
    k: Option<usize>,
) -> (Room, Vec<Change>) {
    let mut rng = Rng::derive(
        seed,
        RESCAN_STREAM | ((room.index as u64) << 16) | rescan_index as u64,
    );
    let k = k.unwrap_or_else(|| 2 + rng.below(4));
    let first_new =
        room.max_id() + 1 + (rescan_index.saturating_sub(1) as u32).saturating_mul(ADDED_ID_STRIDE);
    let mut placer = Placer::from_room(room, first_new);
    let mut touched: BTreeSet<u32> = BTreeSet::new();
    let mut changes: Vec<Change> = Vec::new();
    let mut added = 0u32;
    let mut done = 0;
    let mut attempts = 0;
    while done < k && attempts < 60 * k.max(1) {
        attempts += 1;
        let roll = rng.f32();
        let ok = if roll < 0.5 {
            try_move(&mut placer, &mut touched, &mut changes, &mut rng)
        } else if roll < 0.75 {
            try_remove(&mut placer, &mut touched, &mut changes, &mut rng)
        } else if added < ADDED_ID_STRIDE {
            let ok = try_add(&mut placer, room.kind, &mut touched, &mut changes, &mut rng);
            added += ok as u32;
            ok
        } else {
            false
        };
        done += ok as usize;
    }
    if done < k {
        log::warn!(
            "{} rescan {rescan_index}: applied {done} of {k} changes",
            room.name
        );
    }
    let mut out = room.clone();
    out.objects = placer.into_objects();
    perturb_lighting(&mut out, &mut rng);
    changes.sort_by_key(|c| c.instance);
    (out, changes)
}

fn try_move(
    p: &mut Placer,
    touched: &mut BTreeSet<u32>,
    changes: &mut Vec<Change>,
    rng: &mut Rng,
) -> bool {
    let candidates: Vec<u32> = p
        .objects
        .iter()
        .filter(|o| !touched.contains(&o.id) && o.model.height() <= MOVABLE_MAX_HEIGHT_M)
        .filter(|o| o.support.is_none_or(|s| !touched.contains(&s)))
        .filter(|o| {
            p.objects
                .iter()
                .all(|c| c.support != Some(o.id) || !touched.contains(&c.id))
        })
        .map(|o| o.id)
        .collect();
    let Some(&id) = candidates.get(rng.below(candidates.len())) else {
        return false;
    };
    let Some(obj) = p.objects.iter().find(|o| o.id == id).cloned() else {
        return false;
    };
    let new_pose = match obj.support {
        None => floor_move(p, &obj, rng),
        Some(s) => supported_move(p, &obj, s, touched, rng),
    };
    let Some((new_pose, new_support)) = new_pose else {
        return false;
    };
    let before = obj.T_map_object;
    let carry = new_pose * before.inverse();
    let children: Vec<u32> = p
        .objects
        .iter()
        .filter(|o| o.support == Some(id))
        .map(|o| o.id)
        .collect();
    let befores: Vec<(u32, Pose)> = p
        .objects
        .iter()
        .filter(|o| o.id == id || children.contains(&o.id))
        .map(|o| (o.id, o.T_map_object))
        .collect();
    for o in p.objects.iter_mut() {
        if o.id == id {
            o.T_map_object = new_pose;
            o.support = new_support;
        } else if children.contains(&o.id) {
            o.T_map_object = carry * o.T_map_object;
        }
    }
    for (cid, b) in befores {
        let Some(o) = p.objects.iter().find(|o| o.id == cid) else {
            continue;
        };
        let a = o.T_map_object;
        touched.insert(cid);
        if is_moved(&b, &a) {
            let (t, r) = pose_delta(&b, &a);
            changes.push(Change {
                kind: ChangeKind::Moved,
                instance: cid,
                T_before: Some(b),
                T_after: Some(a),
                translation_m: t,
                rotation_deg: r,
            });
        }
    }
    true
}

fn floor_move(p: &Placer, obj: &Object, rng: &mut Rng) -> Option<(Pose, Option<u32>)> {
    let before = obj.T_map_object;
    for _ in 0..80 {
        let mode = rng.f32();
        let (translate, rotate) = (mode >= 0.25, !(0.25..0.6).contains(&mode));
        let mut t = nalgebra::Vector3::zeros();
        if translate {
            let a = rng.range(-PI, PI);
            let d = rng.range(0.2, 1.5);
            t = nalgebra::Vector3::new(a.cos() * d, a.sin() * d, 0.0);
        }
        let yaw = if rotate {
            rng.range(10f32.to_radians(), PI) * if rng.chance(0.5) { 1.0 } else { -1.0 }
        } else {
            0.0
        };
        let mut after = before;
        after.translation.vector += t;
        after.rotation =
            nalgebra::UnitQuaternion::from_axis_angle(&nalgebra::Vector3::z_axis(), yaw)
                * before.rotation;
        if is_moved(&before, &after) && p.floor_ok(&obj.model, &after, &[obj.id]) {
            return Some((after, None));
        }
    }
    None
}

fn supported_move(
    p: &Placer,
    obj: &Object,
    support: u32,
    touched: &BTreeSet<u32>,
    rng: &mut Rng,
) -> Option<(Pose, Option<u32>)> {
    let supports: Vec<&Object> = p
        .objects
        .iter()
        .filter(|o| o.model.support_height.is_some() && !touched.contains(&o.id))
        .collect();
    let before = obj.T_map_object;
    let (_, h) = obj.model.footprint_local();
    let r = h[0].hypot(h[1]);
    for _ in 0..60 {
        let sup = if rng.chance(0.6) {
            supports.iter().find(|o| o.id == support).copied()
        } else {
            supports.get(rng.below(supports.len())).copied()
        };
        let Some(sup) = sup else { continue };
        let (Some(top), [sx, sy]) = (sup.support_top(), sup.model.support_half) else {
            continue;
        };
        let x = rng.range(-sx + r, (sx - r).max(-sx + r));
        let y = rng.range(-sy + r, (sy - r).max(-sy + r));
        let yaw = rng.range(-PI, PI);
        let mut after = sup.T_map_object * pose_xy(x, y, 0.0, yaw);
        after.translation.vector.z = top;
        let (t, rot) = pose_delta(&before, &after);
        if (t >= 0.1 || rot >= 10.0) && p.support_ok(sup, &obj.model, &after, &[obj.id]) {
            return Some((after, Some(sup.id)));
        }
    }
    None
}

fn try_remove(
    p: &mut Placer,
    touched: &mut BTreeSet<u32>,
    changes: &mut Vec<Change>,
    rng: &mut Rng,
) -> bool {
    if p.len() <= 3 {
        return false;
    }
    let leaves: Vec<u32> = p
        .objects
        .iter()
        .filter(|o| !touched.contains(&o.id) && p.objects.iter().all(|c| c.support != Some(o.id)))
        .map(|o| o.id)
        .collect();
    let Some(&id) = leaves.get(rng.below(leaves.len())) else {
        return false;
    };
    let Some(pos) = p.objects.iter().position(|o| o.id == id) else {
        return false;
    };
    let o = p.objects.remove(pos);
    touched.insert(id);
    changes.push(Change {
        kind: ChangeKind::Removed,
        instance: id,
        T_before: Some(o.T_map_object),
        T_after: None,
        translation_m: 0.0,
        rotation_deg: 0.0,
    });
    true
}

fn try_add(
    p: &mut Placer,
    kind: RoomKind,
    touched: &mut BTreeSet<u32>,
    changes: &mut Vec<Change>,
    rng: &mut Rng,
) -> bool {
    use ObjectKind as K;
    let mut kinds = vec![
        K::Box,
        K::Bin,
        K::Chair,
        K::Plant,
        K::Mug,
        K::Lamp,
        K::Stool,
    ];
    match kind {
        RoomKind::Kitchen => kinds.push(K::Stool),
        RoomKind::Office | RoomKind::MeetingRoom => kinds.push(K::Chair),
        RoomKind::LivingRoom | RoomKind::Bedroom => kinds.push(K::Armchair),
        _ => kinds.push(K::Box),
    }
    let k = *kinds.get(rng.below(kinds.len())).unwrap_or(&K::Box);
    // an added chair is often another one of the room's set (identical model)
    let existing = p
        .objects
        .iter()
        .find(|o| o.kind() == k)
        .map(|o| o.model.clone());
    let model = match existing {
        Some(m) if k == K::Chair && rng.chance(0.7) => m,
        _ => Arc::new(build_model(
            k,
            if k.needs_support() {
                SizeClass::Small
            } else {
                SizeClass::Large
            },
            rng,
        )),
    };
    let id = if k.needs_support() || (k == K::Plant && rng.chance(0.4)) {
        let supports = [
            K::Table,
            K::Desk,
            K::Cabinet,
            K::Counter,
            K::Nightstand,
            K::CoffeeTable,
        ];
        let ids: Vec<u32> = p
            .objects
            .iter()
            .filter(|o| supports.contains(&o.kind()) && !touched.contains(&o.id))
            .map(|o| o.id)
            .collect();
        let small = if k == K::Plant {
            Arc::new(build_model(k, SizeClass::Small, rng))
        } else {
            model
        };
        p.place_on_ids(&ids, &small, 20, rng)
    } else if matches!(k, K::Plant | K::Bin) {
        p.place_wall(&model, true, 30, rng)
    } else {
        p.place_free(&model, false, 30, rng)
    };
    let Some(id) = id else {
        return false;
    };
    let Some(o) = p.objects.iter().find(|o| o.id == id) else {
        return false;
    };
    touched.insert(id);
    changes.push(Change {
        kind: ChangeKind::Added,
        instance: id,
        T_before: None,
        T_after: Some(o.T_map_object),
        translation_m: 0.0,
        rotation_deg: 0.0,
    });
    true
}

/// Slightly different lights on the day of the rescan.
fn perturb_lighting(room: &mut Room, rng: &mut Rng) {
    let a = rng.range(0.85, 1.15);
    for c in &mut room.lighting.ambient {
        *c *= a;
    }
    for l in &mut room.lighting.lights {
        let s = rng.range(0.8, 1.2);
        match l {
            Light::Directional { intensity, .. } | Light::Point { intensity, .. } => {
                for c in intensity.iter_mut() {
                    *c *= s;
                }
            }
        }
    }
}
