//! Tests of the synthetic world: determinism, rendering exactness and noise
//! bounds, layout rules, rescan change lists, trajectories and the files on disk.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use nalgebra::{Point2, Point3, Vector3};

use super::footprint::Footprint;
use super::layout::{MAX_OBJECTS, MIN_OBJECTS, Placer, pose_xy};
use super::noise::axial_sigma;
use super::objects::{Material, Object, ObjectKind, ObjectModel};
use super::render::NEAR_PLANE_M;
use super::rescan::{ADDED_ID_STRIDE, ChangeKind, is_moved, pose_delta};
use super::texture::Texture;
use super::trajectory::{
    CAMERA_MAX_HEIGHT, CAMERA_MIN_HEIGHT, MAX_STEP_M, MAX_TURN_DEG, MIN_WALL_DISTANCE, camera_pose,
    roll_of, scan_trajectory, turn_deg,
};
use super::*;
use crate::frame::CameraIntrinsics;

fn small_intrinsics() -> CameraIntrinsics {
    CameraIntrinsics {
        fx: 131.25,
        fy: 131.25,
        cx: 79.5,
        cy: 59.5,
        width: 160,
        height: 120,
    }
}

fn small_config(seed: u64) -> SynthConfig {
    SynthConfig {
        seed,
        rooms: 1,
        rescans: 1,
        frames: 10,
        reference_frames: None,
        intrinsics: small_intrinsics(),
        changes: None,
        noise: true,
    }
}

fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn same_seed_gives_identical_files_and_another_seed_differs() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let mut calls = Vec::new();
    let s = generate_dataset(&small_config(7), a.path(), &mut |p| calls.push(p)).unwrap();
    // another thread count must not change a byte
    super::writer::generate_dataset_with_threads(&small_config(7), b.path(), &mut |_| {}, 1)
        .unwrap();
    generate_dataset(&small_config(8), c.path(), &mut |_| {}).unwrap();
    assert_eq!((s.rooms, s.scans, s.frames), (1, 2, 20));
    assert_eq!(calls.len(), 20);
    assert!(
        calls
            .windows(2)
            .all(|w| w[1].frames_done == w[0].frames_done + 1)
    );
    assert!(calls.iter().all(|p| p.frames_total == 20));
    let (ta, tb, tc) = (
        read_tree(a.path()),
        read_tree(b.path()),
        read_tree(c.path()),
    );
    // 2 scans × (10 frames × 4 files + intrinsics + scene + surface) + dataset.json
    assert_eq!(ta.len(), 2 * (10 * 4 + 3) + 1);
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (k, v) in &ta {
        assert!(
            tb.get(k) == Some(v),
            "{k} differs between two runs with the same seed"
        );
    }
    assert_eq!(ta.keys().collect::<Vec<_>>(), tc.keys().collect::<Vec<_>>());
    let differing = ta.iter().filter(|(k, v)| tc.get(*k) != Some(*v)).count();
    assert!(
        differing > ta.len() * 9 / 10,
        "only {differing} of {} files differ for another seed",
        ta.len()
    );
}

#[test]
fn written_truth_round_trips_and_matches_the_masks() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_config(11);
    generate_dataset(&cfg, dir.path(), &mut |_| {}).unwrap();
    let ds = load_dataset(dir.path()).unwrap();
    assert_eq!(ds.format, "crossloc-synth");
    assert_eq!(ds.rooms, vec!["room_000".to_string()]);
    assert_eq!(ds.scans.len(), 2);
    let reference = generate_room(cfg.seed, 0);
    let (rescan, changes) = make_rescan(&reference, cfg.seed, 1, None);
    for (scan, room, ch) in [(0usize, &reference, Vec::new()), (1, &rescan, changes)] {
        let sd = ds.scan_dir(0, scan);
        let t = load_scan_truth(&sd).unwrap();
        assert_eq!(
            (t.scan as usize, t.room.as_str(), t.room_kind),
            (scan, "room_000", room.kind)
        );
        assert_eq!(t.intrinsics, cfg.intrinsics);
        assert_eq!(t.instances.len(), room.objects.len());
        for (i, o) in t.instances.iter().zip(&room.objects) {
            assert_eq!((i.id, i.kind, i.support), (o.id, o.kind(), o.support));
            let (dt, dr) = pose_delta(&i.T_map_object, &o.T_map_object);
            assert!(dt < 1e-5 && dr < 1e-2, "pose round trip {dt} {dr}");
        }
        assert_eq!(t.changes.len(), ch.len());
        for (a, b) in t.changes.iter().zip(&ch) {
            assert_eq!((a.kind, a.instance), (b.kind, b.instance));
            assert!((a.translation_m - b.translation_m).abs() < 1e-6);
        }
        assert_eq!(t.frames.len(), cfg.frames);
        let poses = scan_trajectory(room, cfg.seed, scan, cfg.frames);
        for (f, p) in t.frames.iter().zip(&poses) {
            let (dt, dr) = pose_delta(&f.T_map_camera, p);
            assert!(dt < 1e-5 && dr < 1e-2);
            let mask = read_instance_mask(&sd.join(format!("frame-{:06}.instances.png", f.index)))
                .unwrap();
            assert_eq!(mask.len(), cfg.intrinsics.pixel_count());
            let mut ids: Vec<u32> = mask
                .iter()
                .filter(|&&i| i != 0)
                .map(|&i| i as u32)
                .collect();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids, f.visible, "visible ids of frame {}", f.index);
            assert!(ids.iter().all(|id| room.object(*id).is_some()));
        }
        assert!(
            t.frames.iter().any(|f| !f.visible.is_empty()),
            "the walk sees objects"
        );
        let pose_txt = std::fs::read_to_string(sd.join("frame-000003.pose.txt")).unwrap();
        let vals: Vec<f32> = pose_txt
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect();
        let m = poses[3].to_homogeneous();
        assert_eq!(vals.len(), 16);
        assert!(
            vals.iter()
                .enumerate()
                .all(|(i, v)| (v - m[(i / 4, i % 4)]).abs() < 1e-6)
        );
        let k = std::fs::read_to_string(sd.join("camera-intrinsics.txt")).unwrap();
        let kv: Vec<f32> = k.split_whitespace().map(|v| v.parse().unwrap()).collect();
        assert_eq!(
            kv,
            vec![131.25, 0.0, 79.5, 0.0, 131.25, 59.5, 0.0, 0.0, 1.0]
        );
        let ply = crate::io::ply::read_ply(&sd.join("surface.ply")).unwrap();
        assert!(ply.len() > 10_000 && ply.is_consistent());
        let ply_ids: std::collections::BTreeSet<u32> =
            ply.instance_ids.as_ref().unwrap().iter().copied().collect();
        let mut want: std::collections::BTreeSet<u32> = room.objects.iter().map(|o| o.id).collect();
        want.insert(0);
        assert_eq!(
            ply_ids, want,
            "every instance (and the structure) is sampled"
        );
        // the scan folder is a 7-Scenes sequence for the readers
        assert_eq!(
            crate::io::detect::detect_format(&sd).unwrap(),
            crate::io::detect::DatasetFormat::SyntheticScan
        );
        let reader =
            crate::io::seven_scenes::SevenScenesReader::open(&sd, crate::io::FrameSelection::ALL)
                .unwrap();
        let frames: Vec<_> = reader.map(|f| f.unwrap()).collect();
        assert_eq!(frames.len(), cfg.frames);
        let f = &frames[4];
        assert_eq!((f.intrinsics.fx, f.intrinsics.width), (131.25, 160));
        let (dt, dr) = pose_delta(&f.T_session_camera.unwrap(), &poses[4]);
        assert!(dt < 1e-5 && dr < 1e-2);
        let clean = render(room, &poses[4], &cfg.intrinsics, None).depth_metres();
        let read = f.depth.to_metres();
        let valid: Vec<usize> = (0..read.len()).filter(|&i| read[i] > 0.0).collect();
        assert!(valid.len() > read.len() / 2);
        let close = valid
            .iter()
            .filter(|&&i| (read[i] - clean[i]).abs() < 4.0 * axial_sigma(clean[i]) + 0.001)
            .count();
        assert!(
            close as f32 > 0.98 * valid.len() as f32,
            "{close}/{}",
            valid.len()
        );
    }
    assert_eq!(
        crate::io::detect::detect_format(dir.path()).unwrap(),
        crate::io::detect::DatasetFormat::SyntheticDataset
    );
}

#[test]
fn surface_samples_cover_every_instance_at_the_stated_density() {
    let room = generate_room(3, 0);
    let cloud = surface::sample_room_surface(&room, 3, 0, surface::SURFACE_DENSITY_PER_M2);
    assert!(cloud.is_consistent());
    let ids = cloud.instance_ids.as_ref().unwrap();
    let area: f32 = room.structure.mesh.area()
        + room
            .objects
            .iter()
            .map(|o| o.model.mesh.area())
            .sum::<f32>();
    let expected = area * surface::SURFACE_DENSITY_PER_M2;
    assert!((cloud.len() as f32 - expected).abs() < 0.01 * expected + 100.0);
    for o in &room.objects {
        let n = ids.iter().filter(|&&i| i == o.id).count() as f32;
        let e = o.model.mesh.area() * surface::SURFACE_DENSITY_PER_M2;
        assert!(
            (n - e).abs() < 5.0 * e.sqrt() + 5.0,
            "instance {} has {n} samples, expected {e}",
            o.id
        );
        // every sample of an object lies in its bounding box
        let inv = o.T_map_object.inverse();
        for (p, _) in cloud.points.iter().zip(ids).filter(|(_, i)| **i == o.id) {
            let l = inv * p;
            assert!(l.x >= o.model.bbox_min.x - 1e-3 && l.z <= o.model.bbox_max.z + 1e-3);
        }
    }
}

/// A room holding only a textured box, the camera 2 m in front of it.
fn box_scene() -> (Room, Object, Pose, CameraIntrinsics) {
    let mut room = generate_room(5, 0);
    let mesh = mesh::Mesh::cuboid(Point3::new(-0.4, -0.3, 0.0), Point3::new(0.4, 0.3, 0.9), 0);
    let tex = Texture::Checker {
        a: [0.8, 0.2, 0.2],
        b: [0.9, 0.9, 0.9],
        size: 0.1,
    };
    let model = Arc::new(ObjectModel::new(
        ObjectKind::Box,
        mesh,
        vec![Material::matte(tex)],
        0,
    ));
    let obj = Object {
        id: 7,
        model,
        T_map_object: pose_xy(0.0, 0.0, 0.0, 0.4),
        support: None,
    };
    room.objects = vec![obj.clone()];
    let cam = camera_pose(Point3::new(-2.0, 0.3, 1.2), -0.12, -0.25, 0.03);
    (room, obj, cam, CameraIntrinsics::TUM_DEFAULT)
}

/// Exact ray/box intersection in the box frame: the ray parameter of the entry.
fn ray_box(o: Point3<f32>, d: Vector3<f32>, lo: Point3<f32>, hi: Point3<f32>) -> Option<f32> {
    let (mut t0, mut t1) = (0.0f32, f32::INFINITY);
    for a in 0..3 {
        let inv = 1.0 / d[a];
        let (mut ta, mut tb) = ((lo[a] - o[a]) * inv, (hi[a] - o[a]) * inv);
        if ta > tb {
            std::mem::swap(&mut ta, &mut tb);
        }
        t0 = t0.max(ta);
        t1 = t1.min(tb);
    }
    (t0 <= t1).then_some(t0)
}

#[test]
fn box_depth_and_mask_are_exact_without_noise_and_within_bounds_with_noise() {
    let (room, obj, cam, k) = box_scene();
    let clean = render(&room, &cam, &k, None);
    let z = clean.depth_metres();
    let T_object_camera = obj.T_map_object.inverse() * cam;
    let (lo, hi) = (obj.model.bbox_min, obj.model.bbox_max);
    let origin = T_object_camera * Point3::origin();
    let (mut box_px, mut disagree, mut max_err) = (0usize, 0usize, 0.0f32);
    for v in 0..k.height {
        for u in 0..k.width {
            let i = (v * k.width + u) as usize;
            let ray = T_object_camera.rotation
                * Vector3::new((u as f32 - k.cx) / k.fx, (v as f32 - k.cy) / k.fy, 1.0);
            let hit = ray_box(origin, ray, lo, hi);
            let in_mask = clean.instances[i] == 7;
            if in_mask != hit.is_some() {
                disagree += 1;
            }
            if in_mask {
                box_px += 1;
                // back-project with the pose: the point must lie on the box surface
                let p = T_object_camera * k.unproject(u as f32, v as f32, z[i]);
                let inside = (p.x - lo.x)
                    .min(hi.x - p.x)
                    .min(p.y - lo.y)
                    .min(hi.y - p.y)
                    .min(p.z - lo.z)
                    .min(hi.z - p.z);
                let outside = (lo.x - p.x)
                    .max(p.x - hi.x)
                    .max(lo.y - p.y)
                    .max(p.y - hi.y)
                    .max(lo.z - p.z)
                    .max(p.z - hi.z);
                max_err = max_err.max(inside.abs().min(outside.abs()).max(outside.max(0.0)));
                if let Some(t) = hit {
                    // depth along the optical axis equals the analytic hit's z
                    assert!(
                        (t - z[i]).abs() < 2e-4 * z[i],
                        "depth {} vs analytic {t}",
                        z[i]
                    );
                }
            }
        }
    }
    assert!(
        box_px > 10_000,
        "the box fills part of the view ({box_px} px)"
    );
    assert!(
        max_err < 1e-3,
        "back-projected points lie on the box surface (max error {max_err} m)"
    );
    assert!(
        disagree <= box_px / 500,
        "{disagree} mask pixels disagree with the analytic box"
    );
    assert!(clean.visible_ids() == vec![7]);

    let mut rng = crate::rng::Rng::new(99);
    let noisy = render(&room, &cam, &k, Some(&mut rng));
    assert_eq!(noisy.instances, clean.instances, "the mask is never noisy");
    let zn = noisy.depth_metres();
    let (mut valid, mut within) = (0usize, 0usize);
    for i in 0..zn.len() {
        if clean.instances[i] == 7 && zn[i] > 0.0 {
            valid += 1;
            if (zn[i] - z[i]).abs() < 4.0 * axial_sigma(z[i]) {
                within += 1;
            }
        }
    }
    assert!(
        valid > box_px / 2,
        "most box pixels keep a depth ({valid}/{box_px})"
    );
    assert!(valid < box_px, "some box pixels drop out (edges, grazing)");
    assert!(
        within as f32 >= 0.99 * valid as f32,
        "{within}/{valid} within 4 sigma"
    );
    assert!(zn.iter().all(|&d| d == 0.0 || (0.3..=6.0).contains(&d)));
    let diff = noisy
        .color
        .data
        .iter()
        .zip(&clean.color.data)
        .filter(|(a, b)| a != b)
        .count();
    assert!(
        diff > noisy.color.data.len() / 2,
        "colour noise changes most pixels"
    );
}

#[test]
fn near_plane_clipping_renders_a_wall_next_to_the_camera() {
    let room = generate_room(5, 0);
    let (lo, _) = room.plan.bounds();
    let k = small_intrinsics();
    // 12 cm in front of the -x wall, looking straight at it
    let cam = camera_pose(
        Point3::new(lo.x + 0.12, 0.2, 1.5),
        std::f32::consts::PI,
        0.0,
        0.0,
    );
    let f = render(
        &Room {
            objects: Vec::new(),
            ..room.clone()
        },
        &cam,
        &k,
        None,
    );
    let z = f.depth_metres();
    let centre = z[(k.height / 2 * k.width + k.width / 2) as usize];
    assert!((centre - 0.12).abs() < 1e-4, "centre depth {centre}");
    assert!(
        z.iter().all(|&d| (NEAR_PLANE_M..0.5).contains(&d)),
        "the wall fills the view"
    );
}

#[test]
fn rooms_follow_the_layout_rules() {
    let (mut symmetric, mut l_shaped, mut kinds) = (0, 0, std::collections::BTreeSet::new());
    let mut identical_sets = 0;
    for seed in 0..std::env::var("SYNTH_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6u64)
    {
        for r in 0..8 {
            let room = generate_room(seed, r);
            kinds.insert(room.kind);
            symmetric += room.symmetric as usize;
            l_shaped += room.plan.is_l_shaped() as usize;
            let n = room.objects.len();
            assert!(
                (MIN_OBJECTS..=MAX_OBJECTS).contains(&n),
                "{} objects in {:?}",
                n,
                room.kind
            );
            let ids: Vec<u32> = room.objects.iter().map(|o| o.id).collect();
            assert_eq!(
                ids,
                (1..=n as u32).collect::<Vec<_>>(),
                "ids are 1..n in order"
            );
            let mut shared: BTreeMap<*const ObjectModel, usize> = BTreeMap::new();
            for o in &room.objects {
                *shared.entry(Arc::as_ptr(&o.model)).or_default() += 1;
            }
            identical_sets += shared.values().any(|&c| c >= 2) as usize;
            let floor: Vec<&Object> = room
                .objects
                .iter()
                .filter(|o| o.support.is_none())
                .collect();
            for (i, a) in floor.iter().enumerate() {
                let fa = Footprint::of(&a.model, &a.T_map_object);
                assert!(
                    fa.fits_in_plan(&room.plan, 0.0),
                    "object {} leaves the room",
                    a.id
                );
                assert!(a.T_map_object.translation.z.abs() < 1e-6);
                for b in &floor[i + 1..] {
                    let fb = Footprint::of(&b.model, &b.T_map_object);
                    assert!(
                        !fa.overlaps(&fb, 0.0),
                        "objects {} and {} overlap",
                        a.id,
                        b.id
                    );
                }
            }
            for o in room.objects.iter().filter(|o| o.support.is_some()) {
                let s = room.object(o.support.unwrap()).expect("support exists");
                assert!(s.support.is_none(), "supports stand on the floor");
                assert!(
                    (o.T_map_object.translation.z - s.support_top().unwrap()).abs() < 1e-5,
                    "rests on its support"
                );
                let fp = Footprint::of(&o.model, &o.T_map_object);
                assert!(
                    fp.inside(&Placer::support_top(s), 0.0),
                    "object {} overhangs its support",
                    o.id
                );
                if o.kind().needs_support() {
                    assert!(o.support.is_some());
                }
            }
            assert!(
                room.objects
                    .iter()
                    .filter(|o| o.kind().needs_support())
                    .all(|o| o.support.is_some())
            );
            if room.symmetric {
                // most objects have a twin turned by 180° about the centre
                let twins = room
                    .objects
                    .iter()
                    .filter(|o| {
                        let t = pose_xy(0.0, 0.0, 0.0, std::f32::consts::PI) * o.T_map_object;
                        room.objects.iter().any(|p| {
                            Arc::ptr_eq(&p.model, &o.model)
                                && pose_delta(&p.T_map_object, &t).0 < 1e-3
                        })
                    })
                    .count();
                assert!(
                    twins + 3 >= n && twins < n,
                    "symmetric room: {twins} of {n} have twins"
                );
            }
        }
    }
    assert!(
        symmetric > 0 && l_shaped > 0,
        "symmetric {symmetric}, L-shaped {l_shaped}"
    );
    assert_eq!(kinds.len(), RoomKind::ALL.len());
    assert!(
        identical_sets >= 40,
        "most rooms hold identical objects ({identical_sets}/48)"
    );
}

#[test]
fn rescan_change_lists_match_what_was_applied() {
    let mut kinds = std::collections::BTreeSet::new();
    for seed in 0..std::env::var("SYNTH_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4u64)
    {
        for r in 0..6 {
            let room = generate_room(seed, r);
            for (rescan, k) in [(1usize, None), (2, Some(4)), (3, Some(1))] {
                let (after, changes) = make_rescan(&room, seed, rescan, k);
                let again = make_rescan(&room, seed, rescan, k);
                assert_eq!(changes, again.1, "deterministic");
                let changed: Vec<u32> = changes.iter().map(|c| c.instance).collect();
                assert!(
                    changed.windows(2).all(|w| w[0] < w[1]),
                    "sorted, one entry per instance"
                );
                let first_new = room.max_id() + 1 + (rescan as u32 - 1) * ADDED_ID_STRIDE;
                for c in &changes {
                    kinds.insert(c.kind);
                    let before = room.object(c.instance);
                    let now = after.object(c.instance);
                    match c.kind {
                        ChangeKind::Moved => {
                            let (b, a) = (before.unwrap(), now.unwrap());
                            assert_eq!(c.T_before, Some(b.T_map_object));
                            assert_eq!(c.T_after, Some(a.T_map_object));
                            let (t, rot) = pose_delta(&b.T_map_object, &a.T_map_object);
                            assert!(
                                (t - c.translation_m).abs() < 1e-5
                                    && (rot - c.rotation_deg).abs() < 1e-3
                            );
                            assert!(is_moved(&b.T_map_object, &a.T_map_object));
                            assert!(t > 0.05 || rot > 1.0);
                            if let Some(s) = a.support
                                && b.support == Some(s)
                                && changed.contains(&s)
                            {
                                assert!(
                                    changes
                                        .iter()
                                        .any(|x| x.instance == s && x.kind == ChangeKind::Moved)
                                );
                            }
                        }
                        ChangeKind::Removed => {
                            assert!(before.is_some() && now.is_none());
                            assert!(c.T_after.is_none());
                        }
                        ChangeKind::Added => {
                            assert!(before.is_none() && now.is_some());
                            assert!(
                                c.instance >= first_new && c.instance < first_new + ADDED_ID_STRIDE
                            );
                        }
                    }
                }
                // everything else is untouched
                for o in &after.objects {
                    if !changed.contains(&o.id) {
                        let b = room.object(o.id).expect("unchanged objects existed before");
                        assert_eq!(b.T_map_object, o.T_map_object);
                    }
                }
                for o in &room.objects {
                    if after.object(o.id).is_none() {
                        assert!(
                            changes
                                .iter()
                                .any(|c| c.instance == o.id && c.kind == ChangeKind::Removed)
                        );
                    }
                }
                // objects on a moved support moved with it
                for c in changes.iter().filter(|c| c.kind == ChangeKind::Moved) {
                    for child in room.children_of(c.instance) {
                        assert!(
                            changed.contains(&child),
                            "child {child} of moved {} is listed",
                            c.instance
                        );
                    }
                }
                let primaries = changes
                    .iter()
                    .filter(|c| {
                        let sup = room.object(c.instance).and_then(|o| o.support);
                        !(c.kind == ChangeKind::Moved
                            && sup.is_some_and(|s| {
                                changes
                                    .iter()
                                    .any(|x| x.instance == s && x.kind == ChangeKind::Moved)
                            }))
                    })
                    .count();
                if let Some(k) = k {
                    assert_eq!(primaries, k, "room {r} seed {seed} rescan {rescan}");
                } else {
                    assert!((2..=5).contains(&primaries));
                }
                // the rescan still follows the layout rules
                let floor: Vec<&Object> = after
                    .objects
                    .iter()
                    .filter(|o| o.support.is_none())
                    .collect();
                for (i, a) in floor.iter().enumerate() {
                    let fa = Footprint::of(&a.model, &a.T_map_object);
                    assert!(fa.fits_in_plan(&after.plan, 0.0));
                    for b in &floor[i + 1..] {
                        assert!(!fa.overlaps(&Footprint::of(&b.model, &b.T_map_object), 0.0));
                    }
                }
            }
        }
    }
    assert_eq!(kinds.len(), 3, "moves, removals and additions all occur");
}

#[test]
fn trajectories_stay_inside_clear_of_objects_and_smooth() {
    let frames = 300;
    for seed in 0..std::env::var("SYNTH_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3u64)
    {
        for r in 0..6 {
            let room = generate_room(seed, r);
            let (rescan, _) = make_rescan(&room, seed, 1, None);
            let reference = scan_trajectory(&room, seed, 0, frames);
            let other = scan_trajectory(&rescan, seed, 1, frames);
            assert_eq!(reference.len(), frames);
            assert!(
                (reference[0].translation.vector - other[0].translation.vector).norm() > 0.5,
                "rescans start elsewhere"
            );
            for (poses, room) in [(&reference, &room), (&other, &rescan)] {
                for (i, p) in poses.iter().enumerate() {
                    let c = p.translation.vector;
                    assert!(
                        room.plan
                            .contains_with_margin(Point2::new(c.x, c.y), MIN_WALL_DISTANCE),
                        "frame {i} near a wall"
                    );
                    assert!(
                        (CAMERA_MIN_HEIGHT..=CAMERA_MAX_HEIGHT).contains(&c.z),
                        "height {}",
                        c.z
                    );
                    for o in &room.objects {
                        let l = o.T_map_object.inverse() * Point3::from(c);
                        let (lo, hi) = (o.model.bbox_min, o.model.bbox_max);
                        let inside = (0..3).all(|a| l[a] > lo[a] - 0.1 && l[a] < hi[a] + 0.1);
                        assert!(
                            !inside,
                            "seed {seed} room {r} frame {i} at {c:?} inside object {} ({:?}, bbox {:?}..{:?} at {:?})",
                            o.id,
                            o.kind(),
                            o.model.bbox_min,
                            o.model.bbox_max,
                            o.T_map_object.translation.vector
                        );
                    }
                    assert!(roll_of(p).abs() < 3f32.to_radians());
                    if i > 0 {
                        let q = &poses[i - 1];
                        let step = (p.translation.vector - q.translation.vector).norm();
                        assert!(step <= MAX_STEP_M, "step {step}");
                        assert!(turn_deg(q, p) <= MAX_TURN_DEG, "turn {}", turn_deg(q, p));
                    }
                    // the camera looks at the room, not into a wall
                    let fwd = p.rotation * Vector3::z();
                    assert!(fwd.z < 0.1, "looks level or down");
                }
            }
        }
    }
}

#[test]
fn rendered_walks_see_the_room_at_a_distance() {
    let k = small_intrinsics();
    let room = generate_room(2, 1);
    let poses = scan_trajectory(&room, 2, 0, 60);
    let mut seen = std::collections::BTreeSet::new();
    for p in poses.iter().step_by(6) {
        let f = render(&room, p, &k, None);
        let mut z: Vec<f32> = f.depth_metres().into_iter().filter(|&d| d > 0.0).collect();
        assert_eq!(
            z.len(),
            k.pixel_count(),
            "closed rooms: every pixel sees a surface"
        );
        z.sort_by(f32::total_cmp);
        assert!(z[z.len() / 2] > 0.8, "median depth {} m", z[z.len() / 2]);
        seen.extend(f.visible_ids());
    }
    assert!(
        seen.len() >= room.objects.len() / 3,
        "saw {} of {} objects",
        seen.len(),
        room.objects.len()
    );
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture to print frames/s"]
fn benchmark_300_frames_640x480() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SynthConfig {
        rescans: 0,
        ..SynthConfig::default()
    };
    let out = std::env::var("SYNTH_BENCH_OUT")
        .map(std::path::PathBuf::from)
        .unwrap_or(dir.path().to_path_buf());
    let s = generate_dataset(&cfg, &out, &mut |_| {}).unwrap();
    println!(
        "{} frames in {:.2} s: {:.1} frames/s",
        s.frames, s.seconds, s.frames_per_second
    );
}

#[test]
#[ignore = "preview helper: writes a small dataset to SYNTH_PREVIEW_OUT"]
fn zz_preview() {
    let out = std::env::var("SYNTH_PREVIEW_OUT").unwrap_or("/tmp/synth_preview".into());
    let seed = std::env::var("SYNTH_PREVIEW_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let cfg = SynthConfig {
        seed,
        rooms: 6,
        rescans: 1,
        frames: 120,
        reference_frames: None,
        intrinsics: CameraIntrinsics::TUM_DEFAULT.scaled(0.5),
        changes: None,
        noise: true,
    };
    let s = generate_dataset(&cfg, Path::new(&out), &mut |_| {}).unwrap();
    println!("{s:?}");
}

#[test]
fn scan_folders_follow_the_listed_room_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut ds = SynthDataset {
        format: "crossloc-synth".into(),
        version: 1,
        seed: 1,
        rooms: vec!["room_003".into(), "room_007".into()],
        rescans: 1,
        frames_per_scan: 10,
        intrinsics: CameraIntrinsics::KINECT_7SCENES,
        noise: false,
        scans: Vec::new(),
        root: dir.path().to_path_buf(),
    };
    // A dataset file listing a subset of the rooms points at those rooms' folders.
    assert_eq!(
        ds.scan_dir(1, 1),
        dir.path().join("room_007").join("scan_01")
    );
    assert_eq!(
        ds.scan_dir(0, 0),
        dir.path().join("room_003").join("scan_00")
    );
    ds.rooms.clear();
    assert_eq!(
        ds.scan_dir(2, 0),
        dir.path().join("room_002").join("scan_00")
    );
}
