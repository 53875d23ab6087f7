//! The change detector: accumulates per-instance visibility evidence frame by frame
//! and associates live instances with database instances to decide Moved, Added and
//! Removed, firing each event once and retracting it when evidence turns.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use nalgebra::Point3;
use serde::Serialize;

use super::config::ChangeConfig;
use super::extent::{
    larger_than, sorted_half_extents, tight_box, tight_half_extents, volume_ratio,
};
use super::neighbors::PointGrid;
use super::visibility::instance_visibility;
use crate::db::Scene;
use crate::db::build::oriented_box;
use crate::encode::Modality;
use crate::frame::{CameraIntrinsics, DepthImage, Pose, centroid};

mod align;
mod carried;
mod moved_fit;
mod pairing;
mod piece_moved;
mod residual;

use align::{Turn, TurnAxes, TurnSearch, align, align_with_turns, object_motion};

use residual::Host;
pub use residual::RESIDUAL_ID_BIT;
pub(super) use residual::parent_of;

/// Kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// A database instance is now elsewhere.
    Moved,
    /// A live instance has no database counterpart.
    Added,
    /// A database instance is gone.
    Removed,
}

/// One change event (or its retraction).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeEvent {
    /// Event id; a retraction carries the id of the event it retracts.
    pub id: u64,
    /// Kind of change.
    pub kind: ChangeKind,
    /// Frame index at which it fired.
    pub frame: u64,
    /// Database instance id (Moved, Removed).
    pub db_instance: Option<u32>,
    /// Live instance id (Moved, Added).
    pub live_instance: Option<u32>,
    /// Where the object is now (Moved, Added) or was (Removed), map frame.
    pub position: [f32; 3],
    /// For Moved: translation of the object's own transform, metres.
    pub translation_m: f32,
    /// For Moved: rotation of the object's own transform, degrees.
    pub rotation_deg: f32,
    /// Confidence in `[0, 1]`.
    pub confidence: f32,
    /// True when this event withdraws an earlier one.
    pub retracted: bool,
}

/// A live instance as the change detector sees it: already moved into the map frame.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveObject {
    /// Live instance id.
    pub id: u32,
    /// Surface points, map frame.
    pub points_map: Vec<Point3<f32>>,
    /// Descriptor (Point modality), unit length.
    pub descriptor: Vec<f32>,
    /// Frames it was observed in.
    pub observations: u32,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Decision {
    Moved {
        db: usize,
        translation_m: f32,
        rotation_deg: f32,
        fitness: f32,
        /// The database object's points moved by this pose lie on the live
        /// object's.
        pose: Pose,
        /// Share of the database object's points so moved that have a live
        /// point near.
        coverage: f32,
    },
    Added,
    Static,
    /// Neither in place nor confidently changed: no event either way.
    Unsure,
}

/// The best score among `Moved` candidates, and of those scoring at least
/// `margin` of it, the one that moved least (the better scoring one on a tie):
/// two lookalikes that both fit a live object are told apart by the smaller
/// move. `None` without a `Moved` candidate.
fn least_moved_lookalike(candidates: &[Decision], margin: f32) -> Option<(f32, Decision)> {
    let moved = |d: &Decision| match *d {
        Decision::Moved {
            translation_m,
            fitness,
            ..
        } => Some((translation_m, fitness)),
        _ => None,
    };
    let top = candidates
        .iter()
        .filter_map(moved)
        .map(|(_, f)| f)
        .reduce(f32::max)?;
    candidates
        .iter()
        .filter_map(|d| moved(d).map(|m| (m, *d)))
        .filter(|((_, f), _)| *f >= margin * top)
        .min_by(|((ta, fa), _), ((tb, fb), _)| ta.total_cmp(tb).then(fb.total_cmp(fa)))
        .map(|(_, d)| (top, d))
}

#[derive(Debug, Clone, Default)]
struct DbTrack {
    present_frames: u32,
    absent_frames: u32,
}

#[derive(Debug, Clone)]
struct LiveTrack {
    last: Option<Decision>,
    streak: u32,
}

/// The live object's observations when the quarter turns of a (live,
/// database) pair were searched, and the turn found.
type TurnMemo = (u32, Option<Turn>);

/// Accumulates evidence for one localised scene.
#[derive(Debug, Clone)]
pub struct ChangeDetector {
    cfg: ChangeConfig,
    db: Vec<DbTrack>,
    live: BTreeMap<u32, LiveTrack>,
    /// Active (fired, not retracted) events by key.
    active: BTreeMap<(ChangeKind, u32), ChangeEvent>,
    next_id: u64,
    /// Every stored point of each database instance, indexed.
    grids: Vec<PointGrid>,
    /// The scene's structure points (walls, floor), indexed.
    structure: PointGrid,
    /// Per database instance: a piece of the room (flat patch or lying on the
    /// structure), not an object that can move or go.
    pub(super) structural: Vec<bool>,
    /// Points (a sample) of each live object standing as Added, by live id.
    added_points: BTreeMap<u32, Vec<Point3<f32>>>,
    /// Removed + Added pairs reported as one Moved: database id to live id.
    paired: BTreeMap<u32, u32>,
    /// Points (a sample) of each object standing as Moved where it is now, by
    /// database id.
    moved_points: BTreeMap<u32, Vec<Point3<f32>>>,
    /// Live objects whose residual was taken as what they carried while
    /// moved (see [`near_moved`]).
    carriers: BTreeSet<u32>,
    /// Database objects reported Moved with an object they stood on
    /// ([`ChangeDetector::carried`]), by id, with the id of that object: their
    /// new place is no piece of the carrier's live object's residual, and
    /// their move stands only while the carrier's does.
    carried_moves: BTreeMap<u32, u32>,
    /// Per (live id, database index): the live object's observations when its
    /// quarter turns were last searched, and the turn found (see
    /// [`ChangeDetector::align_pair`]).
    turns: RefCell<BTreeMap<(u32, usize), TurnMemo>>,
    /// Tight box of each database instance ([`tight_box`]).
    pub(super) tight: Vec<crate::db::OrientedBox>,
}

/// Whether a box of these half extents is a piece of the room rather than an
/// object: a flat patch (wall, floor, ceiling) or a beam (door or window frame,
/// skirting).
fn is_patch(half_extents: &nalgebra::Vector3<f32>, cfg: &ChangeConfig) -> bool {
    let mut h = [half_extents.x, half_extents.y, half_extents.z];
    h.sort_by(f32::total_cmp);
    let [small, middle, large] = h;
    let flat = small <= cfg.patch_max_half_thickness_m && large >= cfg.patch_min_half_extent_m;
    let beam = middle <= cfg.beam_max_half_width_m && large >= cfg.beam_min_half_length_m;
    flat || beam
}

/// Whether `pts` (of live object or residual piece `id`) lie within `merge` of
/// where a moved object stands now (`moved`: the live object standing as it,
/// where known, and a sample of its points). The residual of the very live
/// object standing as the moved one is no piece of it when that object is
/// one of `carriers` (its residual was taken as what it carried along).
fn near_moved(
    moved: &[(Option<u32>, Vec<Point3<f32>>)],
    carriers: &BTreeSet<u32>,
    id: u32,
    pts: &[Point3<f32>],
    merge: f32,
) -> bool {
    let parent = parent_of(id);
    let carried = id != parent && carriers.contains(&parent);
    moved
        .iter()
        .filter(|(host, _)| !(carried && *host == Some(parent)))
        .any(|(_, q)| !q.is_empty() && min_distance(pts, q) <= merge)
}

/// Smallest distance between two point sets, by brute force (both are samples).
fn min_distance(a: &[Point3<f32>], b: &[Point3<f32>]) -> f32 {
    let mut best = f32::INFINITY;
    for p in a {
        for q in b {
            best = best.min((p - q).norm_squared());
        }
    }
    best.sqrt()
}

fn sample(points: &[Point3<f32>], max: usize) -> Vec<Point3<f32>> {
    let stride = points.len().div_ceil(max.max(1)).max(1);
    points.iter().step_by(stride).copied().collect()
}

/// The largest of `scores` other than (one copy of) `best`; 0 when none.
fn second_best(scores: &[f32], best: f32) -> f32 {
    let mut skipped = false;
    let mut out = 0.0f32;
    for &s in scores {
        if !skipped && s == best {
            skipped = true;
        } else {
            out = out.max(s);
        }
    }
    out
}

/// Cell size of the point grids: the largest radius queried.
fn grid_radius(cfg: &ChangeConfig) -> f32 {
    cfg.overlap_radius_m.max(cfg.explain_radius_m)
}

impl ChangeDetector {
    /// A detector for `scene` (all evidence starts at zero).
    pub fn new(cfg: ChangeConfig, scene: &Scene) -> ChangeDetector {
        for i in &scene.instances {
            log::trace!(
                "db instance {} at {:.2?}, half extents {:.2?}, {} points",
                i.id,
                i.centroid.coords.as_slice(),
                i.bbox.half_extents.as_slice(),
                i.points.len()
            );
        }
        let structure = PointGrid::new(
            &scene.structure_points,
            grid_radius(&cfg).max(cfg.structure_radius_m),
        );
        let structural = scene
            .instances
            .iter()
            .map(|i| is_patch(&i.bbox.half_extents, &cfg))
            .collect();
        ChangeDetector {
            db: vec![DbTrack::default(); scene.instances.len()],
            live: BTreeMap::new(),
            active: BTreeMap::new(),
            next_id: 1,
            grids: scene
                .instances
                .iter()
                .map(|i| PointGrid::new(&i.points, grid_radius(&cfg)))
                .collect(),
            structure,
            structural,
            added_points: BTreeMap::new(),
            paired: BTreeMap::new(),
            moved_points: BTreeMap::new(),
            carriers: BTreeSet::new(),
            carried_moves: BTreeMap::new(),
            turns: RefCell::new(BTreeMap::new()),
            tight: scene
                .instances
                .iter()
                .map(|i| tight_box(&sample(&i.points, 400)))
                .collect(),
            cfg,
        }
    }

    /// Adds one frame's visibility evidence (depth of a frame at `T_map_camera`).
    pub fn observe_frame(
        &mut self,
        scene: &Scene,
        T_map_camera: &Pose,
        intrinsics: &CameraIntrinsics,
        depth: &DepthImage,
    ) {
        for ((track, inst), tight) in self.db.iter_mut().zip(&scene.instances).zip(&self.tight) {
            // No wider than the object is thin.
            let max_tol = tight
                .half_extents
                .min()
                .max(self.cfg.min_visibility_tolerance_m);
            let ev = instance_visibility(
                &inst.points,
                self.cfg.visibility_samples,
                T_map_camera,
                intrinsics,
                depth,
                max_tol,
            );
            if ev.decisive() < self.cfg.min_decisive_samples {
                continue;
            }
            let present = ev.present as f32 / ev.decisive() as f32;
            if present >= 0.5 {
                track.present_frames += 1;
            } else if present <= 0.3 {
                track.absent_frames += 1;
            }
        }
    }

    /// Events currently standing (fired and not retracted), sorted by kind and id.
    pub fn active_events(&self) -> Vec<ChangeEvent> {
        self.active.values().cloned().collect()
    }

    /// The point grids of the database instances whose box may come within 1 m
    /// of `c`.
    fn grids_near(&self, scene: &Scene, c: &Point3<f32>) -> Vec<&PointGrid> {
        scene
            .instances
            .iter()
            .zip(&self.grids)
            .filter(|(inst, _)| (inst.centroid - c).norm() <= inst.bbox.diagonal() + 1.0)
            .map(|(_, g)| g)
            .collect()
    }

    /// Share of `pts` within `explain_radius_m` of any database instance or of the
    /// room structure.
    fn explained_share(&self, scene: &Scene, pts: &[Point3<f32>]) -> f32 {
        if pts.is_empty() {
            return 0.0;
        }
        let rest = self
            .unexplained(scene, pts, self.cfg.explain_radius_m)
            .len();
        (pts.len() - rest) as f32 / pts.len() as f32
    }

    /// The points of `pts` further than `r` from every database instance near
    /// them and from the structure.
    fn unexplained(&self, scene: &Scene, pts: &[Point3<f32>], r: f32) -> Vec<Point3<f32>> {
        let near = self.grids_near(scene, &centroid(pts));
        pts.iter()
            .filter(|p| {
                !(near.iter().any(|g| g.any_within(p, r)) || self.structure.any_within(p, r))
            })
            .copied()
            .collect()
    }

    /// Of a sample of `pts`: whether no point is left that nothing mapped
    /// explains (see [`Self::explained_share`]), and whether those left lie
    /// mostly (`min_seen_empty_for_added`) where the scene's reference saw
    /// empty space. `None` for a scene without a seen space.
    fn seen_empty_evidence(&self, scene: &Scene, pts: &[Point3<f32>]) -> Option<(bool, bool)> {
        let space = scene.seen_space.as_ref()?;
        let pts = sample(pts, 200);
        let unexplained = self.unexplained(scene, &pts, self.cfg.explain_radius_m);
        let share = space.share_seen_empty(&unexplained);
        log::trace!(
            "{} of {} points unexplained, {share:.2} of them where the reference saw empty space",
            unexplained.len(),
            pts.len()
        );
        Some((
            unexplained.is_empty(),
            share >= self.cfg.min_seen_empty_for_added,
        ))
    }

    /// Whether a new object stands where the reference saw empty space (see
    /// [`Self::seen_empty_evidence`]); true for a scene without a seen space,
    /// false when every point is explained.
    fn where_seen_empty(&self, scene: &Scene, pts: &[Point3<f32>]) -> bool {
        self.seen_empty_evidence(scene, pts)
            .is_none_or(|(all_explained, seen)| !all_explained && seen)
    }

    /// Whether a live object taken for a moved database object stands where the
    /// reference could have seen it arrive (see [`Self::seen_empty_evidence`]).
    /// A fully explained object (one that moved within its own place) passes;
    /// one standing where the reference never looked (through a door, behind a
    /// cupboard) is unknown, not a moved object.
    fn moved_into_seen_space(&self, scene: &Scene, pts: &[Point3<f32>]) -> bool {
        self.seen_empty_evidence(scene, pts)
            .is_none_or(|(all_explained, seen)| all_explained || seen)
    }

    /// Whether the database instance's own place has been seen empty (at least
    /// `min_absent_frames / 2` frames showing the space behind it, more than frames
    /// showing its surface).
    fn seen_vacated(&self, di: usize) -> bool {
        self.db.get(di).is_some_and(|t| {
            2 * t.absent_frames >= self.cfg.min_absent_frames && t.absent_frames > t.present_frames
        })
    }

    /// Whether the database instance has been seen in its own place: in more
    /// frames than a move inferred unseen allows (`max_present_for_unseen_move`)
    /// and more often than its place was seen empty.
    fn seen_in_place(&self, di: usize) -> bool {
        self.db.get(di).is_some_and(|t| {
            t.present_frames > self.cfg.max_present_for_unseen_move
                && t.present_frames > t.absent_frames
        })
    }

    /// Whether the database instance's own place has (almost) never been seen
    /// occupied: at most `max_present_for_unseen_move` frames showed its surface.
    fn not_seen_present(&self, di: usize) -> bool {
        self.db
            .get(di)
            .is_some_and(|t| t.present_frames <= self.cfg.max_present_for_unseen_move)
    }

    /// Share of `live` points within `overlap_radius_m` of database instance
    /// `di` moved by `T` (the live points taken back by `T`'s inverse).
    fn share_on_moved(&self, di: usize, T: &Pose, live: &[Point3<f32>]) -> f32 {
        let inv: Vec<Point3<f32>> = live.iter().map(|p| T.inverse() * p).collect();
        self.grids
            .get(di)
            .map_or(0.0, |g| g.share_within(&inv, self.cfg.overlap_radius_m))
    }

    /// Whether a live object that lies partly on database instance `di`
    /// (`share` of its points) lies on it clearly better once the instance is
    /// moved by more than the Moved thresholds: a short move that leaves the
    /// object overlapping its old place.
    fn fits_better_moved(
        &self,
        inst: &crate::db::DbInstance,
        di: usize,
        obj: &LiveObject,
        live: &[Point3<f32>],
        share: f32,
    ) -> bool {
        if self.structural.get(di).copied().unwrap_or(true) {
            return false;
        }
        let db_pts = sample(&inst.points, 400);
        let (T, _) = self.align_pair(
            obj.id,
            obj.observations,
            di,
            inst,
            &db_pts,
            live,
            Pose::identity(),
        );
        let e = object_motion(&T, &inst.centroid);
        if !self.moves(&e) {
            return false;
        }
        let fit = self.share_on_moved(di, &T, live);
        log::trace!(
            "db {} in place {share:.2}, moved {:.2} m {:.1} deg fits {fit:.2}",
            inst.id,
            e.translation_m,
            e.rotation_deg
        );
        fit >= self.cfg.min_moved_in_place_fit && fit >= share + self.cfg.moved_in_place_gain
    }

    /// [`align_with_turns`] of database object `di`'s points `db_pts` onto live
    /// object `live_id`'s points from `init`; for a live object whose centroid
    /// lies within the database object's largest half extent of its old one,
    /// all quarter turns are searched once per `turn_search_every`
    /// observations of the live object, and in between only the turn found
    /// last; for any other, none.
    fn align_pair(
        &self,
        live_id: u32,
        observations: u32,
        di: usize,
        inst: &crate::db::DbInstance,
        db_pts: &[Point3<f32>],
        live: &[Point3<f32>],
        init: Pose,
    ) -> (Pose, f32) {
        // Only an object standing about where it was (its centroid within its
        // own largest half extent of the old one), or one whose old place has
        // been seen empty (it may be here, turned), is searched for a turn.
        let key = (live_id, di);
        let search = if (centroid(live) - inst.centroid).norm() > inst.bbox.half_extents.max()
            && !self.seen_vacated(di)
        {
            TurnSearch::Known(None)
        } else {
            match self.turns.borrow().get(&key).copied() {
                Some((seen, turn)) if observations < seen + self.cfg.turn_search_every => {
                    TurnSearch::Known(turn)
                }
                _ => TurnSearch::All,
            }
        };
        // About the axes of its tight box, which stand upright where the PCA
        // box of a partly seen or long object leans.
        let about = self.tight.get(di).map_or_else(
            || TurnAxes::of(inst),
            |b| TurnAxes {
                axes: b.rotation,
                centre: inst.centroid,
            },
        );
        let (T, fit, turn) = align_with_turns(
            db_pts,
            live,
            init,
            &about,
            self.cfg.overlap_radius_m,
            self.cfg.turn_search_below_fit,
            search,
            &|T: &Pose| self.share_on_moved(di, T, live),
        );
        if search == TurnSearch::All {
            self.turns.borrow_mut().insert(key, (observations, turn));
        }
        (T, fit)
    }

    /// Whether a live object is a piece of the room: a flat patch or beam, or
    /// mostly (`max_structure_share`) near the mapped structure.
    fn is_room_piece(&self, obj: &LiveObject) -> bool {
        let half = oriented_box(&obj.points_map).half_extents;
        let on_structure = self
            .structure
            .share_within(&sample(&obj.points_map, 200), self.cfg.structure_radius_m);
        let piece = is_patch(&half, &self.cfg) || on_structure >= self.cfg.max_structure_share;
        if piece {
            log::trace!(
                "live {}: a piece of the room (half extents {:.2?}, {on_structure:.2} on the structure)",
                obj.id,
                half.as_slice()
            );
        }
        piece
    }

    /// The points of `pts` (a live object's sample) for measuring its size:
    /// those further than `size_plane_margin_m` from the plane of their nearest
    /// mapped structure point (within `structure_radius_m`), or all of them
    /// when fewer than half are.
    fn off_structure(&self, scene: &Scene, pts: &[Point3<f32>]) -> Vec<Point3<f32>> {
        let margin = self.cfg.size_plane_margin_m;
        if margin <= 0.0 {
            return pts.to_vec();
        }
        let on_plane = |p: &Point3<f32>| {
            self.structure
                .nearest_within(p, self.cfg.structure_radius_m)
                .and_then(|(i, _)| {
                    let q = scene.structure_points.get(i)?;
                    let n = scene.structure_normals.get(i)?;
                    Some(n.dot(&(p - q)).abs() <= margin)
                })
                .unwrap_or(false)
        };
        let off: Vec<Point3<f32>> = pts.iter().filter(|p| !on_plane(p)).copied().collect();
        if 2 * off.len() < pts.len() {
            pts.to_vec()
        } else {
            off
        }
    }

    /// Decides for one live object; `in_place` says whether its surface lies on
    /// some database instance and `room_piece` whether it is a piece of the room
    /// (both computed once per update by the caller).
    fn decide(
        &self,
        scene: &Scene,
        obj: &LiveObject,
        in_place: bool,
        room_piece: bool,
        claimed: &[bool],
    ) -> Decision {
        if in_place {
            return Decision::Static;
        }
        if room_piece {
            // A piece of wall or floor is neither a new nor a moved object.
            return Decision::Unsure;
        }
        let live = sample(&obj.points_map, 200);
        let live_grid = PointGrid::new(&obj.points_map, grid_radius(&self.cfg));
        let c = centroid(&live);
        // Elsewhere: the descriptor matches that are not claimed in place and
        // could be this object, moved.
        let mut candidates: Vec<Decision> = Vec::new();
        let mut similar = false;
        let mut new_here: Option<bool> = None;
        let mut unseen_best = 0.0f32;
        let mut scores: Vec<f32> = Vec::new();
        let live_half = oriented_box(&obj.points_map).half_extents;
        let live_half_min = live_half.min();
        let live_tight = tight_half_extents(&self.off_structure(scene, &live));
        for (di, inst) in scene.instances.iter().enumerate() {
            if claimed.get(di).copied().unwrap_or(true)
                || self.structural.get(di).copied().unwrap_or(true)
            {
                continue;
            }
            let Some(d) = inst.descriptor(Modality::Point) else {
                continue;
            };
            let sim: f32 = d.iter().zip(&obj.descriptor).map(|(a, b)| a * b).sum();
            // An object standing partly in the database object's own place,
            // within reach of a near move, may be it turned or shifted and seen
            // from a new side: a lower similarity will do.
            let near_old_place = || {
                (inst.centroid - c).norm() <= self.near_reach(inst)
                    && self.share_on_old(di, &live) >= self.cfg.near_move_min_overlap
            };
            if sim < self.cfg.min_similarity
                && !(sim >= self.cfg.near_min_similarity && near_old_place())
            {
                if sim > 0.6 {
                    log::trace!(
                        "live {} at {:.2?}: db {} sim {sim:.2} too low",
                        obj.id,
                        c.coords.as_slice(),
                        inst.id
                    );
                }
                continue;
            }
            // A live object clearly larger than the database object is not that
            // object moved (a chair is no moved box, however alike their
            // descriptors); a partial view may be smaller.
            let db_tight = self.tight_half(di);
            if self.too_large(&live_tight, &db_tight) {
                log::trace!(
                    "live {} at {:.2?}: db {} sim {sim:.2}, but the live object is larger ({live_tight:.2?} against {db_tight:.2?})",
                    obj.id,
                    c.coords.as_slice(),
                    inst.id
                );
                continue;
            }
            // Looks like a mapped object whose place is not confirmed occupied: if
            // it does not align, it may be that object, moved and seen partially
            // (a place never seen: only within reach of a move inferred unseen).
            if self.seen_vacated(di)
                || (self.not_seen_present(di)
                    && (inst.centroid - c).norm() <= self.cfg.max_unseen_move_m)
            {
                similar = true;
            }
            let db_pts = sample(&inst.points, 400);
            // The live-side share (a partial live view covers part of the object
            // only), and the database side covered (a small fragment fits
            // somewhere on almost any object).
            let moved_fit::MovedFit {
                pose: T,
                fit_live,
                coverage,
                motion: e,
            } = self.fit_moved(obj, di, inst, &db_pts, &live, &live_grid);
            log::trace!(
                "live {} at {:.2?} (obs {}): db {} sim {sim:.2} fit {fit_live:.2} cov {coverage:.2} t {:.2} r {:.0} present {} absent {}",
                obj.id,
                c.coords.as_slice(),
                obj.observations,
                inst.id,
                e.translation_m,
                e.rotation_deg,
                self.db.get(di).map_or(0, |t| t.present_frames),
                self.db.get(di).map_or(0, |t| t.absent_frames)
            );
            // A patch of wall, floor or ceiling is not an object.
            let solid = inst.bbox.half_extents.min() >= self.cfg.min_half_thickness_m
                && live_half_min >= self.cfg.min_half_thickness_m;
            if !solid || fit_live < 0.6 || coverage < self.cfg.min_moved_coverage {
                continue;
            }
            if !self.moves(&e) {
                continue;
            }
            // An object that left its place must have been seen gone from there
            // (unless it moved by less than its own size, when old and new places
            // overlap): a lookalike elsewhere is not enough.
            let half = inst.bbox.half_extents.max();
            let near_limit = self.near_reach(inst);
            let near = if e.translation_m <= near_limit
                && !self.not_seen_present(di)
                && self.share_on_old(di, &live) >= self.cfg.near_move_min_overlap
            {
                near_limit
            } else {
                half
            };
            // ... or, when its old place has never been seen occupied either, the
            // live object must stand where the database has nothing (something new
            // is here) and match the instance closely.
            let unseen_move = self.not_seen_present(di)
                && e.translation_m <= self.cfg.max_unseen_move_m
                && fit_live >= self.cfg.min_unseen_move_fit
                && coverage >= self.cfg.min_unseen_move_coverage
                && *new_here.get_or_insert_with(|| {
                    self.explained_share(scene, &obj.points_map) <= self.cfg.max_explained_for_added
                });
            if e.translation_m > near && !self.seen_vacated(di) && !unseen_move {
                // Still too much like a mapped object to be called new, unless
                // that object cannot be the one seen here: it was seen in its
                // own place, or it is further than any move inferred unseen.
                if !self.seen_in_place(di) && e.translation_m <= self.cfg.max_unseen_move_m {
                    similar = true;
                }
                continue;
            }
            scores.push(fit_live * sim);
            if e.translation_m > near && !self.seen_vacated(di) {
                unseen_best = unseen_best.max(fit_live * sim);
            }
            candidates.push(Decision::Moved {
                db: di,
                translation_m: e.translation_m,
                rotation_deg: e.rotation_deg,
                fitness: fit_live * sim,
                pose: T,
                coverage,
            });
        }
        if let Some((top, b)) = least_moved_lookalike(&candidates, self.cfg.lookalike_margin) {
            // A move inferred without seeing the old place needs one clear match: two
            // lookalikes that fit about as well leave it open.
            let ambiguous = unseen_best >= top
                && second_best(&scores, top) >= self.cfg.unseen_move_margin * top;
            if !ambiguous {
                return b;
            }
            similar = true;
        }
        // Added only for an object the database does not explain at all, and not
        // for one resembling a database object that failed to align (likely that
        // object moved, seen partially).
        let explained = self.explained_share(scene, &obj.points_map);
        log::trace!(
            "live {}: similar {similar}, explained {explained:.2}, half extents {:.2?}",
            obj.id,
            live_half.as_slice()
        );
        if similar || explained > self.cfg.max_explained_for_added {
            return Decision::Unsure;
        }
        // A flat piece (the top of a nightstand seen from above, the back of a
        // chair) may be anything, moved or not: a new object is seen solid.
        if live_tight[0] < self.cfg.min_added_half_thickness_m {
            log::trace!(
                "live {}: too thin for a new object ({live_tight:.2?})",
                obj.id
            );
            return Decision::Unsure;
        }
        Decision::Added
    }

    /// Associates the live objects with the scene and updates the events. Returns the
    /// events fired or retracted by this call.
    pub fn update(&mut self, frame: u64, scene: &Scene, lives: &[LiveObject]) -> Vec<ChangeEvent> {
        let mut out = Vec::new();
        let stable: Vec<&LiveObject> = lives
            .iter()
            .filter(|o| o.observations >= self.cfg.min_observations && o.points_map.len() >= 10)
            .collect();
        // Turns remembered for live objects no longer taking part are dropped.
        let mut ids: Vec<u32> = stable.iter().map(|o| o.id).collect();
        ids.sort_unstable();
        self.turns
            .get_mut()
            .retain(|(l, _), _| ids.binary_search(l).is_ok());
        // Database instances explained in place by some live object, and which live
        // objects are in place (one overlap test per nearby pair).
        let mut claimed = vec![false; scene.instances.len()];
        let mut in_place = vec![false; stable.len()];
        // The database instance each live object is most in place with.
        let mut own: Vec<Option<(usize, f32)>> = vec![None; stable.len()];
        // The database instances each live object lies on with at least
        // `partial_host_share` of its points.
        let mut lies_on: Vec<Vec<usize>> = vec![Vec::new(); stable.len()];
        for (oi, obj) in stable.iter().enumerate() {
            let live = sample(&obj.points_map, 200);
            let c = centroid(&live);
            for (di, inst) in scene.instances.iter().enumerate() {
                if (inst.centroid - c).norm() > inst.bbox.diagonal() + 0.5 {
                    continue;
                }
                let share = self
                    .grids
                    .get(di)
                    .map_or(0.0, |g| g.share_within(&live, self.cfg.overlap_radius_m));
                if share >= self.cfg.partial_host_share
                    && let Some(on) = lies_on.get_mut(oi)
                {
                    on.push(di);
                }
                if share >= self.cfg.static_overlap
                    && !(share < self.cfg.sure_in_place_overlap
                        && self.fits_better_moved(inst, di, obj, &live, share))
                    && !self.vacated_under_part(inst, di, obj)
                {
                    if let Some(c) = claimed.get_mut(di) {
                        *c = true;
                    }
                    if let Some(p) = in_place.get_mut(oi) {
                        *p = true;
                    }
                    if let Some(o) = own.get_mut(oi)
                        && o.is_none_or(|(_, best)| share > best)
                    {
                        *o = Some((di, share));
                    }
                }
            }
        }
        let mut moved_db = vec![false; scene.instances.len()];
        // Pieces of the room among the objects not in place.
        let room_piece: Vec<bool> = stable
            .iter()
            .zip(&in_place)
            .map(|(obj, &placed)| !placed && self.is_room_piece(obj))
            .collect();
        let mut decisions: Vec<Decision> = stable
            .iter()
            .zip(in_place.iter().zip(&room_piece))
            .map(|(obj, (&placed, &piece))| self.decide(scene, obj, placed, piece, &claimed))
            .collect();
        // Residual pieces of the objects in place (or partly in place), of
        // pieces of the room (an object standing against a wall fused with it)
        // and of moved objects (a mug carried on a nightstand) take part as new
        // objects, or together as one mapped object moved a short way (an
        // object without one withdraws its piece's Added).
        let mut residuals: Vec<LiveObject> = Vec::new();
        let mut residual_decisions: Vec<Decision> = Vec::new();
        for (oi, obj) in stable.iter().enumerate() {
            let own = own.get(oi).copied().flatten().map(|(di, _)| di);
            let (min_points, host) = if in_place.get(oi).copied().unwrap_or(false) {
                (self.cfg.min_residual_points, Host::InPlace(own))
            } else if room_piece.get(oi).copied().unwrap_or(false) {
                (self.cfg.min_room_residual_points, Host::InPlace(own))
            } else if let Some(Decision::Unsure) = decisions.get(oi)
                && let Some(di) = self.partial_host(scene, obj, lies_on.get(oi).map_or(&[], |v| v))
            {
                // Neither in place nor changed, but a database object stands
                // whole within it (a new chair fused with the box beside it):
                // that object is in place, and the rest is what is new.
                if let Some(c) = claimed.get_mut(di) {
                    *c = true;
                }
                (self.cfg.min_residual_points, Host::InPlace(Some(di)))
            } else if let Some(&Decision::Moved {
                db, pose, coverage, ..
            }) = decisions.get(oi)
                && coverage >= self.cfg.min_residual_host_coverage
                && self.moved_into_seen_space(scene, &obj.points_map)
            {
                self.carriers.insert(obj.id);
                (self.cfg.min_residual_points, Host::Moved { db, pose })
            } else {
                continue;
            };
            let pieces = self.residuals(scene, obj, host, min_points);
            // Pieces that are together a mapped object moved a short way are one
            // moved object (as piece 0); others are new.
            let moved = match host {
                Host::InPlace(own) if !pieces.is_empty() => {
                    self.pieces_moved(scene, obj, own, &pieces, &claimed)
                }
                _ => None,
            };
            let kept = if let Some(d) = moved {
                residuals.push(LiveObject {
                    id: obj.id | RESIDUAL_ID_BIT,
                    points_map: pieces.into_iter().flat_map(|p| p.points_map).collect(),
                    descriptor: Vec::new(),
                    observations: obj.observations,
                });
                residual_decisions.push(d);
                0
            } else {
                residual_decisions.extend(pieces.iter().map(|_| Decision::Added));
                let n = pieces.len();
                residuals.extend(pieces);
                n
            };
            for k in kept..residual::MAX_PIECES {
                let id = obj.id | RESIDUAL_ID_BIT | ((k as u32) << 28);
                self.retract(ChangeKind::Added, id, frame, &mut out);
            }
        }
        decisions.extend(residual_decisions);
        let stable: Vec<&LiveObject> = stable.iter().copied().chain(residuals.iter()).collect();
        // New only where the reference looked through empty space: elsewhere it
        // may be a part of the room the reference never saw.
        for (obj, d) in stable.iter().zip(decisions.iter_mut()) {
            let unknown = match d {
                Decision::Added => !self.where_seen_empty(scene, &obj.points_map),
                Decision::Moved { .. } => !self.moved_into_seen_space(scene, &obj.points_map),
                _ => false,
            };
            if unknown {
                *d = Decision::Unsure;
            }
        }
        // Where moved objects stand now (this round's and paired ones, with the
        // live object that stands as each): a piece of one of them is not a new
        // object, unless it is the residual of that very live object (what the
        // moved object does not explain of it).
        let moved_here: Vec<(Option<u32>, Vec<Point3<f32>>)> = stable
            .iter()
            .zip(&decisions)
            .filter(|(obj, d)| {
                matches!(d, Decision::Moved { .. }) || self.paired.values().any(|l| *l == obj.id)
            })
            .map(|(obj, _)| (Some(obj.id), sample(&obj.points_map, 200)))
            .chain(self.moved_points_by_live())
            .collect();

        for (obj, &d) in stable.iter().zip(&decisions) {
            log::trace!(
                "live {} at {:.2?} ({} points, obs {}): {d:?}",
                obj.id,
                centroid(&obj.points_map).coords.as_slice(),
                obj.points_map.len(),
                obj.observations
            );
            let track = self.live.entry(obj.id).or_insert(LiveTrack {
                last: None,
                streak: 0,
            });
            let same = match (track.last, d) {
                (Some(Decision::Moved { db: a, .. }), Decision::Moved { db: b, .. }) => a == b,
                (Some(a), b) => std::mem::discriminant(&a) == std::mem::discriminant(&b),
                (None, _) => false,
            };
            track.streak = if same { track.streak + 1 } else { 1 };
            track.last = Some(d);
            let confirmed = track.streak >= self.cfg.confirmations;
            let pos = centroid(&obj.points_map);
            match d {
                Decision::Moved {
                    db,
                    translation_m,
                    rotation_deg,
                    fitness,
                    ..
                } => {
                    if let Some(m) = moved_db.get_mut(db) {
                        *m = true;
                    }
                    let id = scene.instances.get(db).map(|i| i.id).unwrap_or(0);
                    if confirmed
                        && !self.active.contains_key(&(ChangeKind::Moved, id))
                        && self.wins_place(id, &obj.points_map, fitness, frame, &mut out)
                    {
                        let mut e = self.event(
                            ChangeKind::Moved,
                            frame,
                            Some(id),
                            Some(obj.id),
                            pos,
                            fitness,
                        );
                        e.translation_m = translation_m;
                        e.rotation_deg = rotation_deg;
                        self.fire(e, &mut out);
                        self.moved_points.insert(id, sample(&obj.points_map, 200));
                    }
                    self.retract(ChangeKind::Added, obj.id, frame, &mut out);
                    self.retract(ChangeKind::Removed, id, frame, &mut out);
                }
                Decision::Added => {
                    let paired = self.paired.values().any(|l| *l == obj.id);
                    let pts = sample(&obj.points_map, 200);
                    let part_of_moved = near_moved(
                        &moved_here,
                        &self.carriers,
                        obj.id,
                        &pts,
                        self.cfg.added_merge_m,
                    );
                    if part_of_moved {
                        self.retract(ChangeKind::Added, obj.id, frame, &mut out);
                    } else if confirmed
                        && !paired
                        && !self.active.contains_key(&(ChangeKind::Added, obj.id))
                    {
                        // A piece of an object already reported Added is not another.
                        let part_of_reported = self
                            .added_points
                            .values()
                            .any(|q| min_distance(&pts, q) <= self.cfg.added_merge_m);
                        if !part_of_reported {
                            let conf = (obj.observations as f32 / 20.0).min(1.0);
                            let e =
                                self.event(ChangeKind::Added, frame, None, Some(obj.id), pos, conf);
                            self.fire(e, &mut out);
                            self.added_points.insert(obj.id, pts);
                        }
                    }
                }
                Decision::Static | Decision::Unsure => {
                    self.retract(ChangeKind::Added, obj.id, frame, &mut out)
                }
            }
        }
        // An object reported Added before a move next to it was known is a
        // piece of the moved object.
        let moved_now = self.moved_points_by_live();
        let pieces: Vec<u32> = self
            .added_points
            .iter()
            .filter(|(id, pts)| {
                let m = self.cfg.added_merge_m;
                near_moved(&moved_here, &self.carriers, **id, pts, m)
                    || near_moved(&moved_now, &self.carriers, **id, pts, m)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in pieces {
            self.retract(ChangeKind::Added, id, frame, &mut out);
        }
        self.withdraw_moves_seen_in_place(frame, scene, &mut out);
        // The objects standing as Moved (reported so) this round, which may
        // have carried others.
        let moving: Vec<(usize, Pose, u32)> = stable
            .iter()
            .zip(&decisions)
            .filter_map(|(obj, d)| match *d {
                Decision::Moved { db, pose, .. } => {
                    let id = scene.instances.get(db)?.id;
                    let e = self.active.get(&(ChangeKind::Moved, id))?;
                    (e.live_instance == Some(obj.id)).then_some((db, pose, obj.id))
                }
                _ => None,
            })
            .collect();
        let mut live_grid: Option<PointGrid> = None;
        // Removed: seen through repeatedly, never confirmed present, not explained.
        for (di, inst) in scene.instances.iter().enumerate() {
            let Some(t) = self.db.get(di) else { continue };
            if self.structural.get(di).copied().unwrap_or(true) {
                continue;
            }
            let gone = t.absent_frames >= self.cfg.min_absent_frames
                && t.absent_frames >= 2 * t.present_frames
                && !claimed.get(di).copied().unwrap_or(false)
                && !moved_db.get(di).copied().unwrap_or(false);
            // Gone from a moved object it stood on: moved with it.
            if gone
                && !moving.is_empty()
                && !self.active.contains_key(&(ChangeKind::Moved, inst.id))
            {
                let grid = live_grid.get_or_insert_with(|| {
                    let pts: Vec<Point3<f32>> = stable
                        .iter()
                        .flat_map(|o| o.points_map.iter().copied())
                        .collect();
                    PointGrid::new(&pts, grid_radius(&self.cfg))
                });
                if let Some(c) = self.carried(scene, di, &moving, grid) {
                    self.retract(ChangeKind::Removed, inst.id, frame, &mut out);
                    let mut e = self.event(
                        ChangeKind::Moved,
                        frame,
                        Some(inst.id),
                        Some(c.live),
                        c.pose * inst.centroid,
                        c.share,
                    );
                    e.translation_m = c.motion.translation_m;
                    e.rotation_deg = c.motion.rotation_deg;
                    log::trace!(
                        "db {}: moved with db {}",
                        inst.id,
                        scene.instances.get(c.by).map_or(0, |i| i.id)
                    );
                    self.fire(e, &mut out);
                    let there: Vec<Point3<f32>> = sample(&inst.points, 200)
                        .iter()
                        .map(|p| c.pose * p)
                        .collect();
                    // What was reported new where it stands now is it.
                    let pieces: Vec<u32> = self
                        .added_points
                        .iter()
                        .filter(|(_, q)| min_distance(q, &there) <= self.cfg.added_merge_m)
                        .map(|(id, _)| *id)
                        .collect();
                    for id in pieces {
                        self.retract(ChangeKind::Added, id, frame, &mut out);
                    }
                    self.moved_points.insert(inst.id, there);
                    if let Some(by) = scene.instances.get(c.by) {
                        self.carried_moves.insert(inst.id, by.id);
                    }
                    continue;
                }
            }
            log::trace!(
                "db {}: absent {} present {} claimed {} moved {}: gone {gone}",
                inst.id,
                t.absent_frames,
                t.present_frames,
                claimed.get(di).copied().unwrap_or(false),
                moved_db.get(di).copied().unwrap_or(false)
            );
            let key = (ChangeKind::Removed, inst.id);
            if gone
                && !self.active.contains_key(&key)
                && !self.active.contains_key(&(ChangeKind::Moved, inst.id))
            {
                let conf = (t.absent_frames as f32
                    / (t.absent_frames + t.present_frames + 4) as f32)
                    .min(1.0);
                let e = self.event(
                    ChangeKind::Removed,
                    frame,
                    Some(inst.id),
                    None,
                    inst.centroid,
                    conf,
                );
                self.fire(e, &mut out);
            } else if !gone
                && self.active.contains_key(&key)
                && claimed.get(di).copied().unwrap_or(false)
            {
                self.retract(ChangeKind::Removed, inst.id, frame, &mut out);
            }
        }
        self.pair_removed_with_added(frame, scene, &stable, &claimed, &mut out);
        out
    }

    /// Withdraws the Moved events of database objects since seen in their old
    /// place ([`ChangeDetector::seen_in_place`]) by a move that took them clear
    /// of it (beyond near-move reach): the object never left, and what stands
    /// as it moved is a lookalike (a move inferred before the old place was in
    /// view).
    fn withdraw_moves_seen_in_place(
        &mut self,
        frame: u64,
        scene: &Scene,
        out: &mut Vec<ChangeEvent>,
    ) {
        let stale: Vec<u32> = self
            .active
            .iter()
            .filter(|((kind, _), _)| *kind == ChangeKind::Moved)
            .filter_map(|((_, id), e)| {
                let di = scene.instances.iter().position(|i| i.id == *id)?;
                let clear = e.translation_m > self.near_reach(scene.instances.get(di)?);
                (self.seen_in_place(di) && clear).then_some(*id)
            })
            .collect();
        for id in stale {
            log::trace!("db {id}: its old place is seen occupied, Moved withdrawn");
            self.paired.remove(&id);
            self.retract(ChangeKind::Moved, id, frame, out);
        }
    }

    /// The database instance a live object not in place stands partly as: of
    /// those it lies on with at least `partial_host_share` of its points
    /// (`lies_on`), the non-structural one with the largest share of its own
    /// points within `overlap_radius_m` of the live points, where that is at
    /// least `partial_host_coverage`.
    fn partial_host(&self, scene: &Scene, obj: &LiveObject, lies_on: &[usize]) -> Option<usize> {
        let mut grid: Option<PointGrid> = None;
        let mut best: Option<(usize, f32)> = None;
        for &di in lies_on {
            let Some(inst) = scene.instances.get(di) else {
                continue;
            };
            if self.structural.get(di).copied().unwrap_or(true) {
                continue;
            }
            let g =
                grid.get_or_insert_with(|| PointGrid::new(&obj.points_map, grid_radius(&self.cfg)));
            let cover = g.share_within(&sample(&inst.points, 400), self.cfg.overlap_radius_m);
            log::trace!("live {}: db {} covered {cover:.2}", obj.id, inst.id);
            if cover >= self.cfg.partial_host_coverage && best.is_none_or(|(_, b)| cover > b) {
                best = Some((di, cover));
            }
        }
        best.map(|(di, _)| di)
    }

    /// Whether database instance `di` had its place seen empty in at least
    /// `min_absent_frames` frames and occupied in none, and live object `obj`
    /// covers less than `partial_host_coverage` of its points: the live object
    /// then lies on a part of it only (the seat of a chair turned round where
    /// it stood), which does not make it in place.
    fn vacated_under_part(
        &self,
        inst: &crate::db::DbInstance,
        di: usize,
        obj: &LiveObject,
    ) -> bool {
        let vacated = self.db.get(di).is_some_and(|t| {
            t.absent_frames >= self.cfg.min_absent_frames && t.present_frames == 0
        });
        if !vacated {
            return false;
        }
        let grid = PointGrid::new(&obj.points_map, grid_radius(&self.cfg));
        let cover = grid.share_within(&sample(&inst.points, 400), self.cfg.overlap_radius_m);
        log::trace!(
            "db {} seen vacated, covered {cover:.2} by live {}",
            inst.id,
            obj.id
        );
        cover < self.cfg.partial_host_coverage
    }

    /// Where the objects reported Moved stand now: the live object standing as
    /// each (where known) and a sample of its points.
    fn moved_points_by_live(&self) -> Vec<(Option<u32>, Vec<Point3<f32>>)> {
        self.moved_points
            .iter()
            .map(|(db, q)| {
                let live = self
                    .active
                    .get(&(ChangeKind::Moved, *db))
                    .and_then(|e| e.live_instance)
                    .filter(|_| !self.carried_moves.contains_key(db));
                (live, q.clone())
            })
            .collect()
    }

    /// Whether a move of database object `id` to where `points` are, with
    /// `fitness`, may stand: one place holds one object, so another object
    /// standing as Moved onto the same surface (half of these points within
    /// `overlap_radius_m` of its points) keeps its event if it fitted at least
    /// as well, and is withdrawn otherwise.
    fn wins_place(
        &mut self,
        id: u32,
        points: &[Point3<f32>],
        fitness: f32,
        frame: u64,
        out: &mut Vec<ChangeEvent>,
    ) -> bool {
        let pts = sample(points, 200);
        let r = self.cfg.overlap_radius_m;
        let rivals: Vec<u32> = self
            .moved_points
            .iter()
            .filter(|(other, q)| **other != id && PointGrid::new(q, r).share_within(&pts, r) >= 0.5)
            .map(|(other, _)| *other)
            .collect();
        let stronger = rivals.iter().any(|o| {
            self.active
                .get(&(ChangeKind::Moved, *o))
                .is_some_and(|e| e.confidence >= fitness)
        });
        if stronger {
            log::trace!("db {id}: its new place is taken by a better moved object");
            return false;
        }
        for o in rivals {
            log::trace!("db {o}: moved there withdrawn, db {id} fits better");
            self.paired.remove(&o);
            self.retract(ChangeKind::Moved, o, frame, out);
        }
        true
    }

    fn event(
        &mut self,
        kind: ChangeKind,
        frame: u64,
        db_instance: Option<u32>,
        live_instance: Option<u32>,
        position: Point3<f32>,
        confidence: f32,
    ) -> ChangeEvent {
        let id = self.next_id;
        self.next_id += 1;
        ChangeEvent {
            id,
            kind,
            frame,
            db_instance,
            live_instance,
            position: [position.x, position.y, position.z],
            translation_m: 0.0,
            rotation_deg: 0.0,
            confidence: confidence.clamp(0.0, 1.0),
            retracted: false,
        }
    }

    fn fire(&mut self, e: ChangeEvent, out: &mut Vec<ChangeEvent>) {
        let key = match e.kind {
            ChangeKind::Added => e.live_instance.unwrap_or(0),
            _ => e.db_instance.unwrap_or(0),
        };
        self.active.insert((e.kind, key), e.clone());
        out.push(e);
    }

    fn retract(&mut self, kind: ChangeKind, key: u32, frame: u64, out: &mut Vec<ChangeEvent>) {
        match kind {
            ChangeKind::Added => {
                self.added_points.remove(&key);
            }
            ChangeKind::Moved => {
                self.moved_points.remove(&key);
                self.carried_moves.remove(&key);
            }
            ChangeKind::Removed => {}
        }
        if let Some(mut e) = self.active.remove(&(kind, key)) {
            e.retracted = true;
            e.frame = frame;
            out.push(e);
        }
        // What moved with a moved object that turns out not to have moved did
        // not move with it either.
        if kind == ChangeKind::Moved {
            let riders: Vec<u32> = self
                .carried_moves
                .iter()
                .filter(|(_, by)| **by == key)
                .map(|(id, _)| *id)
                .collect();
            for id in riders {
                self.retract(ChangeKind::Moved, id, frame, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Decision, least_moved_lookalike};

    #[test]
    fn the_least_moved_of_candidates_that_fit_about_as_well_is_taken() {
        let m = |db, translation_m, fitness| Decision::Moved {
            db,
            translation_m,
            rotation_deg: 0.0,
            fitness,
            pose: super::Pose::identity(),
            coverage: 1.0,
        };
        assert_eq!(least_moved_lookalike(&[], 0.9), None);
        assert_eq!(
            least_moved_lookalike(&[Decision::Added, Decision::Unsure], 0.9),
            None
        );
        // Within the margin the smaller move wins; the top score is reported.
        let c = [m(0, 2.6, 0.89), m(1, 1.1, 0.85), m(2, 0.4, 0.5)];
        assert_eq!(
            least_moved_lookalike(&c, 0.9),
            Some((0.89, m(1, 1.1, 0.85)))
        );
        // A much poorer fit is no lookalike, however near.
        assert_eq!(
            least_moved_lookalike(&c, 0.99),
            Some((0.89, m(0, 2.6, 0.89)))
        );
    }
}
