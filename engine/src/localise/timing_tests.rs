//! Release-mode timings (ignored by default; run with
//! `cargo test --release -p crossloc localise::timing -- --ignored --nocapture`).

use std::time::Instant;

use nalgebra::{Point3, Translation3, UnitQuaternion, Vector3};

use super::correspondence::Correspondence;
use super::icp::{IcpConfig, IcpTarget};
use super::ransac::{RansacConfig, find_hypotheses};
use crate::frame::Pose;
use crate::rng::Rng;

fn median_ms(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

#[test]
#[ignore = "timing report, run manually in release"]
fn timing_ransac_100_candidates_and_icp_5k_on_100k() {
    let T = Pose::from_parts(
        Translation3::new(1.0, 2.0, 0.1),
        UnitQuaternion::from_euler_angles(0.0, 0.0, 1.0),
    );
    // RANSAC: 30 objects, 100 candidates (70% wrong).
    let mut rng = Rng::new(1);
    let objs: Vec<Point3<f32>> = (0..30)
        .map(|_| {
            Point3::new(
                rng.range(0.0, 8.0),
                rng.range(0.0, 6.0),
                rng.range(0.0, 2.0),
            )
        })
        .collect();
    let mut cands: Vec<Correspondence> = Vec::new();
    for (i, p) in objs.iter().enumerate() {
        cands.push(Correspondence {
            live: i as u32,
            db: i as u32,
            p_session: *p,
            p_map: T * p,
            weight: rng.range(0.4, 1.0),
            slack: 0.0,
        });
    }
    while cands.len() < 100 {
        let (a, b) = (rng.below(30), rng.below(30));
        if a != b {
            cands.push(Correspondence {
                live: a as u32,
                db: b as u32,
                p_session: objs[a],
                p_map: T * objs[b],
                weight: rng.range(0.4, 1.0),
                slack: 0.0,
            });
        }
    }
    rng.shuffle(&mut cands);
    let mut times = Vec::new();
    let mut last = None;
    for seed in 0..20 {
        let t0 = Instant::now();
        let out = find_hypotheses(
            &cands,
            &RansacConfig {
                seed,
                ..Default::default()
            },
        )
        .unwrap();
        times.push(t0.elapsed().as_secs_f64() * 1e3);
        last = Some(out);
    }
    let out = last.unwrap();
    println!(
        "RANSAC 100 candidates: median {:.3} ms, {} draws, {} scored, best {:.2} ({} inliers) second {:.2}",
        median_ms(times),
        out.iterations,
        out.triples_scored,
        out.best_score,
        out.best().map_or(0, |h| h.inliers.len()),
        out.second_score
    );

    // ICP: 100k-point target (random oriented planes patches in a room), 5k source.
    let mut pts = Vec::new();
    let mut nrm = Vec::new();
    let planes = [
        (
            Point3::new(0.0, 0.0, 0.0),
            Vector3::x() * 6.0,
            Vector3::y() * 5.0,
        ),
        (
            Point3::new(0.0, 0.0, 0.0),
            Vector3::y() * 5.0,
            Vector3::z() * 2.5,
        ),
        (
            Point3::new(0.0, 0.0, 0.0),
            Vector3::z() * 2.5,
            Vector3::x() * 6.0,
        ),
        (
            Point3::new(2.0, 1.0, 0.7),
            Vector3::new(0.8, 0.3, 0.0),
            Vector3::new(-0.2, 0.6, 0.0),
        ),
        (
            Point3::new(3.0, 3.0, 0.0),
            Vector3::new(0.0, 0.0, 1.0),
            Vector3::new(0.7, 0.7, 0.0),
        ),
    ];
    for i in 0..100_000 {
        let (o, u, v) = planes[i % planes.len()];
        pts.push(o + u * rng.f32() + v * rng.f32());
        nrm.push(u.cross(&v).normalize());
    }
    let t0 = Instant::now();
    let target = IcpTarget::new(pts.clone(), nrm).unwrap();
    let build_ms = t0.elapsed().as_secs_f64() * 1e3;
    let T_session_map = T.inverse();
    // Fresh samples of the same surfaces (not copies of target points).
    let src: Vec<Point3<f32>> = (0..5000)
        .map(|i| {
            let (o, u, v) = planes[i % planes.len()];
            T_session_map * (o + u * rng.f32() + v * rng.f32())
        })
        .collect();
    // 10° about a tilted axis through the room centre, plus 20 cm.
    let about = Vector3::new(3.0, 2.5, 1.0);
    let r = UnitQuaternion::from_axis_angle(
        &nalgebra::Unit::new_normalize(Vector3::new(1.0, -1.0, 0.5)),
        10f32.to_radians(),
    );
    let delta =
        Translation3::from(about + Vector3::new(0.12, -0.12, 0.1)) * r * Translation3::from(-about);
    let init = delta * T;
    let mut times = Vec::new();
    let mut res = None;
    for _ in 0..7 {
        let t0 = Instant::now();
        res = Some(target.refine(&src, &init, &IcpConfig::default()).unwrap());
        times.push(t0.elapsed().as_secs_f64() * 1e3);
    }
    let res = res.unwrap();
    println!(
        "ICP 5k on 100k: tree build {build_ms:.1} ms, refine median {:.1} ms ({} iterations, fitness {:.3}, rmse {:.4}, converged {}, error {:.4} m {:.3} deg)",
        median_ms(times),
        res.iterations,
        res.fitness,
        res.inlier_rmse,
        res.converged,
        (res.T_map_session.translation.vector - T.translation.vector).norm(),
        res.T_map_session
            .rotation
            .angle_to(&T.rotation)
            .to_degrees()
    );
}
