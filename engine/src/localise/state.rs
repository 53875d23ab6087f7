//! The relocalisation state machine: Lost → Candidate → Localised, with hysteresis,
//! a minimum-inlier gate and recovery when a fix turns out wrong.
//!
//! It consumes, once per evaluation, the best *verified* hypothesis (if any) and the
//! verification of the current estimate (if there is one), and decides what the engine
//! reports. A wrong fix is worse than none: a hypothesis must be confirmed by
//! `confirmations` consecutive agreeing evaluations before the state becomes
//! Localised, and an established fix is only replaced after a conflicting hypothesis
//! has been confirmed the same way while the current one fails verification.

use serde::Serialize;

use nalgebra::Point3;

use crate::eval::PoseError;
use crate::frame::Pose;

/// What the engine reports about its fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrackingState {
    /// No fix.
    Lost,
    /// A hypothesis is being confirmed; not yet reported as a fix.
    Candidate,
    /// A confirmed fix: `T_map_session` is reported.
    Localised,
}

impl TrackingState {
    /// Lower-case name as used in results files.
    pub fn name(self) -> &'static str {
        match self {
            TrackingState::Lost => "lost",
            TrackingState::Candidate => "candidate",
            TrackingState::Localised => "localised",
        }
    }
}

/// A relocalisation hypothesis that passed geometric verification.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedHypothesis {
    /// Index of the database scene.
    pub scene: usize,
    /// Session-to-map transform.
    pub T_map_session: Pose,
    /// Instance correspondences consistent with it.
    pub inliers: usize,
    /// Share of live surface points that lie on the scene's surface under it.
    pub fitness: f32,
    /// Share of live OBJECT points (structure left out) that lie on the scene's
    /// surface with agreeing normals: a pose that only aligns the floor or a wall
    /// scores low here however high its `fitness`.
    pub object_fitness: f32,
    /// Share of live STRUCTURE points (walls, floor) that lie on the scene's
    /// structure with agreeing normals: the room's shape must agree too (a room of
    /// another shape explains some objects but not its walls). `None` when the
    /// live map had too little structure to judge.
    pub structure_fitness: Option<f32>,
    /// Where the live data is, session frame (the centroid of the verified live
    /// surface). Poses are compared there ([`VerifiedHypothesis::difference`]),
    /// so the comparison does not depend on how far the session's origin lies
    /// from the data.
    pub anchor: Point3<f32>,
    /// How this hypothesis won over the closest distinct pose of its round
    /// (see [`Rivalry`]); the state machine asks hypotheses that won narrowly
    /// for more agreeing rounds.
    pub rivalry: Rivalry,
}

/// How a round's best hypothesis stood against the closest distinct pose
/// (another verified one, or the room turned round) that scored within the
/// ambiguity ratio of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rivalry {
    /// No such rival, or the best explains clearly more of the live surface
    /// alone than the rival does.
    #[default]
    Clear,
    /// The best explains more of the live surface alone, but narrowly (a
    /// narrow dominance decision). In a room that looks alike turned round
    /// the decision can flip from round to round
    /// ([`StateConfig::contested_confirmations`]).
    Narrow,
    /// Neither explains much more alone, and the rival is a pose of the same
    /// room scoring within a margin below the best: one round does not
    /// decide, a margin that holds round after round does
    /// ([`StateConfig::margin_confirmations`]).
    Margin,
}

impl VerifiedHypothesis {
    /// The score hypotheses are ranked and compared by: the smaller of the two
    /// fitnesses, so both the whole surface and the objects must agree.
    pub fn score(&self) -> f32 {
        self.fitness.min(self.object_fitness)
    }

    /// How far apart two hypotheses put the live data: the distance between the
    /// map positions they give the midpoint of the two anchors, and the angle
    /// between their rotations. Unlike comparing the `T_map_session`
    /// translations, a small rotation difference does not grow with the distance
    /// of the session's origin from the data (1° at 10 m is 17 cm there).
    pub fn difference(&self, other: &VerifiedHypothesis) -> PoseError {
        let p = Point3::from((self.anchor.coords + other.anchor.coords) / 2.0);
        let dr = self.T_map_session.rotation.inverse() * other.T_map_session.rotation;
        PoseError {
            translation_m: (self.T_map_session * p - other.T_map_session * p).norm(),
            rotation_deg: dr.angle().to_degrees(),
        }
    }
}

/// Tuning of the state machine.
#[derive(Debug, Clone, PartialEq)]
pub struct StateConfig {
    /// Agreeing evaluations needed before a hypothesis becomes a fix.
    pub confirmations: usize,
    /// Agreeing evaluations enough for a sure hypothesis: at least
    /// `strong_inliers` inliers, a score of at least `sure_min_score` and a
    /// measured structure fitness of at least `sure_min_structure` (a wrong
    /// room or pose comes nowhere near these).
    pub sure_confirmations: usize,
    /// See `sure_confirmations`.
    pub sure_min_score: f32,
    /// See `sure_confirmations`.
    pub sure_min_structure: f32,
    /// With fewer than `strong_inliers` inliers, a hypothesis is sure when its
    /// score is at least this (and its structure fitness as above): nearly all
    /// of the view, objects and room, where the map has it.
    pub sure_room_min_score: f32,
    /// Hypotheses agree when within this translation (metres)…
    pub agree_translation_m: f32,
    /// …and this rotation (degrees).
    pub agree_rotation_deg: f32,
    /// Minimum instance inliers for a hypothesis to count at all.
    pub min_inliers: usize,
    /// Hypotheses with fewer instance inliers than this (but at least
    /// `min_inliers`) count only with a score ([`VerifiedHypothesis::score`]) of at
    /// least `weak_min_score`: two recognised objects leave more room for a
    /// look-alike than three.
    pub strong_inliers: usize,
    /// See `strong_inliers`.
    pub weak_min_score: f32,
    /// Minimum surface fitness for a hypothesis to count at all.
    pub min_fitness: f32,
    /// Minimum object fitness ([`VerifiedHypothesis::object_fitness`]) for a
    /// hypothesis to count at all.
    pub min_object_fitness: f32,
    /// Minimum structure fitness ([`VerifiedHypothesis::structure_fitness`]) for
    /// a hypothesis to count, where it could be measured.
    pub min_structure_fitness: f32,
    /// A hypothesis with fewer than `min_inliers` instance inliers (but at
    /// least one) still counts when the room itself agrees this well: a surface
    /// fitness of at least `shape_min_fitness` and a measured structure fitness
    /// of at least `shape_min_structure` (with the object-fitness gate). For a
    /// view whose objects mostly moved or are few, where the walls and what
    /// stayed decide. Values above 1 disable it.
    pub shape_min_fitness: f32,
    /// See `shape_min_fitness`.
    pub shape_min_structure: f32,
    /// The object-fitness gate for a hypothesis that counts only by the room
    /// (`shape_min_fitness`), when lower than `min_object_fitness`: where
    /// the walls and the surface agree that well, a view whose objects
    /// mostly moved may leave the objects less.
    pub shape_min_object_fitness: f32,
    /// A hypothesis with fewer than `min_inliers` instance inliers (but at
    /// least one) also counts when the objects in view and the room agree
    /// together: a surface fitness of at least `room_object_min_fitness`, an
    /// object fitness of at least `room_object_min_object_fitness` and a
    /// measured structure fitness of at least `room_object_min_structure`.
    /// For a view of one recognised object and walls the map saw less of than
    /// the view does (a doorway, a window's recess), whose structure fitness
    /// falls short of `shape_min_structure`. Values above 1 disable it.
    pub room_object_min_fitness: f32,
    /// See `room_object_min_fitness`.
    pub room_object_min_object_fitness: f32,
    /// See `room_object_min_fitness`.
    pub room_object_min_structure: f32,
    /// Agreeing evaluations a hypothesis admitted by the room alone with a
    /// low score needs ([`StateConfig::weakly_admitted`]): a bedroom of the
    /// same shape with furniture where the live view has some fits about as
    /// well as the true room whose bed moved (one inlier, surface 0.8,
    /// structure 0.97, objects 0.4), so such a pose must keep agreeing for
    /// as many rounds as `persistent_rounds` asks by default.
    pub shape_weak_confirmations: usize,
    /// Agreeing evaluations a hypothesis with a score below
    /// `low_min_score` needs (unless weakly admitted, which needs more): a
    /// pose that few of the objects in view agree with may be a coincidence
    /// of a few like objects, which holds for fewer rounds than the true
    /// pose (seed 707 room_000, session seed 2023: a bedroom's pose turned a
    /// quarter round, three inliers, surface 0.61, objects 0.41, structure
    /// 0.85, agreed three times and was the fix).
    pub low_score_confirmations: usize,
    /// See `low_score_confirmations`.
    pub low_min_score: f32,
    /// Agreeing evaluations a hypothesis that won narrowly by dominance
    /// ([`Rivalry::Narrow`]) needs at least: with session seed
    /// 2017, seed 606's storage room (symmetric by construction, furniture
    /// moved) was fixed turned half round after two rounds in which the turned
    /// pose explained a little more of the surface alone than the true one
    /// (0.056 vs 0.026, 0.053 vs 0.031); from the seventh round on the true
    /// pose was the best.
    pub contested_confirmations: usize,
    /// Agreeing evaluations a hypothesis that won by its margin over a pose of
    /// the same room ([`Rivalry::Margin`]) needs at least: in seed 606's
    /// storage room whose two halves look alike (room_006), the true pose was
    /// the best in every round, its half-turned twin scoring 0.88-0.97 of it,
    /// and was never the fix; where a wrong pose led its true twin, the twin
    /// scored at least 0.94 of it.
    pub margin_confirmations: usize,
    /// A hypothesis below the object-fitness or score gates (the objects in
    /// view mostly moved) still becomes the fix when it is the best of this
    /// many agreeing evaluations (misses as for candidates) with at least
    /// `persistent_min_inliers` instance inliers, a surface fitness of at
    /// least `persistent_min_fitness` and a measured structure fitness of at
    /// least `persistent_min_structure`: the walls and the objects that stayed
    /// keep pointing at one pose while the moved ones cannot agree on any.
    /// 0 disables it.
    pub persistent_rounds: usize,
    /// See `persistent_rounds`.
    pub persistent_min_inliers: usize,
    /// See `persistent_rounds`.
    pub persistent_min_fitness: f32,
    /// See `persistent_rounds`.
    pub persistent_min_structure: f32,
    /// Consecutive failed verifications of the current fix before it is dropped.
    pub max_failures: usize,
    /// Consecutive evaluations without support before a candidate is dropped.
    pub candidate_patience: usize,
}

impl StateConfig {
    /// Whether `h` counts at all as an evaluation (the minimum-inlier and
    /// fitness gates); [`Localiser::update`] takes a hypothesis that does not as
    /// no hypothesis.
    pub fn admits(&self, h: &VerifiedHypothesis) -> bool {
        let by_objects = self.by_objects(h);
        let structure = |min: f32| h.structure_fitness.is_some_and(|f| f >= min);
        let by_room = h.inliers >= 1
            && ((h.fitness >= self.shape_min_fitness && structure(self.shape_min_structure))
                || (h.fitness >= self.room_object_min_fitness
                    && h.object_fitness >= self.room_object_min_object_fitness
                    && structure(self.room_object_min_structure)));
        let object_gate = if by_objects {
            self.min_object_fitness
        } else {
            self.min_object_fitness.min(self.shape_min_object_fitness)
        };
        (by_objects || by_room)
            && h.fitness >= self.min_fitness
            && h.object_fitness >= object_gate
            && h.structure_fitness
                .is_none_or(|f| f >= self.min_structure_fitness)
    }

    /// Whether `h` has the instance inliers (and, with few, the score) to count
    /// by its objects.
    fn by_objects(&self, h: &VerifiedHypothesis) -> bool {
        h.inliers >= self.min_inliers
            && (h.inliers >= self.strong_inliers || h.score() >= self.weak_min_score)
    }

    /// Whether `h` is admitted by the room alone (fewer inliers than the
    /// objects need) with a score below `weak_min_score`, the least two
    /// object inliers need (see `shape_weak_confirmations`).
    pub fn weakly_admitted(&self, h: &VerifiedHypothesis) -> bool {
        self.admits(h) && !self.by_objects(h) && h.score() < self.weak_min_score
    }

    /// Whether `h`, not admitted, may become the fix by persisting (see
    /// `persistent_rounds`).
    pub fn admits_persistent(&self, h: &VerifiedHypothesis) -> bool {
        self.persistent_rounds > 0
            && !self.admits(h)
            && h.inliers >= self.persistent_min_inliers
            && h.fitness >= self.persistent_min_fitness
            && h.structure_fitness
                .is_some_and(|f| f >= self.persistent_min_structure)
    }
}

impl Default for StateConfig {
    fn default() -> Self {
        StateConfig {
            confirmations: 3,
            sure_confirmations: 2,
            sure_min_score: 0.75,
            sure_min_structure: 0.95,
            sure_room_min_score: 0.85,
            agree_translation_m: 0.15,
            agree_rotation_deg: 5.0,
            min_inliers: 4,
            strong_inliers: 4,
            weak_min_score: 0.55,
            min_fitness: 0.5,
            min_object_fitness: 0.3,
            min_structure_fitness: 0.75,
            shape_min_fitness: 0.8,
            shape_min_structure: 0.95,
            shape_min_object_fitness: 0.3,
            room_object_min_fitness: 0.85,
            room_object_min_object_fitness: 0.7,
            room_object_min_structure: 0.85,
            shape_weak_confirmations: 12,
            low_score_confirmations: 6,
            low_min_score: 0.45,
            contested_confirmations: 4,
            margin_confirmations: 6,
            persistent_rounds: 12,
            persistent_min_inliers: 3,
            persistent_min_fitness: 0.5,
            persistent_min_structure: 0.85,
            max_failures: 4,
            candidate_patience: 4,
        }
    }
}

/// A state change, reported as an engine event.
#[derive(Debug, Clone, PartialEq)]
pub enum StateEvent {
    /// A fix was established (first time or after being lost).
    Localised {
        /// Scene index.
        scene: usize,
        /// The fix.
        T_map_session: Pose,
        /// Confidence in `[0, 1]`.
        confidence: f32,
    },
    /// The fix was replaced by a different confirmed one (the old one was wrong).
    Relocalised {
        /// Scene index.
        scene: usize,
        /// The new fix.
        T_map_session: Pose,
        /// Confidence in `[0, 1]`.
        confidence: f32,
    },
    /// The fix was dropped.
    Lost,
}

#[derive(Debug, Clone)]
struct Pending {
    hyp: VerifiedHypothesis,
    agreements: usize,
    misses: usize,
}

/// The state machine.
#[derive(Debug, Clone)]
pub struct Localiser {
    cfg: StateConfig,
    state: TrackingState,
    fix: Option<VerifiedHypothesis>,
    confidence: f32,
    pending: Option<Pending>,
    /// A hypothesis that may become the fix by persisting.
    persisting: Option<Pending>,
    failures: usize,
}

impl Localiser {
    /// A localiser in the Lost state.
    pub fn new(cfg: StateConfig) -> Localiser {
        Localiser {
            cfg,
            state: TrackingState::Lost,
            fix: None,
            confidence: 0.0,
            pending: None,
            persisting: None,
            failures: 0,
        }
    }

    /// Current state.
    pub fn state(&self) -> TrackingState {
        self.state
    }

    /// The reported fix (only in the Localised state).
    pub fn fix(&self) -> Option<&VerifiedHypothesis> {
        if self.state == TrackingState::Localised {
            self.fix.as_ref()
        } else {
            None
        }
    }

    /// The scenes a relocalisation round must try whatever the descriptors
    /// rank first: that of the hypothesis being confirmed (else of the current
    /// fix), and that of the one counted towards a fix by persisting. A scene
    /// tried only in its turn every few rounds would count its pose only then,
    /// and a long count over sparse rounds tells a room from a lookalike
    /// worse than a long count over every round.
    pub fn pending_scenes(&self) -> Vec<usize> {
        let mut scenes: Vec<usize> = self
            .pending
            .as_ref()
            .map(|p| p.hyp.scene)
            .or_else(|| self.fix.as_ref().map(|f| f.scene))
            .into_iter()
            .collect();
        if let Some(p) = &self.persisting
            && !scenes.contains(&p.hyp.scene)
        {
            scenes.push(p.hyp.scene);
        }
        scenes
    }

    /// Confidence of the reported fix in `[0, 1]` (0 without a fix).
    pub fn confidence(&self) -> f32 {
        if self.state == TrackingState::Localised {
            self.confidence
        } else {
            0.0
        }
    }

    /// Forgets the hypothesis counted towards a fix by persisting: a round
    /// found a rival to it.
    pub fn drop_persisting(&mut self) {
        self.persisting = None;
    }

    fn agree(&self, a: &VerifiedHypothesis, b: &VerifiedHypothesis) -> bool {
        let e = a.difference(b);
        a.scene == b.scene && e.within(self.cfg.agree_translation_m, self.cfg.agree_rotation_deg)
    }

    fn passes_gate(&self, h: &VerifiedHypothesis) -> bool {
        self.cfg.admits(h)
    }

    /// Agreeing evaluations `h` needs to become the fix from Lost or Candidate.
    fn confirmations_for(&self, h: &VerifiedHypothesis) -> usize {
        let by_score = self.confirmations_by_score(h);
        by_score.max(self.rivalry_confirmations(h.rivalry))
    }

    /// Agreeing evaluations a hypothesis that won its round this way needs at
    /// least (0: no more than its scores ask).
    fn rivalry_confirmations(&self, r: Rivalry) -> usize {
        match r {
            Rivalry::Clear => 0,
            Rivalry::Narrow => self.cfg.contested_confirmations,
            Rivalry::Margin => self.cfg.margin_confirmations,
        }
    }

    /// Of two rivalries, the one that asks for more agreeing evaluations.
    fn stricter(&self, a: Rivalry, b: Rivalry) -> Rivalry {
        if self.rivalry_confirmations(b) > self.rivalry_confirmations(a) {
            b
        } else {
            a
        }
    }

    /// [`Localiser::confirmations_for`] as the scores alone ask.
    fn confirmations_by_score(&self, h: &VerifiedHypothesis) -> usize {
        let by_room = h
            .structure_fitness
            .is_some_and(|f| f >= self.cfg.sure_min_structure);
        let sure = by_room
            && ((h.inliers >= self.cfg.strong_inliers && h.score() >= self.cfg.sure_min_score)
                || h.score() >= self.cfg.sure_room_min_score);
        if sure {
            self.cfg.sure_confirmations.min(self.cfg.confirmations)
        } else if self.cfg.weakly_admitted(h) {
            self.cfg
                .shape_weak_confirmations
                .max(self.cfg.confirmations)
        } else if h.score() < self.cfg.low_min_score {
            self.cfg.low_score_confirmations.max(self.cfg.confirmations)
        } else {
            self.cfg.confirmations
        }
    }

    fn confidence_of(&self, h: &VerifiedHypothesis, agreements: usize) -> f32 {
        let support = 1.0 - (-(h.inliers as f32) / 6.0).exp();
        let confirm = (agreements as f32 / (self.cfg.confirmations as f32 + 2.0)).min(1.0);
        (h.score().clamp(0.0, 1.0) * support * (0.5 + 0.5 * confirm)).clamp(0.0, 1.0)
    }

    /// Feeds one evaluation: the best verified hypothesis of this round (if any), and
    /// whether the current fix still verifies (`None` when it was not checked).
    pub fn update(
        &mut self,
        best: Option<VerifiedHypothesis>,
        current_verified: Option<bool>,
    ) -> Vec<StateEvent> {
        let mut events = Vec::new();
        let persistent = best
            .as_ref()
            .filter(|h| self.cfg.admits_persistent(h))
            .cloned();
        let best = best.filter(|h| self.passes_gate(h));

        if self.state == TrackingState::Localised {
            if let Some(ok) = current_verified {
                self.failures = if ok { 0 } else { self.failures + 1 };
            }
            let supports_fix = match (&best, &self.fix) {
                (Some(b), Some(f)) => self.agree(b, f),
                _ => false,
            };
            if supports_fix {
                if let Some(b) = best {
                    self.confidence = self.confidence_of(&b, self.cfg.confirmations + 2);
                    self.fix = Some(b);
                }
                self.failures = 0;
                self.pending = None;
                return events;
            }
            // A conflicting hypothesis: confirm it like a new one.
            let pending = self.pending.take();
            self.pending = self.tracked(pending, best);
            let confirmed = self
                .pending
                .as_ref()
                .is_some_and(|p| p.agreements >= self.cfg.confirmations);
            if confirmed && self.failures > 0 {
                if let Some(p) = self.pending.take() {
                    self.confidence = self.confidence_of(&p.hyp, p.agreements);
                    events.push(StateEvent::Relocalised {
                        scene: p.hyp.scene,
                        T_map_session: p.hyp.T_map_session,
                        confidence: self.confidence,
                    });
                    self.fix = Some(p.hyp);
                    self.failures = 0;
                }
            } else if self.failures >= self.cfg.max_failures {
                self.state = if self.pending.is_some() {
                    TrackingState::Candidate
                } else {
                    TrackingState::Lost
                };
                self.fix = None;
                self.confidence = 0.0;
                self.failures = 0;
                events.push(StateEvent::Lost);
            }
            return events;
        }

        let (pending, persisting) = (self.pending.take(), self.persisting.take());
        self.pending = self.tracked(pending, best);
        self.persisting = self.tracked(persisting, persistent);
        if self.pending.is_none()
            && let Some(p) = self
                .persisting
                .take_if(|p| p.agreements >= self.cfg.persistent_rounds)
        {
            log::debug!("by persistence, below the gates:");
            self.pending = Some(p);
        }
        match &self.pending {
            None => self.state = TrackingState::Lost,
            Some(p) if p.agreements >= self.confirmations_for(&p.hyp) => {
                let hyp = p.hyp.clone();
                log::debug!(
                    "fix: scene {}, {} inliers, fitness {:.2}, object fitness {:.2}, structure fitness {:?}, {} agreements",
                    hyp.scene,
                    hyp.inliers,
                    hyp.fitness,
                    hyp.object_fitness,
                    hyp.structure_fitness,
                    p.agreements
                );
                self.confidence = self.confidence_of(&hyp, p.agreements);
                events.push(StateEvent::Localised {
                    scene: hyp.scene,
                    T_map_session: hyp.T_map_session,
                    confidence: self.confidence,
                });
                self.fix = Some(hyp);
                self.pending = None;
                self.failures = 0;
                self.state = TrackingState::Localised;
            }
            Some(_) => self.state = TrackingState::Candidate,
        }
        events
    }

    /// `slot` after one more evaluation: `h` agreeing with it counts once
    /// more, another `h` starts over, no `h` is a miss (more than
    /// `candidate_patience` in a row drop it).
    fn tracked(&self, slot: Option<Pending>, h: Option<VerifiedHypothesis>) -> Option<Pending> {
        match (slot, h) {
            (Some(mut p), Some(mut h)) if self.agree(&p.hyp, &h) => {
                // A round that found no close rival does not undo one that did:
                // the rival may simply not have been proposed this time.
                h.rivalry = self.stricter(p.hyp.rivalry, h.rivalry);
                p.agreements += 1;
                p.misses = 0;
                p.hyp = h;
                Some(p)
            }
            (_, Some(h)) => Some(Pending {
                hyp: h,
                agreements: 1,
                misses: 0,
            }),
            (Some(mut p), None) => {
                p.misses += 1;
                (p.misses <= self.cfg.candidate_patience).then_some(p)
            }
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::Vector3;

    fn hyp(scene: usize, x: f32, inliers: usize) -> VerifiedHypothesis {
        VerifiedHypothesis {
            scene,
            T_map_session: Pose::new(Vector3::new(x, 0.0, 0.0), Vector3::zeros()),
            inliers,
            fitness: 0.8,
            object_fitness: 0.7,
            structure_fitness: Some(0.9),
            anchor: Point3::origin(),
            rivalry: Rivalry::Clear,
        }
    }

    /// A localiser after `agreeing` rounds of `h`, then one round more without
    /// any hypothesis than `candidate_patience` allows.
    fn after_a_lapse(cfg: &StateConfig, h: &VerifiedHypothesis, agreeing: usize) -> Localiser {
        let mut l = Localiser::new(cfg.clone());
        for _ in 0..agreeing {
            l.update(Some(h.clone()), None);
        }
        for _ in 0..=cfg.candidate_patience {
            l.update(None, None);
        }
        l
    }

    /// Rounds of `h` alone until the fix (at most 50), `None` if never.
    fn rounds_to_fix(cfg: &StateConfig, h: &VerifiedHypothesis) -> Option<usize> {
        let mut l = Localiser::new(cfg.clone());
        (1..=50).find(|_| {
            l.update(Some(h.clone()), None);
            l.state() == TrackingState::Localised
        })
    }

    #[test]
    fn a_room_of_another_shape_never_fixes() {
        // Objects agree, the walls do not: no fix, however often it repeats.
        let other_shape = VerifiedHypothesis {
            structure_fitness: Some(0.5),
            ..hyp(0, 1.0, 6)
        };
        let mut l = Localiser::new(StateConfig::default());
        for _ in 0..10 {
            l.update(Some(other_shape.clone()), None);
        }
        assert_eq!(l.state(), TrackingState::Lost);
        // Too little structure to judge: the other tests decide.
        let unjudged = VerifiedHypothesis {
            structure_fitness: None,
            ..other_shape
        };
        let mut l = Localiser::new(StateConfig::default());
        for _ in 0..3 {
            l.update(Some(unjudged.clone()), None);
        }
        assert_eq!(l.state(), TrackingState::Localised);
    }

    #[test]
    fn hypotheses_are_compared_where_the_data_is() {
        use nalgebra::{Translation3, UnitQuaternion};
        // The live data lies 10 m from the session origin. Two poses that differ by
        // 1.5° about the data put it at the same place: they agree, although
        // their translations differ by 26 cm.
        let data = Point3::new(10.0, 0.0, 0.0);
        let turn = |deg: f32| {
            let r = UnitQuaternion::from_axis_angle(&Vector3::z_axis(), deg.to_radians());
            let about_data = Translation3::from(data.coords - r * data.coords);
            Pose::from_parts(about_data, r)
        };
        let a = VerifiedHypothesis {
            T_map_session: Pose::identity(),
            anchor: data,
            ..hyp(0, 0.0, 6)
        };
        let b = VerifiedHypothesis {
            T_map_session: turn(1.5),
            ..a.clone()
        };
        assert!((b.T_map_session.translation.vector.norm() - 0.26).abs() < 0.01);
        let e = a.difference(&b);
        assert!(
            e.translation_m < 1e-4 && (e.rotation_deg - 1.5).abs() < 0.01,
            "{e:?}"
        );
        let mut l = Localiser::new(StateConfig::default());
        for h in [&a, &b, &a] {
            l.update(Some(h.clone()), None);
        }
        assert_eq!(l.state(), TrackingState::Localised);
        // A pose that moves the data by 30 cm does not agree, wherever the origin.
        let c = VerifiedHypothesis {
            T_map_session: Pose::new(Vector3::new(0.0, 0.3, 0.0), Vector3::zeros()),
            ..a.clone()
        };
        assert!((a.difference(&c).translation_m - 0.3).abs() < 1e-4);
        let mut l = Localiser::new(StateConfig::default());
        for h in [&a, &c, &a, &c] {
            l.update(Some(h.clone()), None);
        }
        assert_ne!(l.state(), TrackingState::Localised);
    }

    #[test]
    fn needs_confirmations_before_reporting_a_fix() {
        let mut l = Localiser::new(StateConfig::default());
        assert!(l.update(Some(hyp(0, 1.0, 6)), None).is_empty());
        assert_eq!(l.state(), TrackingState::Candidate);
        assert!(l.fix().is_none());
        l.update(Some(hyp(0, 1.02, 6)), None);
        let ev = l.update(Some(hyp(0, 1.01, 6)), None);
        assert_eq!(l.state(), TrackingState::Localised);
        assert!(matches!(
            ev.as_slice(),
            [StateEvent::Localised { scene: 0, .. }]
        ));
        assert!(l.confidence() > 0.0 && l.confidence() <= 1.0);
    }

    #[test]
    fn a_view_the_map_explains_almost_whole_is_sure_with_few_inliers() {
        // One or two object inliers, but nearly all of the view where the map
        // has it (seed 505 room_006: surface 0.95, objects 0.88, structure 0.97).
        let room =
            |x: f32, inliers: usize, object_fitness: f32, structure: f32| VerifiedHypothesis {
                fitness: 0.95,
                object_fitness,
                structure_fitness: Some(structure),
                ..hyp(0, x, inliers)
            };
        let cfg = StateConfig {
            min_inliers: 2,
            strong_inliers: 3,
            ..StateConfig::default()
        };
        let agreements_to_fix = |a: VerifiedHypothesis, b: VerifiedHypothesis| {
            assert!(cfg.admits(&a) && cfg.admits(&b), "{a:?} {b:?}");
            let mut l = Localiser::new(cfg.clone());
            l.update(Some(a), None);
            let mut n = 1;
            while l.state() != TrackingState::Localised && n < 5 {
                l.update(Some(b.clone()), None);
                n += 1;
            }
            n
        };
        for inliers in [1, 2] {
            let (a, b) = (
                room(1.0, inliers, 0.88, 0.97),
                room(1.01, inliers, 0.88, 0.97),
            );
            assert_eq!(agreements_to_fix(a, b), 2);
        }
        // Less of the objects explained, or less of the room: the full count.
        let (a, b) = (room(1.0, 1, 0.8, 0.97), room(1.01, 1, 0.8, 0.97));
        assert_eq!(agreements_to_fix(a, b), 3);
        let (a, b) = (room(1.0, 2, 0.88, 0.94), room(1.01, 2, 0.88, 0.94));
        assert_eq!(agreements_to_fix(a, b), 3);
    }

    #[test]
    fn a_sure_hypothesis_fixes_after_fewer_agreements() {
        let sure = |x: f32| VerifiedHypothesis {
            fitness: 0.9,
            object_fitness: 0.8,
            structure_fitness: Some(0.98),
            ..hyp(0, x, 6)
        };
        // Two inliers pass the gate here but are not enough to be sure.
        let cfg = StateConfig {
            min_inliers: 2,
            strong_inliers: 3,
            ..StateConfig::default()
        };
        let mut l = Localiser::new(cfg.clone());
        assert!(l.update(Some(sure(1.0)), None).is_empty());
        let ev = l.update(Some(sure(1.01)), None);
        assert_eq!(l.state(), TrackingState::Localised);
        assert!(matches!(
            ev.as_slice(),
            [StateEvent::Localised { scene: 0, .. }]
        ));
        // Without a measured structure fitness, or with too few inliers, or
        // when the two disagree: the full count.
        for (a, b) in [
            (
                VerifiedHypothesis {
                    structure_fitness: None,
                    ..sure(1.0)
                },
                VerifiedHypothesis {
                    structure_fitness: None,
                    ..sure(1.01)
                },
            ),
            (
                VerifiedHypothesis {
                    inliers: 2,
                    ..sure(1.0)
                },
                VerifiedHypothesis {
                    inliers: 2,
                    ..sure(1.01)
                },
            ),
            (sure(1.0), sure(2.0)),
        ] {
            let mut l = Localiser::new(cfg.clone());
            l.update(Some(a), None);
            l.update(Some(b.clone()), None);
            assert_ne!(l.state(), TrackingState::Localised);
            // A third agreeing evaluation fixes any of them that pass the gate.
            if b.structure_fitness.is_none() || b.inliers == 2 {
                l.update(Some(b), None);
                assert_eq!(l.state(), TrackingState::Localised);
            }
        }
    }

    #[test]
    fn disagreeing_or_weak_hypotheses_never_fix() {
        let mut l = Localiser::new(StateConfig::default());
        for i in 0..20 {
            // Jumps between places: never three agreeing in a row.
            l.update(Some(hyp(0, (i % 2) as f32 * 3.0, 8)), None);
            assert_ne!(l.state(), TrackingState::Localised);
        }
        let mut l = Localiser::new(StateConfig::default());
        for _ in 0..10 {
            l.update(Some(hyp(0, 1.0, 2)), None); // below the inlier gate
        }
        assert_eq!(l.state(), TrackingState::Lost);
    }

    #[test]
    fn few_inliers_fix_only_with_a_strong_score() {
        let cfg = StateConfig {
            min_inliers: 2,
            strong_inliers: 3,
            weak_min_score: 0.55,
            ..StateConfig::default()
        };
        let weak = |x: f32| VerifiedHypothesis {
            object_fitness: 0.5,
            ..hyp(0, x, 2)
        };
        let mut l = Localiser::new(cfg.clone());
        for _ in 0..6 {
            l.update(Some(weak(1.0)), None);
        }
        assert_eq!(l.state(), TrackingState::Lost);
        // The same score with three inliers passes; two inliers with 0.7 pass too.
        let mut l = Localiser::new(cfg.clone());
        for _ in 0..3 {
            l.update(
                Some(VerifiedHypothesis {
                    inliers: 3,
                    ..weak(1.0)
                }),
                None,
            );
        }
        assert_eq!(l.state(), TrackingState::Localised);
        let mut l = Localiser::new(cfg);
        for _ in 0..3 {
            l.update(Some(hyp(0, 1.0, 2)), None);
        }
        assert_eq!(l.state(), TrackingState::Localised);
    }

    #[test]
    fn wrong_fix_is_recovered_and_persistent_failure_loses_it() {
        let mut l = Localiser::new(StateConfig::default());
        for _ in 0..3 {
            l.update(Some(hyp(0, 1.0, 6)), None);
        }
        assert_eq!(l.state(), TrackingState::Localised);
        // The current fix stops verifying while another one is confirmed.
        let mut events = Vec::new();
        for _ in 0..3 {
            events.extend(l.update(Some(hyp(0, 4.0, 9)), Some(false)));
        }
        assert!(
            events
                .iter()
                .any(|e| matches!(e, StateEvent::Relocalised { .. }))
        );
        let fix = l.fix().unwrap();
        assert!((fix.T_map_session.translation.x - 4.0).abs() < 1e-6);
        // Now nothing verifies any more: the fix is dropped.
        let mut lost = false;
        for _ in 0..4 {
            lost |= l.update(None, Some(false)).contains(&StateEvent::Lost);
        }
        assert!(lost);
        assert_eq!(l.state(), TrackingState::Lost);
        assert!(l.fix().is_none());
    }

    #[test]
    fn a_verified_fix_survives_rounds_without_hypotheses() {
        let mut l = Localiser::new(StateConfig::default());
        for _ in 0..3 {
            l.update(Some(hyp(1, 0.0, 6)), None);
        }
        for _ in 0..50 {
            assert!(l.update(None, Some(true)).is_empty());
        }
        assert_eq!(l.state(), TrackingState::Localised);
    }

    #[test]
    fn a_pose_few_objects_agree_with_needs_more_agreeing_rounds() {
        let cfg = StateConfig {
            min_inliers: 2,
            strong_inliers: 3,
            min_object_fitness: 0.4,
            ..StateConfig::default()
        };
        // Seed 707 room_000, session seed 2023: a quarter-turned pose of the
        // right bedroom with three inliers, surface 0.61, objects 0.41,
        // structure 0.85.
        let few = VerifiedHypothesis {
            fitness: 0.61,
            object_fitness: 0.41,
            structure_fitness: Some(0.85),
            ..hyp(0, 0.0, 3)
        };
        assert!(cfg.admits(&few));
        assert!(cfg.low_score_confirmations > cfg.confirmations);
        assert_eq!(rounds_to_fix(&cfg, &few), Some(cfg.low_score_confirmations));
        // Objects at the gate's score or more: the usual count.
        let more = VerifiedHypothesis {
            object_fitness: cfg.low_min_score,
            ..few.clone()
        };
        assert_eq!(rounds_to_fix(&cfg, &more), Some(cfg.confirmations));
        // A low-score pose that stops agreeing is never the fix.
        let l = after_a_lapse(&cfg, &few, cfg.low_score_confirmations - 1);
        assert_ne!(l.state(), TrackingState::Localised);
        // Weakly admitted ones keep their own, larger count.
        let weak = VerifiedHypothesis {
            fitness: 0.85,
            object_fitness: 0.35,
            structure_fitness: Some(0.98),
            ..hyp(0, 0.0, 1)
        };
        assert!(cfg.weakly_admitted(&weak));
        assert_eq!(
            rounds_to_fix(&cfg, &weak),
            Some(cfg.shape_weak_confirmations)
        );
    }

    #[test]
    fn a_pose_that_wins_narrowly_over_a_close_rival_needs_more_agreeing_rounds() {
        let cfg = StateConfig::default();
        // Seed 606 room_009, session seed 2017: the storage room turned half
        // round, 4 inliers, surface 0.90, objects 0.76, structure 0.96 (sure
        // by its scores), its true pose a close rival in every round.
        let turned = VerifiedHypothesis {
            fitness: 0.90,
            object_fitness: 0.76,
            structure_fitness: Some(0.96),
            rivalry: Rivalry::Narrow,
            ..hyp(0, 0.0, 4)
        };
        assert!(cfg.contested_confirmations > cfg.confirmations);
        assert_eq!(
            rounds_to_fix(&cfg, &turned),
            Some(cfg.contested_confirmations)
        );
        // Uncontested, the same scores are sure.
        let clear = VerifiedHypothesis {
            rivalry: Rivalry::Clear,
            ..turned.clone()
        };
        assert_eq!(rounds_to_fix(&cfg, &clear), Some(cfg.sure_confirmations));
        // Two contested rounds, then rounds that decide nothing (the rival
        // as good): dropped, never the fix.
        let mut l = after_a_lapse(&cfg, &turned, 2);
        l.update(Some(turned.clone()), None);
        assert_ne!(l.state(), TrackingState::Localised);
        // A lead by a margin over a pose of the same room needs more still.
        let margin = VerifiedHypothesis {
            rivalry: Rivalry::Margin,
            ..turned.clone()
        };
        assert!(cfg.margin_confirmations > cfg.contested_confirmations);
        assert_eq!(rounds_to_fix(&cfg, &margin), Some(cfg.margin_confirmations));
        // A count the scores ask more of stays.
        let low = VerifiedHypothesis {
            object_fitness: 0.41,
            ..turned.clone()
        };
        assert_eq!(rounds_to_fix(&cfg, &low), Some(cfg.low_score_confirmations));
    }

    #[test]
    fn a_round_without_the_rival_does_not_undo_the_rounds_that_had_it() {
        // Seed 909 room_009, session seed 71302: the meeting room turned half
        // round led its true twin by a margin in the first rounds; in the
        // fourth the twin was not proposed close enough, the round was clear
        // and sure, and the turned pose was the fix after three agreements.
        let cfg = StateConfig::default();
        let margin = VerifiedHypothesis {
            fitness: 0.90,
            object_fitness: 0.79,
            structure_fitness: Some(1.0),
            rivalry: Rivalry::Margin,
            ..hyp(0, 0.0, 7)
        };
        let clear = VerifiedHypothesis {
            rivalry: Rivalry::Clear,
            ..margin.clone()
        };
        let mut l = Localiser::new(cfg.clone());
        l.update(Some(margin.clone()), None);
        for round in 2..cfg.margin_confirmations {
            l.update(Some(clear.clone()), None);
            assert_ne!(l.state(), TrackingState::Localised, "round {round}");
        }
        l.update(Some(clear.clone()), None);
        assert_eq!(l.state(), TrackingState::Localised);
        // A narrow round after a margin one keeps the margin's count.
        let narrow = VerifiedHypothesis {
            rivalry: Rivalry::Narrow,
            ..margin.clone()
        };
        let mut l = Localiser::new(cfg.clone());
        l.update(Some(margin.clone()), None);
        for _ in 2..cfg.margin_confirmations {
            l.update(Some(narrow.clone()), None);
        }
        assert_ne!(l.state(), TrackingState::Localised);
        // Clear rounds alone are as quick as before.
        assert_eq!(rounds_to_fix(&cfg, &clear), Some(cfg.sure_confirmations));
    }

    #[test]
    fn one_object_inlier_counts_where_the_objects_and_the_room_agree_together() {
        let cfg = StateConfig {
            min_inliers: 2,
            strong_inliers: 3,
            min_object_fitness: 0.4,
            ..StateConfig::default()
        };
        // Seed 707 room_009: one desk recognised, the walls by a doorway the
        // map saw less of (structure 0.88 < shape_min_structure), but the
        // objects in view on the map's (0.78) and the surface too (0.89).
        let view =
            |fitness: f32, objects: f32, structure: f32, inliers: usize| VerifiedHypothesis {
                fitness,
                object_fitness: objects,
                structure_fitness: Some(structure),
                ..hyp(0, 0.0, inliers)
            };
        let doorway = view(0.89, 0.78, 0.88, 1);
        assert!(cfg.admits(&doorway));
        assert!(!cfg.weakly_admitted(&doorway));
        assert_eq!(rounds_to_fix(&cfg, &doorway), Some(cfg.confirmations));
        // Less of the objects, the surface or the walls, or no inlier: no
        // (the nearest wrong poses of six seeds: objects 0.4-0.51 with
        // structure 0.83-0.98, or objects 0.68-0.77 with surface 0.62-0.75
        // and structure 0.31-0.7).
        assert!(!cfg.admits(&view(0.89, 0.6, 0.88, 1)));
        assert!(!cfg.admits(&view(0.8, 0.78, 0.88, 1)));
        assert!(!cfg.admits(&view(0.89, 0.78, 0.8, 1)));
        assert!(!cfg.admits(&view(0.89, 0.78, 0.88, 0)));
        assert!(!cfg.admits(&VerifiedHypothesis {
            structure_fitness: None,
            ..doorway.clone()
        }));
        let off = StateConfig {
            room_object_min_fitness: 1.01,
            ..cfg
        };
        assert!(!off.admits(&doorway));
    }

    #[test]
    fn one_object_inlier_counts_only_where_the_room_itself_agrees() {
        let cfg = StateConfig {
            min_inliers: 2,
            strong_inliers: 3,
            min_object_fitness: 0.4,
            ..StateConfig::default()
        };
        let room = |fitness: f32, structure: Option<f32>, inliers: usize| VerifiedHypothesis {
            fitness,
            object_fitness: 0.45,
            structure_fitness: structure,
            ..hyp(0, 0.0, inliers)
        };
        // Most of the view on the mapped surface and the walls the room's.
        assert!(cfg.admits(&room(0.85, Some(0.98), 1)));
        // Walls off, surface off, walls not measured, or no object at all: no.
        assert!(!cfg.admits(&room(0.85, Some(0.9), 1)));
        assert!(!cfg.admits(&room(0.75, Some(0.98), 1)));
        assert!(!cfg.admits(&room(0.85, None, 1)));
        assert!(!cfg.admits(&room(0.85, Some(0.98), 0)));
        // An object-fitness gate still holds, the room's own: most of the
        // objects in view may have moved (seed 404 room_001: a moved bed, the
        // true pose at surface 0.81, structure 0.98, objects 0.32-0.4).
        let moved_objects = VerifiedHypothesis {
            object_fitness: 0.33,
            ..room(0.85, Some(0.98), 1)
        };
        assert!(cfg.admits(&moved_objects));
        let no_objects = VerifiedHypothesis {
            object_fitness: 0.25,
            ..moved_objects.clone()
        };
        assert!(!cfg.admits(&no_objects));
        // Counted by the objects (three inliers), the objects' gate applies.
        let by_objects = VerifiedHypothesis {
            fitness: 0.7,
            structure_fitness: Some(0.9),
            ..hyp(0, 0.0, 3)
        };
        assert!(cfg.admits(&by_objects));
        assert!(!cfg.admits(&VerifiedHypothesis {
            object_fitness: 0.33,
            ..by_objects
        }));
        // With the room's gate at the objects' own, the moved view does not count.
        let strict = StateConfig {
            shape_min_object_fitness: 0.4,
            ..cfg.clone()
        };
        assert!(!strict.admits(&moved_objects));
        // Counted by the room alone with a low score, a hypothesis needs as many
        // agreeing rounds as one persisting below the gates (seed 404
        // room_001, session seed 2: a bedroom of the same shape fitted the
        // view with one inlier, surface 0.8, structure 0.97 and objects 0.4
        // for four rounds, and was the fix after three).
        assert!(cfg.weakly_admitted(&room(0.85, Some(0.98), 1)));
        let needed = cfg.shape_weak_confirmations;
        assert!(needed > cfg.confirmations);
        assert_eq!(
            rounds_to_fix(&cfg, &room(0.85, Some(0.98), 1)),
            Some(needed)
        );
        assert_eq!(rounds_to_fix(&cfg, &moved_objects), Some(needed));
        // A sure one (nearly all of the view where the map has it) needs only
        // the sure count, and one counted by its objects the usual one (as
        // does one counted by the room with a score of 0.55 or more: see
        // a_view_the_map_explains_almost_whole_is_sure_with_few_inliers).
        let sure = VerifiedHypothesis {
            object_fitness: 0.9,
            ..room(0.9, Some(0.98), 1)
        };
        assert!(!cfg.weakly_admitted(&sure));
        assert_eq!(rounds_to_fix(&cfg, &sure), Some(cfg.sure_confirmations));
        assert!(!cfg.weakly_admitted(&by_objects));
        assert_eq!(rounds_to_fix(&cfg, &by_objects), Some(cfg.confirmations));
        // With the count at the usual one, the weak hypothesis fixes as early.
        let usual = StateConfig {
            shape_weak_confirmations: cfg.confirmations,
            ..cfg.clone()
        };
        assert_eq!(
            rounds_to_fix(&usual, &room(0.85, Some(0.98), 1)),
            Some(cfg.confirmations)
        );
    }

    #[test]
    fn the_scene_of_a_persisting_pose_is_always_tried() {
        let cfg = StateConfig::default();
        let mut l = Localiser::new(cfg.clone());
        assert!(l.pending_scenes().is_empty());
        // Below the gates, but a pose that may fix by persisting (scene 3).
        let persisting = VerifiedHypothesis {
            fitness: 0.55,
            object_fitness: 0.1,
            structure_fitness: Some(0.9),
            ..hyp(3, 1.0, 3)
        };
        assert!(cfg.admits_persistent(&persisting));
        l.update(Some(persisting.clone()), None);
        assert_eq!(l.pending_scenes(), vec![3]);
        // A candidate of another scene comes first; the persisting one stays.
        l.update(Some(hyp(1, 0.0, 5)), None);
        assert_eq!(l.state(), TrackingState::Candidate);
        assert_eq!(l.pending_scenes(), vec![1, 3]);
        // Both of one scene: tried once.
        let mut m = Localiser::new(cfg);
        m.update(Some(persisting), None);
        m.update(Some(hyp(3, 0.0, 5)), None);
        assert_eq!(m.pending_scenes(), vec![3]);
    }

    #[test]
    fn a_pose_the_walls_keep_pointing_at_fixes_by_persisting() {
        // Most objects in view moved: three still agree, the surface and the
        // walls fit, but the objects' fitness is below the gate.
        let cfg = StateConfig::default();
        let moved = |x: f32, inliers: usize, structure: f32| VerifiedHypothesis {
            fitness: 0.55,
            object_fitness: 0.1,
            structure_fitness: Some(structure),
            ..hyp(0, x, inliers)
        };
        assert!(!cfg.admits(&moved(1.0, 3, 0.9)));
        assert!(cfg.admits_persistent(&moved(1.0, 3, 0.9)));
        let rounds = cfg.persistent_rounds;
        let run = |cfg: &StateConfig, h: &dyn Fn(usize) -> Option<VerifiedHypothesis>| {
            let mut l = Localiser::new(cfg.clone());
            let mut fixed_at = None;
            for i in 0..3 * rounds {
                let events = l.update(h(i), None);
                if fixed_at.is_none() && !events.is_empty() {
                    fixed_at = Some(i + 1);
                }
            }
            fixed_at
        };
        // The same pose, every round or with a gap of a few rounds: a fix
        // after `persistent_rounds` agreeing ones.
        assert_eq!(run(&cfg, &|_| Some(moved(1.0, 3, 0.9))), Some(rounds));
        // (every third round missing: the twelfth agreeing one is round 18)
        let gappy = |i: usize| (i % 3 != 1).then(|| moved(1.0, 3, 0.9));
        assert_eq!(rounds, 12);
        assert_eq!(run(&cfg, &gappy), Some(18));
        // Two inliers, walls that fit less, poses that jump, or the rule off:
        // never.
        assert_eq!(run(&cfg, &|_| Some(moved(1.0, 2, 0.9))), None);
        assert_eq!(run(&cfg, &|_| Some(moved(1.0, 3, 0.8))), None);
        assert_eq!(
            run(&cfg, &|i| Some(moved((i % 2) as f32 * 2.0, 3, 0.9))),
            None
        );
        let off = StateConfig {
            persistent_rounds: 0,
            ..cfg.clone()
        };
        assert_eq!(run(&off, &|_| Some(moved(1.0, 3, 0.9))), None);
        // A gap longer than the candidates' patience starts the count again.
        let patience = cfg.candidate_patience;
        let long_gap =
            |i: usize| (i < rounds - 1 || i > rounds + patience).then(|| moved(1.0, 3, 0.9));
        assert_eq!(run(&cfg, &long_gap), Some(rounds + patience + 1 + rounds));
        // A round that found a rival to it starts the count again too.
        let mut l = Localiser::new(cfg.clone());
        for i in 0..2 * rounds - 2 {
            if i == rounds - 1 {
                l.drop_persisting();
            }
            l.update(Some(moved(1.0, 3, 0.9)), None);
            assert_ne!(l.state(), TrackingState::Localised, "round {i}");
        }
        l.update(Some(moved(1.0, 3, 0.9)), None);
        assert_eq!(l.state(), TrackingState::Localised);
    }
}
