//! The relocaliser's checks on verified hypotheses and its ICP schedule: when two
//! poses are different answers, when a rival pose is no rival, and how ICP's
//! coarse stage is split so that hopeless poses stop early.

use super::EngineConfig;
use crate::localise::IcpConfig;
use crate::localise::state::{Rivalry, VerifiedHypothesis};

/// Whether two verified poses are different answers: other scenes, or poses more
/// than 0.3 m or 10° apart where the live data is.
pub(super) fn distinct(a: &VerifiedHypothesis, b: &VerifiedHypothesis) -> bool {
    a.scene != b.scene || !a.difference(b).within(0.3, 10.0)
}

/// `cfg` as consecutive ICP runs: the iterations while the radius shrinks to
/// `final_max_distance`, then the rest at that radius (one run when the radius
/// does not shrink or the iterations end before it is reached).
pub(super) fn split_at_final_radius(cfg: &IcpConfig) -> Vec<IcpConfig> {
    if !(cfg.shrink < 1.0 && cfg.initial_max_distance > cfg.final_max_distance) {
        return vec![cfg.clone()];
    }
    let mut d = cfg.initial_max_distance;
    let mut n = 1;
    while d > cfg.final_max_distance {
        d = (d * cfg.shrink).max(cfg.final_max_distance);
        n += 1;
    }
    if n >= cfg.max_iterations {
        return vec![cfg.clone()];
    }
    vec![
        IcpConfig {
            max_iterations: n,
            ..cfg.clone()
        },
        IcpConfig {
            max_iterations: cfg.max_iterations - n,
            initial_max_distance: cfg.final_max_distance,
            ..cfg.clone()
        },
    ]
}

/// Shares of the points usable in both masks (`Some`) that only `a` marks true
/// and that only `b` marks true; (0, 0) when none is usable.
pub(super) fn exclusive_shares(a: &[Option<bool>], b: &[Option<bool>]) -> (f32, f32) {
    let (mut used, mut only_a, mut only_b) = (0usize, 0usize, 0usize);
    for (x, y) in a.iter().zip(b) {
        if let (Some(x), Some(y)) = (x, y) {
            used += 1;
            only_a += usize::from(*x && !*y);
            only_b += usize::from(*y && !*x);
        }
    }
    if used == 0 {
        return (0.0, 0.0);
    }
    (only_a as f32 / used as f32, only_b as f32 / used as f32)
}

/// Whether a rival that explains `only_rival` of the live surface that the best
/// does not, while the best explains `only_best` that the rival does not, is
/// no rival (see [`EngineConfig::dominance_min_exclusive`]).
pub(super) fn dominated(only_best: f32, only_rival: f32, cfg: &EngineConfig) -> bool {
    only_best >= cfg.dominance_min_exclusive && only_rival <= cfg.dominance_max_ratio * only_best
}

/// How `best` stands against `rival`, a distinct pose scoring within the
/// ambiguity ratio of it, given the shares of the live surface only each
/// explains (`exclusive`, best's first): dominated clearly or narrowly
/// ([`EngineConfig::dominance_clear_ratio`]), led by a margin when the rival
/// is a pose of the same room ([`EngineConfig::twin_margin_ratio`]), or
/// `None` when the round decides nothing.
pub(super) fn rivalry(
    best: &VerifiedHypothesis,
    rival: &VerifiedHypothesis,
    (only_best, only_rival): (f32, f32),
    cfg: &EngineConfig,
) -> Option<Rivalry> {
    if dominated(only_best, only_rival, cfg) {
        Some(if only_rival > cfg.dominance_clear_ratio * only_best {
            Rivalry::Narrow
        } else {
            Rivalry::Clear
        })
    } else if rival.scene == best.scene && rival.score() <= cfg.twin_margin_ratio * best.score() {
        Some(Rivalry::Margin)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_shares_count_points_usable_in_both_masks() {
        let a = [
            Some(true),
            Some(true),
            Some(false),
            Some(true),
            None,
            Some(true),
        ];
        let b = [
            Some(true),
            Some(false),
            Some(true),
            Some(false),
            Some(true),
            None,
        ];
        // Usable in both: the first four; only a: two of them, only b: one.
        assert_eq!(exclusive_shares(&a, &b), (0.5, 0.25));
        assert_eq!(exclusive_shares(&b, &a), (0.25, 0.5));
        assert_eq!(exclusive_shares(&[None], &[Some(true)]), (0.0, 0.0));
        assert_eq!(exclusive_shares(&[], &[]), (0.0, 0.0));
    }

    #[test]
    fn a_rival_explaining_little_of_its_own_is_dominated() {
        let cfg = EngineConfig::default();
        let min = cfg.dominance_min_exclusive;
        let ratio = cfg.dominance_max_ratio;
        // The best explains a clear share alone; the rival far less.
        assert!(dominated(2.0 * min, 0.5 * ratio * 2.0 * min, &cfg));
        // The rival explains as much of its own: a real ambiguity.
        assert!(!dominated(2.0 * min, 2.0 * min, &cfg));
        // Both explain the same points (a symmetric room): nothing decides.
        assert!(!dominated(0.0, 0.0, &cfg));
        assert!(!dominated(0.5 * min, 0.0, &cfg));
    }

    #[test]
    fn a_rival_is_dominated_clearly_or_narrowly_or_led_by_a_margin_in_its_own_room() {
        let cfg = EngineConfig::default();
        let pose = |scene: usize, score: f32| VerifiedHypothesis {
            scene,
            T_map_session: crate::frame::Pose::identity(),
            inliers: 4,
            fitness: score,
            object_fitness: score,
            structure_fitness: Some(0.9),
            anchor: nalgebra::Point3::origin(),
            rivalry: Rivalry::Clear,
        };
        let best = pose(0, 0.8);
        let (min, clear) = (cfg.dominance_min_exclusive, cfg.dominance_clear_ratio);
        let twin = pose(0, 0.99 * best.score());
        // Dominated: clearly, or narrowly (606 room_009: 0.056 vs 0.026).
        let r = |ex: (f32, f32)| rivalry(&best, &twin, ex, &cfg);
        assert_eq!(
            r((2.0 * min, 0.5 * clear * 2.0 * min)),
            Some(Rivalry::Clear)
        );
        assert_eq!(r((0.056, 0.026)), Some(Rivalry::Narrow));
        // Not dominated, the twin as good: nothing decided.
        assert_eq!(r((0.03, 0.02)), None);
        // The twin at most the margin ratio of the best (606 room_006: 0.92):
        // led by a margin; a rival in another room never is.
        let behind = pose(0, cfg.twin_margin_ratio * best.score());
        assert_eq!(
            rivalry(&best, &behind, (0.03, 0.02), &cfg),
            Some(Rivalry::Margin)
        );
        let elsewhere = pose(1, cfg.twin_margin_ratio * best.score());
        assert_eq!(rivalry(&best, &elsewhere, (0.03, 0.02), &cfg), None);
    }

    #[test]
    fn the_coarse_stage_splits_where_its_radius_settles() {
        let cfg = IcpConfig {
            initial_max_distance: 0.5,
            final_max_distance: 0.1,
            shrink: 0.85,
            max_iterations: 40,
            ..IcpConfig::default()
        };
        let parts = split_at_final_radius(&cfg);
        assert_eq!(parts.len(), 2);
        // 0.5 · 0.85^10 < 0.1: the eleventh iteration is the first at 0.1.
        assert_eq!(parts[0].max_iterations, 11);
        assert_eq!(parts[0].initial_max_distance, 0.5);
        assert_eq!(parts[1].max_iterations, 29);
        assert_eq!(parts[1].initial_max_distance, 0.1);
        assert_eq!(parts[1].final_max_distance, 0.1);
        // No shrinking, or too few iterations to reach the final radius: one run.
        for one in [
            IcpConfig {
                shrink: 1.0,
                ..cfg.clone()
            },
            IcpConfig {
                max_iterations: 11,
                ..cfg.clone()
            },
            IcpConfig {
                initial_max_distance: 0.1,
                ..cfg.clone()
            },
        ] {
            assert_eq!(split_at_final_radius(&one), vec![one.clone()]);
        }
    }
}
