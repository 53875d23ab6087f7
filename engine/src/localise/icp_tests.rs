//! Tests of [`super::icp`] on a synthetic room corner with boxes.

use nalgebra::{Point3, Translation3, Unit, UnitQuaternion, Vector3};

use super::compare::pose_difference;
use super::icp::{IcpConfig, IcpTarget, RobustKernel, refine_point_to_plane};
use crate::frame::Pose;
use crate::rng::Rng;

/// A rectangle `origin + s·u + t·v` (`s, t ∈ [0, 1]`) with its outward normal.
struct Rect {
    origin: Point3<f32>,
    u: Vector3<f32>,
    v: Vector3<f32>,
}

impl Rect {
    fn area(&self) -> f32 {
        self.u.cross(&self.v).norm()
    }
    fn normal(&self) -> Vector3<f32> {
        self.u.cross(&self.v).normalize()
    }
}

/// The visible faces (top and four sides) of a box standing on the floor,
/// rotated by `yaw` about its vertical axis.
fn box_faces(centre: Point3<f32>, size: Vector3<f32>, yaw: f32) -> Vec<Rect> {
    let r = UnitQuaternion::from_axis_angle(&Vector3::z_axis(), yaw);
    let (ex, ey, ez) = (
        r * Vector3::x() * size.x,
        r * Vector3::y() * size.y,
        Vector3::z() * size.z,
    );
    let c0 = centre - ex / 2.0 - ey / 2.0; // bottom corner
    vec![
        Rect {
            origin: c0 + ez,
            u: ex,
            v: ey,
        }, // top (+z)
        Rect {
            origin: c0,
            u: ez,
            v: ey,
        }, // -x side (normal ez × ey = -x)
        Rect {
            origin: c0 + ex,
            u: ey,
            v: ez,
        }, // +x side
        Rect {
            origin: c0,
            u: ex,
            v: ez,
        }, // -y side (ex × ez = -y)
        Rect {
            origin: c0 + ey,
            u: ez,
            v: ex,
        }, // +y side
    ]
}

/// Floor, two walls of a 4 m × 4 m corner, and three boxes (one rotated).
fn corner_room() -> Vec<Rect> {
    let mut rects = vec![
        Rect {
            origin: Point3::origin(),
            u: Vector3::x() * 4.0,
            v: Vector3::y() * 4.0,
        }, // floor (+z)
        Rect {
            origin: Point3::origin(),
            u: Vector3::y() * 4.0,
            v: Vector3::z() * 2.5,
        }, // wall x=0 (+x)
        Rect {
            origin: Point3::origin(),
            u: Vector3::z() * 2.5,
            v: Vector3::x() * 4.0,
        }, // wall y=0 (+y)
    ];
    rects.extend(box_faces(
        Point3::new(1.2, 1.0, 0.0),
        Vector3::new(0.6, 0.4, 0.5),
        0.0,
    ));
    rects.extend(box_faces(
        Point3::new(2.6, 2.4, 0.0),
        Vector3::new(0.5, 0.9, 0.9),
        0.5,
    ));
    rects.extend(box_faces(
        Point3::new(0.8, 3.0, 0.0),
        Vector3::new(0.7, 0.7, 0.3),
        -0.3,
    ));
    rects
}

/// `n` points sampled uniformly on `rects` (by area) with their normals, plus
/// Gaussian noise of `sigma` metres along the normal.
fn sample(
    rects: &[Rect],
    n: usize,
    seed: u64,
    sigma: f32,
) -> (Vec<Point3<f32>>, Vec<Vector3<f32>>) {
    let mut rng = Rng::new(seed);
    let total: f32 = rects.iter().map(Rect::area).sum();
    let mut pts = Vec::with_capacity(n);
    let mut nrm = Vec::with_capacity(n);
    for _ in 0..n {
        let mut pick = rng.f32() * total;
        let mut chosen = &rects[0];
        for r in rects {
            chosen = r;
            pick -= r.area();
            if pick <= 0.0 {
                break;
            }
        }
        let normal = chosen.normal();
        pts.push(
            chosen.origin
                + chosen.u * rng.f32()
                + chosen.v * rng.f32()
                + normal * sigma * rng.normal(),
        );
        nrm.push(normal);
    }
    (pts, nrm)
}

fn truth() -> Pose {
    Pose::from_parts(
        Translation3::new(-2.0, 5.0, 1.1),
        UnitQuaternion::from_euler_angles(0.02, 0.04, -0.8),
    )
}

/// Session-frame source points and the centroid they occupy in the map.
fn source(n: usize, seed: u64) -> (Vec<Point3<f32>>, Point3<f32>) {
    let (map_pts, _) = sample(&corner_room(), n, seed, 0.002);
    let centroid = Point3::from(map_pts.iter().map(|p| p.coords).sum::<Vector3<f32>>() / n as f32);
    let T_session_map = truth().inverse();
    (
        map_pts.iter().map(|p| T_session_map * p).collect(),
        centroid,
    )
}

/// `truth()` disturbed by `deg` degrees about `axis` through the map point
/// `about`, and by `shift` metres.
fn disturbed(deg: f32, axis: Vector3<f32>, about: Point3<f32>, shift: Vector3<f32>) -> Pose {
    let r = UnitQuaternion::from_axis_angle(&Unit::new_normalize(axis), deg.to_radians());
    let delta = Translation3::from(about.coords + shift) * r * Translation3::from(-about.coords);
    delta * truth()
}

#[test]
fn converges_from_ten_degrees_and_twenty_centimetres() {
    let (tp, tn) = sample(&corner_room(), 40_000, 1, 0.0);
    let target = IcpTarget::new(tp, tn).unwrap();
    let (src, centroid) = source(3_000, 2);
    let session_centroid = truth().inverse() * centroid;
    let cases = [
        (Vector3::new(1.0, 0.0, 0.0), Vector3::new(0.2, 0.0, 0.0)),
        (Vector3::new(0.3, -0.5, 1.0), Vector3::new(0.0, -0.12, 0.16)),
        (Vector3::new(-1.0, 1.0, 0.2), Vector3::new(0.1, 0.1, -0.14)),
    ];
    let kernels = [RobustKernel::Tukey, RobustKernel::Huber, RobustKernel::None];
    for ((axis, shift), kernel) in cases.into_iter().zip(kernels) {
        let init = disturbed(10.0, axis, centroid, shift);
        let before = pose_difference(&init, &truth(), &session_centroid);
        assert!(before.rotation_deg() > 9.9 && before.translation_m > 0.19);
        let cfg = IcpConfig {
            kernel,
            ..Default::default()
        };
        let res = target.refine(&src, &init, &cfg).unwrap();
        let after = pose_difference(&res.T_map_session, &truth(), &session_centroid);
        assert!(
            after.translation_m < 0.01 && after.rotation_deg() < 0.5,
            "{after:?} {res:?}"
        );
        // The worst point moves by under a centimetre too.
        for p in &src {
            assert!((res.T_map_session * p - truth() * p).norm() < 0.01);
        }
        assert!(res.converged, "{res:?}");
        assert!(res.fitness > 0.95, "{res:?}");
        assert!(res.inlier_rmse < 0.005, "{res:?}");
        assert_eq!(res.degenerate_directions, 0);
        // Without the fitness pass: the same refinement, no score.
        let bare = target.refine_unscored(&src, &init, &cfg).unwrap();
        assert_eq!(bare.T_map_session, res.T_map_session);
        assert_eq!(
            (bare.iterations, bare.converged, bare.degenerate_directions),
            (res.iterations, res.converged, res.degenerate_directions)
        );
        assert_eq!((bare.fitness, bare.inlier_rmse), (0.0, 0.0));
    }
}

#[test]
fn foreign_source_gets_low_fitness() {
    let (tp, tn) = sample(&corner_room(), 20_000, 3, 0.0);
    // A sphere floating in the room is not part of the target surface.
    let mut rng = Rng::new(4);
    let sphere: Vec<Point3<f32>> = (0..2000)
        .map(|_| {
            let d = Vector3::new(rng.normal(), rng.normal(), rng.normal()).normalize();
            Point3::new(2.0, 2.0, 1.8) + d * 0.6
        })
        .collect();
    let res =
        refine_point_to_plane(&sphere, &tp, &tn, &Pose::identity(), &IcpConfig::default()).unwrap();
    assert!(res.fitness < 0.3, "{res:?}");

    // Far from everything: no correspondences at all is a result, not an error.
    let far = Pose::translation(100.0, 0.0, 0.0);
    let res = refine_point_to_plane(&sphere, &tp, &tn, &far, &IcpConfig::default()).unwrap();
    assert_eq!(
        (res.fitness, res.iterations, res.converged),
        (0.0, 0, false)
    );
    assert_eq!(res.T_map_session, far);

    // The right source at the right pose, by contrast, fits.
    let (src, _) = source(2000, 5);
    let res = refine_point_to_plane(&src, &tp, &tn, &truth(), &IcpConfig::default()).unwrap();
    assert!(res.fitness > 0.95, "{res:?}");
}

#[test]
fn a_single_plane_is_reported_degenerate_and_does_not_drift() {
    let floor = [Rect {
        origin: Point3::origin(),
        u: Vector3::x() * 4.0,
        v: Vector3::y() * 4.0,
    }];
    let (tp, tn) = sample(&floor, 10_000, 6, 0.0);
    let (sp, _) = sample(
        &[Rect {
            origin: Point3::new(1.0, 1.0, 0.0),
            u: Vector3::x() * 2.0,
            v: Vector3::y() * 2.0,
        }],
        2000,
        7,
        0.0,
    );
    // Lift by 10 cm and shift sideways by 5 cm: only the lift is observable.
    let init = Pose::translation(0.05, 0.0, 0.1);
    let res = refine_point_to_plane(&sp, &tp, &tn, &init, &IcpConfig::default()).unwrap();
    assert_eq!(res.degenerate_directions, 3, "{res:?}");
    let t = res.T_map_session.translation.vector;
    assert!(t.z.abs() < 1e-3, "{t:?}");
    assert!((t.x - 0.05).abs() < 1e-3 && t.y.abs() < 1e-3, "{t:?}");
}

#[test]
fn target_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<IcpTarget>();
}

#[test]
fn bad_inputs_are_typed_errors() {
    let p = vec![Point3::new(0.0, 0.0, 0.0); 3];
    let n = vec![Vector3::z(); 2];
    assert!(IcpTarget::new(p.clone(), n).is_err());
    assert!(IcpTarget::new(Vec::new(), Vec::new()).is_err());
    assert!(IcpTarget::new(p.clone(), vec![Vector3::zeros(); 3]).is_err());
    let target = IcpTarget::new(p.clone(), vec![Vector3::z(); 3]).unwrap();
    assert!(
        target
            .refine(&p, &Pose::identity(), &IcpConfig::default())
            .is_err()
    );
    let bad = IcpConfig {
        final_max_distance: 2.0,
        ..Default::default()
    };
    let many = vec![Point3::new(0.0, 0.0, 0.0); 100];
    assert!(target.refine(&many, &Pose::identity(), &bad).is_err());
}

#[test]
fn staged_refinement_with_engine_defaults_converges_from_twelve_degrees() {
    let (tp, tn) = sample(&corner_room(), 40_000, 3, 0.0);
    let target = IcpTarget::new(tp, tn).unwrap();
    let (src, centroid) = source(3_000, 4);
    let session_centroid = truth().inverse() * centroid;
    let engine = crate::pipeline::EngineConfig::default();
    for (axis, shift) in [
        (Vector3::new(0.2, 0.1, 1.0), Vector3::new(0.25, -0.1, 0.0)),
        (Vector3::new(1.0, -0.4, 0.3), Vector3::new(-0.1, 0.2, 0.1)),
    ] {
        let init = disturbed(12.0, axis, centroid, shift);
        let res = target
            .refine_staged(&src, &init, &engine.icp, &engine.icp_polish)
            .unwrap();
        let after = pose_difference(&res.T_map_session, &truth(), &session_centroid);
        assert!(
            after.translation_m < 0.01 && after.rotation_deg() < 0.5,
            "{after:?} {res:?}"
        );
        // The fitness is the polish stage's, measured at its tight distance.
        assert!(res.fitness > 0.95, "{res:?}");
        let coarse = target.refine(&src, &init, &engine.icp).unwrap();
        assert!(res.iterations > coarse.iterations, "{res:?} {coarse:?}");
    }
    // A bad initial pose is a typed error in either stage, not a panic.
    let nan = Pose::from_parts(
        Translation3::new(f32::NAN, 0.0, 0.0),
        UnitQuaternion::identity(),
    );
    assert!(
        target
            .refine_staged(&src, &nan, &engine.icp, &engine.icp_polish)
            .is_err()
    );
}

#[test]
fn a_lookup_table_brings_a_coarse_stage_within_the_polish_stage_reach() {
    let (tp, tn) = sample(&corner_room(), 40_000, 1, 0.0);
    let exact = IcpTarget::new(tp.clone(), tn.clone()).unwrap();
    let table = IcpTarget::new(tp, tn)
        .unwrap()
        .with_lookup(0.04, 0.5, 1 << 24);
    assert!(table.lookup().is_some());
    let (src, centroid) = source(1_000, 2);
    let session_centroid = truth().inverse() * centroid;
    let coarse = IcpConfig {
        initial_max_distance: 0.5,
        final_max_distance: 0.1,
        shrink: 0.85,
        max_iterations: 40,
        ..Default::default()
    };
    let polish = IcpConfig {
        initial_max_distance: 0.1,
        final_max_distance: 0.05,
        shrink: 0.75,
        max_iterations: 10,
        ..Default::default()
    };
    let init = disturbed(
        10.0,
        Vector3::new(0.3, -0.5, 1.0),
        centroid,
        Vector3::new(0.0, -0.12, 0.16),
    );
    let rough = table.refine_unscored(&src, &init, &coarse).unwrap();
    let near = pose_difference(&rough.T_map_session, &truth(), &session_centroid);
    // Approximate pairs, but point-to-plane residuals on a densely sampled
    // surface: close; the polish stage on the exact target finishes the job.
    assert!(
        near.translation_m < 0.01 && near.rotation_deg() < 0.5,
        "{near:?}"
    );
    let fine = exact.refine(&src, &rough.T_map_session, &polish).unwrap();
    let after = pose_difference(&fine.T_map_session, &truth(), &session_centroid);
    assert!(
        after.translation_m < 0.005 && after.rotation_deg() < 0.3,
        "{after:?}"
    );
    // Bounded queries within the table's reach are answered from it; beyond
    // its reach, the tree answers exactly.
    let q = truth() * src[0] + Vector3::new(0.0, 0.0, 0.3);
    let (i, d) = table.nearest_within(&q, 0.5).unwrap();
    let (_, exact_d) = exact.nearest(&q).unwrap();
    assert!(d >= exact_d && d <= exact_d + 0.14, "{d} vs {exact_d}");
    assert_eq!(table.points()[i], exact.points()[i]);
    assert_eq!(table.nearest_within(&q, 0.6), exact.nearest_within(&q, 0.6));
    let differ = src
        .iter()
        .filter(|p| {
            let q = truth() * **p + Vector3::new(0.0, 0.0, 0.2);
            table.nearest_within(&q, 0.5) != exact.nearest_within(&q, 0.5)
        })
        .count();
    assert!(
        differ > 100,
        "the table answered like the tree ({differ} differ)"
    );
}
