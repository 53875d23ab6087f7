//! Tests of [`super::ransac`] on synthetic rooms of instance centroids.

use nalgebra::{Point3, Translation3, UnitQuaternion, Vector3};

use super::compare::pose_difference;
use super::correspondence::Correspondence;
use super::ransac::{
    RansacConfig, SUGGESTED_MAX_SCORE_RATIO, SamplingMode, SamplingStrategy, find_hypotheses,
    inliers_of, outside_inliers,
};
use crate::frame::Pose;
use crate::rng::Rng;

fn truth() -> Pose {
    Pose::from_parts(
        Translation3::new(3.5, -1.2, 0.3),
        UnitQuaternion::from_euler_angles(0.05, -0.03, 2.1),
    )
}

fn room_point(rng: &mut Rng) -> Point3<f32> {
    Point3::new(
        rng.range(0.0, 8.0),
        rng.range(0.0, 6.0),
        rng.range(0.0, 2.2),
    )
}

fn noise(rng: &mut Rng, sigma: f32) -> Vector3<f32> {
    Vector3::new(rng.normal(), rng.normal(), rng.normal()) * sigma
}

/// `n_good` correct matches of distinct objects plus `n_bad` wrong ones (a live
/// object matched to another object's database entry), shuffled.
fn scene(seed: u64, n_good: usize, n_bad: usize) -> (Vec<Correspondence>, Vec<usize>) {
    let mut rng = Rng::new(seed);
    let T = truth();
    let objects: Vec<Point3<f32>> = (0..n_good).map(|_| room_point(&mut rng)).collect();
    let mut cands: Vec<(Correspondence, bool)> = objects
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let c = Correspondence {
                live: i as u32,
                db: 100 + i as u32,
                p_session: *p,
                p_map: T * p + noise(&mut rng, 0.03),
                weight: rng.range(0.4, 1.0),
                slack: 0.0,
            };
            (c, true)
        })
        .collect();
    for _ in 0..n_bad {
        // A wrong object at least 0.5 m away, so that it cannot be an inlier.
        let (live, db, l, d) = loop {
            let live = rng.below(n_good);
            let db = rng.below(n_good);
            let (l, d) = (objects[live], objects[db]);
            if (l - d).norm() > 0.5 {
                break (live, db, l, d);
            }
        };
        cands.push((
            Correspondence {
                live: live as u32,
                db: 100 + db as u32,
                p_session: l,
                p_map: T * d + noise(&mut rng, 0.03),
                weight: rng.range(0.4, 1.0),
                slack: 0.0,
            },
            false,
        ));
    }
    rng.shuffle(&mut cands);
    let good = cands
        .iter()
        .enumerate()
        .filter(|(_, c)| c.1)
        .map(|(i, _)| i)
        .collect();
    (cands.into_iter().map(|c| c.0).collect(), good)
}

fn centroid(c: &[Correspondence]) -> Point3<f32> {
    Point3::from(c.iter().map(|c| c.p_session.coords).sum::<Vector3<f32>>() / c.len() as f32)
}

#[test]
fn recovers_transform_with_sixty_percent_outliers_sampled_and_enumerated() {
    for (strategy, n_good, n_bad, mode) in [
        (SamplingStrategy::Auto, 40, 60, SamplingMode::Random),
        (SamplingStrategy::Auto, 16, 24, SamplingMode::Exhaustive),
        (SamplingStrategy::Random, 16, 24, SamplingMode::Random),
    ] {
        let (cands, good) = scene(7, n_good, n_bad);
        let cfg = RansacConfig {
            strategy,
            ..Default::default()
        };
        let out = find_hypotheses(&cands, &cfg).unwrap();
        assert_eq!(out.mode, mode);
        let best = out.best().expect("a hypothesis");
        let d = pose_difference(&best.T_map_session, &truth(), &centroid(&cands));
        assert!(
            d.translation_m < 0.03 && d.rotation_deg() < 0.5,
            "{d:?} ({mode:?})"
        );
        assert_eq!(best.inliers, good, "{mode:?}");
        assert!(best.inlier_rmse < 0.08);
        assert!(out.score_ratio() < 0.5, "ratio {}", out.score_ratio());
        assert!(out.unambiguous_best(SUGGESTED_MAX_SCORE_RATIO).is_some());
    }
}

#[test]
fn identical_objects_resolve_through_the_rest_of_the_scene() {
    let mut rng = Rng::new(31);
    let T = truth();
    // Three identical chairs on an equilateral triangle (a 120° symmetry of the
    // chairs alone) and five distinct objects.
    let centre = Point3::new(4.0, 3.0, 0.45);
    let chairs: Vec<Point3<f32>> = (0..3)
        .map(|k| {
            let a = k as f32 * 2.0 * std::f32::consts::PI / 3.0;
            centre + Vector3::new(a.cos(), a.sin(), 0.0) * 1.2
        })
        .collect();
    let others: Vec<Point3<f32>> = (0..5).map(|_| room_point(&mut rng)).collect();
    let mut cands = Vec::new();
    for (i, p) in chairs.iter().enumerate() {
        for (j, q) in chairs.iter().enumerate() {
            cands.push(Correspondence {
                live: i as u32,
                db: 100 + j as u32,
                p_session: *p,
                p_map: T * q + noise(&mut rng, 0.02),
                weight: 0.95,
                slack: 0.0,
            });
        }
    }
    for (i, p) in others.iter().enumerate() {
        cands.push(Correspondence {
            live: 10 + i as u32,
            db: 110 + i as u32,
            p_session: *p,
            p_map: T * p + noise(&mut rng, 0.02),
            weight: 0.6,
            slack: 0.0,
        });
        // A wrong, similar-looking match for each object.
        cands.push(Correspondence {
            live: 10 + i as u32,
            db: 200 + i as u32,
            p_session: *p,
            p_map: room_point(&mut rng),
            weight: 0.55,
            slack: 0.0,
        });
    }
    let out = find_hypotheses(&cands, &RansacConfig::default()).unwrap();
    let best = out.best().unwrap();
    let d = pose_difference(&best.T_map_session, &T, &centre);
    assert!(d.translation_m < 0.03 && d.rotation_deg() < 0.5, "{d:?}");
    // The right chair pairs (i, i) are inliers, the swapped ones are not.
    let chair_inliers: Vec<(u32, u32)> = best
        .inliers
        .iter()
        .filter_map(|&i| cands.get(i))
        .filter(|c| c.live < 3)
        .map(|c| (c.live, c.db - 100))
        .collect();
    assert_eq!(chair_inliers, vec![(0, 0), (1, 1), (2, 2)]);
    assert_eq!(best.inliers.len(), 8);
    assert!(out.score_ratio() < 0.6, "ratio {}", out.score_ratio());

    // The chairs alone are 3-fold symmetric: the runner-up scores as well as the
    // best, so the gate refuses the fix.
    let chairs_only: Vec<Correspondence> = cands.iter().filter(|c| c.live < 3).copied().collect();
    let cfg = RansacConfig {
        min_inliers: 3,
        ..Default::default()
    };
    let out = find_hypotheses(&chairs_only, &cfg).unwrap();
    assert!(out.hypotheses.len() >= 2);
    assert!(out.score_ratio() > 0.9, "ratio {}", out.score_ratio());
    assert!(out.unambiguous_best(0.8).is_none());
}

#[test]
fn random_correspondences_give_no_hypothesis() {
    for seed in 0..5 {
        let mut rng = Rng::new(1000 + seed);
        let cands: Vec<Correspondence> = (0..100)
            .map(|i| Correspondence {
                live: i,
                db: 1000 + rng.below(100) as u32,
                p_session: room_point(&mut rng),
                p_map: room_point(&mut rng),
                weight: rng.range(0.3, 1.0),
                slack: 0.0,
            })
            .collect();
        let out = find_hypotheses(&cands, &RansacConfig::default()).unwrap();
        assert!(
            out.triples_scored > 0,
            "the sampler must have tried something"
        );
        assert!(
            out.hypotheses.is_empty(),
            "seed {seed}: {:?}",
            out.hypotheses.first()
        );
    }
}

#[test]
fn chance_consensus_in_a_small_room_is_caught_by_the_ratio_gate() {
    // In a 4 m room, 20 live and 20 database objects with five random matches
    // each: chance consensus reaches 4-6 inliers, so the inlier count alone does
    // not protect, but no single wrong pose stands out.
    let mut reached_min_inliers = 0;
    for seed in 0..8 {
        let mut rng = Rng::new(500 + seed);
        let p = |rng: &mut Rng| {
            Point3::new(
                rng.range(0.0, 4.0),
                rng.range(0.0, 4.0),
                rng.range(0.0, 2.5),
            )
        };
        let live: Vec<Point3<f32>> = (0..20).map(|_| p(&mut rng)).collect();
        let db: Vec<Point3<f32>> = (0..20).map(|_| p(&mut rng)).collect();
        let cands: Vec<Correspondence> = (0..100)
            .map(|i| {
                let d = rng.below(20);
                Correspondence {
                    live: (i % 20) as u32,
                    db: d as u32,
                    p_session: live[i % 20],
                    p_map: db[d],
                    weight: rng.range(0.3, 1.0),
                    slack: 0.0,
                }
            })
            .collect();
        let out = find_hypotheses(&cands, &RansacConfig::default()).unwrap();
        reached_min_inliers += usize::from(!out.hypotheses.is_empty());
        assert!(
            out.score_ratio() > SUGGESTED_MAX_SCORE_RATIO,
            "seed {seed}: ratio {}",
            out.score_ratio()
        );
        assert!(out.unambiguous_best(SUGGESTED_MAX_SCORE_RATIO).is_none());
    }
    // The scenario is hard: chance consensus does pass the inlier floor.
    assert!(reached_min_inliers > 0);
}

#[test]
fn deterministic_for_a_seed_and_stable_across_seeds() {
    let (cands, good) = scene(77, 30, 45);
    let cfg = RansacConfig::default();
    let a = find_hypotheses(&cands, &cfg).unwrap();
    let b = find_hypotheses(&cands, &cfg).unwrap();
    assert_eq!(a, b);
    let other = find_hypotheses(&cands, &RansacConfig { seed: 99, ..cfg }).unwrap();
    assert_eq!(other.best().unwrap().inliers, good);
}

#[test]
fn small_or_bad_input_is_handled() {
    let (mut cands, _) = scene(5, 10, 0);
    let cfg = RansacConfig::default();
    assert!(
        find_hypotheses(&cands[..2], &cfg)
            .unwrap()
            .hypotheses
            .is_empty()
    );
    assert!(find_hypotheses(&[], &cfg).unwrap().best().is_none());
    let bad = RansacConfig {
        inlier_threshold: -1.0,
        ..Default::default()
    };
    assert!(find_hypotheses(&cands, &bad).is_err());
    // A non-finite candidate is skipped; indices still refer to the input slice.
    cands.insert(
        0,
        Correspondence {
            p_session: Point3::new(f32::NAN, 0.0, 0.0),
            ..cands[0]
        },
    );
    let out = find_hypotheses(&cands, &cfg).unwrap();
    assert_eq!(out.usable_candidates, 10);
    assert_eq!(out.best().unwrap().inliers, (1..11).collect::<Vec<_>>());
}

#[test]
fn inliers_of_a_given_pose_are_one_to_one_and_the_rest_is_what_they_leave() {
    let T = Pose::from_parts(
        Translation3::new(1.0, -2.0, 0.5),
        UnitQuaternion::from_euler_angles(0.0, 0.0, 0.7),
    );
    let c = |live: u32, db: u32, map: Point3<f32>, off: f32, slack: f32| Correspondence {
        live,
        db,
        p_session: T.inverse() * (map + Vector3::new(off, 0.0, 0.0)),
        p_map: map,
        weight: 0.9,
        slack,
    };
    let corr = vec![
        c(1, 10, Point3::new(0.0, 0.0, 0.0), 0.05, 0.0),
        c(2, 11, Point3::new(2.0, 0.0, 0.0), 0.0, 0.0),
        // The same live instance again, worse: counted once.
        c(2, 12, Point3::new(2.0, 1.0, 0.0), 0.2, 0.0),
        // Off by 0.6 m: out, unless its slack covers it.
        c(3, 13, Point3::new(0.0, 3.0, 0.0), 0.6, 0.0),
        c(4, 14, Point3::new(3.0, 3.0, 0.0), 0.6, 0.5),
    ];
    let cfg = RansacConfig::default();
    let inliers = inliers_of(&T, &corr, &cfg);
    assert_eq!(inliers, vec![0, 1, 4]);
    let rest = outside_inliers(&corr, &inliers);
    assert_eq!(
        rest.iter().map(|c| (c.live, c.db)).collect::<Vec<_>>(),
        vec![(2, 12), (3, 13)]
    );
    assert!(inliers_of(&T, &[], &cfg).is_empty());
}
