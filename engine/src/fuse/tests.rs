//! Fusion tests on synthetic box segments (no data files).

use std::f32::consts::PI;
use std::time::Instant;

use nalgebra::{Point3, Vector3};

use super::test_scenes::{SynthBox, box_segment, ring_pose, sample_visible, segment_from};
use super::*;
use crate::frame::Pose;
use crate::rng::Rng;
use crate::segment::Segment;

fn bx(c: [f32; 3], h: [f32; 3], color: [u8; 3]) -> SynthBox {
    SynthBox {
        center: Point3::from(c),
        half: Vector3::from(h),
        color,
    }
}

/// Ten frames around `boxes`: azimuth steps of 36°, elevation +25° then −25°.
fn ten_views(target: Point3<f32>, i: usize) -> Pose {
    let el = if i < 5 { 25.0f32 } else { -25.0 }.to_radians();
    ring_pose(target, 1.5, i as f32 * 0.2 * PI, el)
}

#[test]
fn one_box_seen_ten_times_is_one_instance_at_the_right_place() {
    let b = bx([1.0, 2.0, 0.5], [0.15, 0.10, 0.20], [200, 30, 30]);
    let mut map = LiveMap::new(FuseConfig::default()).unwrap();
    let mut rng = Rng::new(1);
    for i in 0..10 {
        let pose = ten_views(b.center, i);
        let seg = box_segment(&b, &pose, 500, &mut rng);
        let r = map.integrate(i as u64, &pose, &[seg]);
        if i == 0 {
            assert_eq!(r.created, vec![1]);
        } else {
            assert_eq!(r.updated, vec![1], "frame {i}: {r:?}");
            assert!(r.created.is_empty());
        }
    }
    assert_eq!(map.len(), 1);
    let inst = map.instance(1).unwrap();
    assert_eq!(inst.observations, 10);
    assert_eq!((inst.first_seen, inst.last_seen), (0, 9));
    let err = (inst.centroid - b.center).norm();
    assert!(err < 0.02, "centroid error {err} m");
    for k in 0..3 {
        assert!((inst.bbox_min[k] - (b.center[k] - b.half[k])).abs() < 0.02);
        assert!((inst.bbox_max[k] - (b.center[k] + b.half[k])).abs() < 0.02);
    }
    let cloud = inst.to_point_cloud();
    assert!(cloud.is_consistent() && cloud.len() > 300);
    assert!(cloud.colors.unwrap().iter().all(|c| *c == [200, 30, 30]));
    let normals = cloud.normals.unwrap();
    assert!(normals.iter().all(|n| (n.norm() - 1.0).abs() < 1e-3));
    assert_eq!(map.stable().count(), 1);
    assert_eq!(map.stable_instances(11).count(), 0);
}

#[test]
fn two_boxes_one_metre_apart_stay_two() {
    let a = bx([0.0, 0.0, 0.3], [0.15, 0.15, 0.15], [255, 0, 0]);
    let b = bx([1.0, 0.0, 0.3], [0.15, 0.15, 0.15], [0, 0, 255]);
    let mid = Point3::new(0.5, 0.0, 0.3);
    let mut map = LiveMap::new(FuseConfig::default()).unwrap();
    let mut rng = Rng::new(2);
    for i in 0..10 {
        let pose = ring_pose(mid, 2.5, -0.5 * PI + (i as f32 - 4.5) * 0.08, 0.4);
        let segs = [
            box_segment(&a, &pose, 500, &mut rng),
            box_segment(&b, &pose, 500, &mut rng),
        ];
        let r = map.integrate(i as u64, &pose, &segs);
        assert!(r.merged.is_empty());
    }
    assert_eq!(map.len(), 2);
    let ids: Vec<u32> = map.instances().map(|i| i.id).collect();
    assert_eq!(ids, vec![1, 2]);
    for (inst, truth) in map.instances().zip([a, b]) {
        assert_eq!(inst.observations, 10);
        // Only the camera-facing half is seen: the centroid is near, not at, the centre.
        assert!((inst.centroid - truth.center).norm() < 0.15);
    }
}

#[test]
fn split_object_is_merged_when_seen_whole() {
    let b = bx([0.0, 0.0, 0.4], [0.3, 0.15, 0.15], [0, 200, 0]);
    let mut map = LiveMap::new(FuseConfig::default()).unwrap();
    let mut rng = Rng::new(3);
    let pose0 = ring_pose(b.center, 1.5, -0.5 * PI, 0.5);
    let eye = Point3::from(pose0.translation.vector);
    let samples = sample_visible(&b, eye, 1000, 0.002, &mut rng);
    let (left, right): (Vec<_>, Vec<_>) = samples.iter().partition(|(p, _)| p.x < 0.0);
    let r0 = map.integrate(
        0,
        &pose0,
        &[
            segment_from(&pose0, &left, b.color),
            segment_from(&pose0, &right, b.color),
        ],
    );
    assert_eq!(r0.created, vec![1, 2]);
    let pose1 = ring_pose(b.center, 1.5, -0.45 * PI, 0.45);
    let r1 = map.integrate(1, &pose1, &[box_segment(&b, &pose1, 1000, &mut rng)]);
    assert_eq!(r1.merged, vec![(1, 2)]);
    assert_eq!(r1.updated, vec![1]);
    assert!(r1.created.is_empty());
    assert_eq!(map.len(), 1);
    let inst = map.instance(1).unwrap();
    assert_eq!(inst.observations, 2);
    assert!(map.instance(2).is_none());
    assert!(inst.centroid.x.abs() < 0.03, "{:?}", inst.centroid);
    assert!(inst.bbox_min.x < -0.28 && inst.bbox_max.x > 0.28);

    // The same sequence with a merge extent below the object's size: no merge,
    // the whole segment joins one half.
    let cfg = FuseConfig {
        max_merge_extent: 0.5,
        ..FuseConfig::default()
    };
    let mut map = LiveMap::new(cfg).unwrap();
    map.integrate(
        0,
        &pose0,
        &[
            segment_from(&pose0, &left, b.color),
            segment_from(&pose0, &right, b.color),
        ],
    );
    let r1 = map.integrate(1, &pose1, &[box_segment(&b, &pose1, 1000, &mut rng)]);
    assert!(r1.merged.is_empty());
    assert_eq!(r1.updated.len(), 1);
    assert_eq!(map.len(), 2);
}

#[test]
fn centroid_radius_gates_candidates() {
    // Front view, then a view from the side: the segment centroids differ by
    // several centimetres, so a 3 cm gate separates them and a 30 cm gate joins.
    let b = bx([0.0, 0.0, 0.0], [0.2, 0.2, 0.2], [9, 9, 9]);
    let run = |gate: f32| {
        let cfg = FuseConfig {
            max_centroid_distance: gate,
            ..FuseConfig::default()
        };
        let mut map = LiveMap::new(cfg).unwrap();
        let mut rng = Rng::new(4);
        for (i, az) in [0.0f32, 0.35 * PI].iter().enumerate() {
            let pose = ring_pose(b.center, 1.5, *az, 0.3);
            map.integrate(i as u64, &pose, &[box_segment(&b, &pose, 800, &mut rng)]);
        }
        map.len()
    };
    assert_eq!(run(0.3), 1);
    assert_eq!(run(0.03), 2);
}

#[test]
fn points_per_instance_never_exceed_the_cap() {
    let b = bx([0.0, 0.0, 0.0], [1.0, 0.5, 0.5], [50, 50, 50]);
    for cap in [4000usize, 300] {
        let cfg = FuseConfig {
            max_points_per_instance: cap,
            ..FuseConfig::default()
        };
        let mut map = LiveMap::new(cfg).unwrap();
        let mut rng = Rng::new(5);
        for i in 0..10 {
            let pose = ten_views(b.center, i);
            map.integrate(i as u64, &pose, &[box_segment(&b, &pose, 20_000, &mut rng)]);
            for inst in map.instances() {
                assert!(inst.len() <= cap, "cap {cap}: {} points", inst.len());
                assert!(inst.overlap_len() <= inst.len());
            }
        }
        assert_eq!(map.len(), 1, "cap {cap}");
        let inst = map.instance(1).unwrap();
        assert!(inst.voxel_size() > 0.02 && inst.len() > cap / 8);
        assert!((inst.centroid - b.center).norm() < 0.03);
    }
}

fn random_frame(rng: &mut Rng, frame: u64, n_segments: usize, n_points: usize) -> Vec<Segment> {
    // Fresh objects every frame: far apart from all previous ones.
    let pose = Pose::identity();
    (0..n_segments)
        .map(|k| {
            let c = Point3::new(
                frame as f32 * 3.0 + rng.range(-1.0, 1.0),
                k as f32 * 3.0 + rng.range(-1.0, 1.0),
                5.0 + rng.range(-1.0, 1.0),
            );
            let b = bx(c.into(), [0.1, 0.1, 0.1], [k as u8, 0, 0]);
            box_segment(&b, &pose, n_points, rng)
        })
        .collect()
}

#[test]
fn memory_stays_bounded_over_a_thousand_frames_of_fresh_objects() {
    let capped = FuseConfig {
        max_instances: 200,
        ..FuseConfig::default()
    };
    let unlimited = FuseConfig {
        max_instances: 1_000_000,
        stale_frames: 30,
        ..FuseConfig::default()
    };
    let bound = capped.max_instances * capped.max_points_per_instance;
    let mut a = LiveMap::new(capped).unwrap();
    let mut b = LiveMap::new(unlimited).unwrap();
    let mut rng = Rng::new(6);
    let (mut retired_a, mut retired_b) = (0, 0);
    for f in 0..1000u64 {
        let segs = random_frame(&mut rng, f, 20, 100);
        retired_a += a.integrate(f, &Pose::identity(), &segs).retired.len();
        retired_b += b.integrate(f, &Pose::identity(), &segs).retired.len();
        assert!(a.len() <= 200 && a.memory_points() <= bound);
        // Staleness alone bounds the unlimited map: 20 objects per frame, kept
        // for stale_frames + 1 frames.
        assert!(b.len() <= 20 * 31, "frame {f}: {}", b.len());
    }
    assert_eq!(a.len(), 200);
    assert_eq!(retired_a, 20 * 1000 - 200);
    assert_eq!(b.len(), 20 * 31);
    assert_eq!(retired_b, 20 * 1000 - 20 * 31);
    assert!(a.memory_points() < 200 * 150);
    // Ids are never reused.
    assert_eq!(a.instances().last().unwrap().id, 20_000);
}

#[test]
fn well_observed_instances_survive_staleness_and_weak_ones_do_not() {
    let cfg = FuseConfig {
        stale_frames: 20,
        ..FuseConfig::default()
    };
    let mut map = LiveMap::new(cfg).unwrap();
    let mut rng = Rng::new(7);
    let strong = bx([0.0, 0.0, 0.0], [0.2, 0.2, 0.2], [1, 1, 1]);
    let weak = bx([5.0, 0.0, 0.0], [0.2, 0.2, 0.2], [2, 2, 2]);
    let pose = ring_pose(strong.center, 1.5, 0.0, 0.3);
    let pose_w = ring_pose(weak.center, 1.5, 0.0, 0.3);
    for f in 0..6 {
        map.integrate(f, &pose, &[box_segment(&strong, &pose, 400, &mut rng)]);
    }
    map.integrate(6, &pose_w, &[box_segment(&weak, &pose_w, 400, &mut rng)]);
    let mut retired = Vec::new();
    for f in 7..100 {
        retired.extend(map.integrate(f, &pose, &[]).retired);
    }
    assert_eq!(retired, vec![2]);
    assert_eq!(map.instances().map(|i| i.id).collect::<Vec<_>>(), vec![1]);
}

/// Per-instance id and points.
type MapState = Vec<(u32, Vec<Point3<f32>>)>;

fn run_sequence(seed: u64) -> (Vec<IntegrateReport>, MapState) {
    let mut map = LiveMap::new(FuseConfig::default()).unwrap();
    let mut rng = Rng::new(seed);
    let boxes: Vec<SynthBox> = (0..12)
        .map(|k| {
            let c = [
                rng.range(-2.0, 2.0),
                rng.range(-2.0, 2.0),
                rng.range(0.0, 1.0),
            ];
            bx(c, [0.12, 0.1, 0.15], [k as u8 * 20, 0, 0])
        })
        .collect();
    let mut reports = Vec::new();
    for f in 0..20 {
        let pose = ring_pose(Point3::origin(), 4.0, f as f32 * 0.1, 0.5);
        let segs: Vec<Segment> = boxes
            .iter()
            .map(|b| box_segment(b, &pose, 300, &mut rng))
            .collect();
        reports.push(map.integrate(f, &pose, &segs));
    }
    let state = map
        .instances()
        .map(|i| (i.id, i.points().to_vec()))
        .collect();
    (reports, state)
}

#[test]
fn same_input_gives_same_ids_points_and_reports() {
    let (r1, s1) = run_sequence(11);
    let (r2, s2) = run_sequence(11);
    assert_eq!(r1, r2);
    assert_eq!(s1, s2);
    let ids: Vec<u32> = s1.iter().map(|(id, _)| *id).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert!(!ids.is_empty());
}

#[test]
fn structure_points_are_voxelised_and_bounded() {
    let cfg = FuseConfig {
        max_structure_points: 1000,
        ..FuseConfig::default()
    };
    let mut map = LiveMap::new(cfg).unwrap();
    let mut rng = Rng::new(8);
    // A 1 m x 1 m floor patch at z = 0: 400 voxels of 5 cm.
    let floor: Vec<Point3<f32>> = (0..5000)
        .map(|_| Point3::new(rng.range(0.0, 1.0), rng.range(0.0, 1.0), 0.025))
        .collect();
    let pose = ring_pose(Point3::new(0.5, 0.5, 0.0), 2.0, 0.3, 1.0);
    let camera: Vec<Point3<f32>> = floor.iter().map(|p| pose.inverse() * p).collect();
    let normals = vec![pose.inverse().rotation * Vector3::z(); camera.len()];
    assert_eq!(map.integrate_structure(&pose, &camera, &normals), 5000);
    let n = map.structure_points().len();
    assert!((395..=441).contains(&n), "{n}");
    map.integrate_structure(&pose, &camera, &normals);
    assert_eq!(map.structure_points().len(), n);
    let s = map.structure();
    assert_eq!(s.voxel_size(), 0.05);
    assert!(s.normals().iter().all(|m| (m - Vector3::z()).norm() < 1e-3));
    assert!(s.points().iter().all(|p| (p.z - 0.025).abs() < 1e-4));
    // A 4 m x 4 m floor exceeds the cap and gets thinned.
    let big: Vec<Point3<f32>> = (0..40_000)
        .map(|_| Point3::new(rng.range(0.0, 4.0), rng.range(0.0, 4.0), 0.0))
        .collect();
    map.integrate_structure(&Pose::identity(), &big, &[]);
    assert!(map.structure_points().len() <= 1000);
    assert!(map.structure().voxel_size() >= 0.1);
    assert_eq!(map.memory_points(), map.structure_points().len());
}

#[test]
fn bad_input_is_skipped_not_fatal() {
    assert!(
        LiveMap::new(FuseConfig {
            voxel_size: 0.0,
            ..FuseConfig::default()
        })
        .is_err()
    );
    assert!(
        LiveMap::new(FuseConfig {
            min_overlap_ratio: 1.5,
            ..FuseConfig::default()
        })
        .is_err()
    );
    let mut map = LiveMap::new(FuseConfig::default()).unwrap();
    let mut rng = Rng::new(9);
    let b = bx([0.0, 0.0, 2.0], [0.2, 0.2, 0.2], [5, 5, 5]);
    let mut seg = box_segment(&b, &Pose::identity(), 500, &mut rng);
    seg.points.push(Point3::new(f32::NAN, 0.0, 0.0));
    seg.normals.clear();
    let tiny = box_segment(&b, &Pose::identity(), 3, &mut rng);
    let mut bad_pose = Pose::identity();
    bad_pose.translation.vector.x = f32::NAN;
    let r = map.integrate(0, &bad_pose, std::slice::from_ref(&seg));
    assert!(r.created.is_empty() && map.is_empty());
    let r = map.integrate(1, &Pose::identity(), &[seg, tiny]);
    assert_eq!((r.created.len(), r.skipped_segments), (1, 1));
    let inst = map.instance(1).unwrap();
    assert!(
        inst.points()
            .iter()
            .all(|p| p.coords.iter().all(|v| v.is_finite()))
    );
    assert!(inst.normals().iter().all(|n| *n == Vector3::zeros()));
}

/// CPU time of the calling thread in nanoseconds (Linux `schedstat`), so timings
/// are not inflated by other processes on a shared machine.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Per-frame integrate time for 20 segments of 500 points (run in release; the
/// assertion is loose so a loaded machine does not fail it, the number is printed).
#[test]
fn integrate_time_for_twenty_segments() {
    let mut map = LiveMap::new(FuseConfig::default()).unwrap();
    let mut rng = Rng::new(10);
    let boxes: Vec<SynthBox> = (0..20)
        .map(|k| {
            let c = [(k % 5) as f32 * 0.8 - 1.6, (k / 5) as f32 * 0.8 - 1.2, 0.3];
            bx(c, [0.15, 0.12, 0.2], [k as u8, 0, 0])
        })
        .collect();
    let frames = 200;
    let mut inputs = Vec::new();
    for f in 0..frames {
        let pose = ring_pose(Point3::new(0.0, 0.0, 0.3), 4.0, f as f32 * 0.005, 0.6);
        let segs: Vec<Segment> = boxes
            .iter()
            .map(|b| box_segment(b, &pose, 500, &mut rng))
            .collect();
        inputs.push((pose, segs));
    }
    let mut times = Vec::new();
    let cpu0 = thread_cpu_ns();
    for (f, (pose, segs)) in inputs.iter().enumerate() {
        let t = Instant::now();
        map.integrate(f as u64, pose, segs);
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let cpu_ms = thread_cpu_ns()
        .zip(cpu0)
        .map(|(b, a)| (b - a) as f64 / 1e6 / frames as f64);
    assert_eq!(map.len(), 20);
    assert!(map.instances().all(|i| i.observations == frames));
    times.sort_by(f64::total_cmp);
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    let p95 = times[times.len() * 95 / 100];
    println!(
        "fuse integrate, 20 segments x 500 points: wall mean {mean:.3} ms, median {:.3} ms, \
         p95 {p95:.3} ms; thread CPU {:?} ms per frame",
        times[times.len() / 2],
        cpu_ms
    );
    assert!(mean < 30.0, "mean {mean} ms");
}
