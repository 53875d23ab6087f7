//! Tests on analytically ray-cast scenes: a floor (and optionally a back wall) with
//! axis-aligned boxes standing on it, rendered with per-pixel ground-truth ids.

use std::collections::HashSet;

use nalgebra::Vector3;

use super::*;
use crate::frame::{CameraIntrinsics, DepthImage, RgbImage};
use crate::rng::Rng;

/// Ground-truth id of structure (floor, walls) and of empty space.
const GT_STRUCTURE: u32 = 0;
const GT_NONE: u32 = u32::MAX;
const GT_SPECK: u32 = 999;

struct BoxObj {
    min: Vector3<f32>,
    max: Vector3<f32>,
    id: u32,
    color: [u8; 3],
}

/// A world with y up; the camera sits at height `cam_height` above the floor
/// (y = 0) at x = z = 0, looking along -z, pitched down by `pitch_deg`.
struct Scene {
    boxes: Vec<BoxObj>,
    wall_z: Option<f32>,
    cam_height: f32,
    pitch_deg: f32,
}

impl Scene {
    fn axes(&self) -> (Vector3<f32>, Vector3<f32>, Vector3<f32>) {
        let p = self.pitch_deg.to_radians();
        let f = Vector3::new(0.0, -p.sin(), -p.cos());
        let r = Vector3::new(1.0, 0.0, 0.0);
        let dn = f.cross(&r);
        (r, dn, f)
    }

    /// A world direction expressed in the camera frame.
    fn to_camera(&self, w: Vector3<f32>) -> Vector3<f32> {
        let (r, dn, f) = self.axes();
        Vector3::new(w.dot(&r), w.dot(&dn), w.dot(&f))
    }

    /// Renders depth (millimetres, u16), colour and ground-truth ids.
    fn render(&self, k: &CameraIntrinsics, noise: bool, seed: u64) -> (RgbdFrame, Vec<u32>) {
        let (r, dn, f) = self.axes();
        let origin = Vector3::new(0.0, self.cam_height, 0.0);
        let mut rng = Rng::new(seed);
        let n = k.pixel_count();
        let mut raw = vec![0u16; n];
        let mut ids = vec![GT_NONE; n];
        let mut color = RgbImage::new(k.width, k.height);
        for v in 0..k.height {
            for u in 0..k.width {
                let x = (u as f32 - k.cx) / k.fx;
                let y = (v as f32 - k.cy) / k.fy;
                let d = r * x + dn * y + f;
                let mut best = (f32::INFINITY, GT_NONE, [0u8; 3]);
                if d.y < 0.0 {
                    let t = -origin.y / d.y;
                    best = (t, GT_STRUCTURE, [120, 120, 120]);
                }
                if let Some(wz) = self.wall_z
                    && d.z < 0.0
                {
                    let t = wz / d.z;
                    if t < best.0 {
                        best = (t, GT_STRUCTURE, [200, 190, 170]);
                    }
                }
                for b in &self.boxes {
                    if let Some(t) = ray_box(&origin, &d, b)
                        && t < best.0
                    {
                        best = (t, b.id, b.color);
                    }
                }
                let i = (v * k.width + u) as usize;
                if best.1 != GT_NONE {
                    let mut z = best.0;
                    if noise {
                        z += rng.normal() * (0.001 + 0.0015 * z * z);
                    }
                    raw[i] = (z * 1000.0).round().clamp(1.0, 65534.0) as u16;
                    ids[i] = best.1;
                    color.data[i * 3..i * 3 + 3].copy_from_slice(&best.2);
                }
            }
        }
        let frame = RgbdFrame {
            index: 7,
            timestamp: 0.0,
            intrinsics: *k,
            color,
            depth: DepthImage::from_u16(k.width, k.height, raw, 1000.0),
            T_session_camera: None,
        };
        (frame, ids)
    }
}

/// Entry distance of a ray into an axis-aligned box (slab method).
fn ray_box(o: &Vector3<f32>, d: &Vector3<f32>, b: &BoxObj) -> Option<f32> {
    let (mut t0, mut t1) = (0.0f32, f32::INFINITY);
    for a in 0..3 {
        if d[a].abs() < 1e-9 {
            if o[a] < b.min[a] || o[a] > b.max[a] {
                return None;
            }
            continue;
        }
        let (mut ta, mut tb) = ((b.min[a] - o[a]) / d[a], (b.max[a] - o[a]) / d[a]);
        if ta > tb {
            std::mem::swap(&mut ta, &mut tb);
        }
        t0 = t0.max(ta);
        t1 = t1.min(tb);
    }
    (t0 <= t1 && t0 > 0.0).then_some(t0)
}

fn boxed(x: (f32, f32), z: (f32, f32), h: f32, id: u32, color: [u8; 3]) -> BoxObj {
    BoxObj {
        min: Vector3::new(x.0, 0.0, z.0),
        max: Vector3::new(x.1, h, z.1),
        id,
        color,
    }
}

fn two_boxes_scene() -> Scene {
    Scene {
        boxes: vec![
            boxed((-0.9, -0.4), (-2.8, -2.3), 0.5, 1, [200, 40, 40]),
            boxed((0.3, 0.7), (-2.4, -2.0), 0.7, 2, [40, 40, 200]),
        ],
        wall_z: Some(-4.5),
        cam_height: 1.3,
        pitch_deg: 25.0,
    }
}

fn half_kinect() -> CameraIntrinsics {
    CameraIntrinsics::KINECT_7SCENES.scaled(0.5)
}

fn cfg_step2() -> SegmentConfig {
    SegmentConfig {
        step: 2,
        ..SegmentConfig::default()
    }
}

/// Ground-truth id of each grid cell.
fn grid_ids(ids: &[u32], k: &CameraIntrinsics, s: &Segmentation) -> Vec<u32> {
    let mut out = Vec::with_capacity(s.labels.len());
    for gy in 0..s.height {
        for gx in 0..s.width {
            let (u, v) = (gx * s.step + s.step / 2, gy * s.step + s.step / 2);
            out.push(ids[(v * k.width + u) as usize]);
        }
    }
    out
}

/// IoU of a segment's cells with the cells of ground-truth id `id`.
fn iou(seg: &Segment, gt: &[u32], s: &Segmentation, id: u32) -> f32 {
    let cells: HashSet<usize> = seg
        .pixels
        .iter()
        .map(|&(u, v)| ((v / s.step) * s.width + u / s.step) as usize)
        .collect();
    let truth: HashSet<usize> = (0..gt.len()).filter(|&i| gt[i] == id).collect();
    let inter = cells.intersection(&truth).count();
    let union = cells.union(&truth).count();
    inter as f32 / union.max(1) as f32
}

/// The segment overlapping ground-truth `id` most, with its IoU.
fn best_match<'a>(s: &'a Segmentation, gt: &[u32], id: u32) -> (&'a Segment, f32) {
    s.segments
        .iter()
        .map(|seg| (seg, iou(seg, gt, s, id)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .expect("at least one segment")
}

#[test]
fn floor_and_wall_are_planes_and_boxes_are_segments() {
    let scene = two_boxes_scene();
    let k = half_kinect();
    let (frame, ids) = scene.render(&k, true, 11);
    let s = segment_frame(&frame, &cfg_step2()).unwrap();
    assert_eq!((s.width, s.height, s.step), (160, 120, 2));
    assert_eq!(s.labels.len(), 160 * 120);
    let gt = grid_ids(&ids, &k, &s);

    // Floor: the largest plane, normal = world up seen from the camera, offset =
    // camera height.
    assert!(s.planes.len() >= 2, "planes: {:?}", s.planes);
    let up = scene.to_camera(Vector3::y());
    let floor = s
        .planes
        .iter()
        .find(|p| p.normal.dot(&up) > 0.995)
        .expect("floor plane");
    assert!((floor.offset - scene.cam_height).abs() < 0.03, "{floor:?}");
    assert_eq!(floor.kind, PlaneKind::Structure);
    assert!(floor.area_m2 > 2.0, "{floor:?}");
    let back = scene.to_camera(Vector3::z());
    let wall = s
        .planes
        .iter()
        .find(|p| p.normal.dot(&back) > 0.995)
        .expect("wall plane");
    assert!(wall.offset > 3.5 && wall.offset < 5.5, "{wall:?}");
    assert_eq!(wall.kind, PlaneKind::Structure);
    for (i, p) in s.planes.iter().enumerate() {
        assert_eq!(p.label, STRUCTURE_BASE + i as u32);
        let count = s.labels.iter().filter(|&&l| l == p.label).count();
        match p.kind {
            PlaneKind::Structure => assert_eq!(count, p.pixel_count),
            _ => assert_eq!(count, 0),
        }
    }
    // Most structure cells are labelled structure.
    let structure_cells: Vec<usize> = (0..gt.len()).filter(|&i| gt[i] == GT_STRUCTURE).collect();
    let on_plane = structure_cells
        .iter()
        .filter(|&&i| s.labels[i] >= STRUCTURE_BASE)
        .count();
    assert!(
        on_plane as f32 > 0.9 * structure_cells.len() as f32,
        "{on_plane} of {}",
        structure_cells.len()
    );

    // Two boxes → two separate segments, each matching its box well, each with
    // hardly any floor in it.
    let (a, iou_a) = best_match(&s, &gt, 1);
    let (b, iou_b) = best_match(&s, &gt, 2);
    assert!(iou_a > 0.8 && iou_b > 0.8, "IoU {iou_a} {iou_b}");
    assert_ne!(a.label, b.label);
    for seg in [a, b] {
        let floor_cells = seg
            .pixels
            .iter()
            .filter(|&&(u, v)| ids[(v * k.width + u) as usize] == GT_STRUCTURE)
            .count();
        assert!(
            floor_cells * 20 < seg.len(),
            "{floor_cells} of {}",
            seg.len()
        );
        assert_eq!(seg.points.len(), seg.normals.len());
        assert_eq!(seg.points.len(), seg.colors.len());
        assert_eq!(seg.points.len(), seg.pixels.len());
        assert!(!seg.touches_border);
    }
    // Per-point data is consistent with the frame: centroid inside its box, colours
    // are the box colours, the label image agrees with the pixels.
    let box_a = &scene.boxes[0];
    let centre_cam =
        scene.to_camera((box_a.min + box_a.max) / 2.0 - Vector3::new(0.0, scene.cam_height, 0.0));
    assert!(
        (a.centroid.coords - centre_cam).norm() < 0.35,
        "{:?} {centre_cam:?}",
        a.centroid
    );
    let red = a.colors.iter().filter(|c| **c == [200, 40, 40]).count();
    assert!(red * 10 > a.len() * 9);
    for &(u, v) in &a.pixels {
        assert_eq!(s.label_at_pixel(u, v), Some(a.label));
    }
    // Normals are unit and face the camera.
    for (p, n) in a.points.iter().zip(&a.normals) {
        assert!((n.norm() - 1.0).abs() < 1e-3);
        assert!(n.dot(&p.coords) < 0.0);
    }
    // Ordered by size, labels 1.. in that order.
    for (i, seg) in s.segments.iter().enumerate() {
        assert_eq!(seg.label, i as u32 + 1);
        assert!(seg.len() >= cfg_step2().min_segment_points);
        if i > 0 {
            assert!(s.segments[i - 1].len() >= seg.len());
        }
    }
}

#[test]
fn a_large_table_top_is_an_object_surface_not_structure() {
    // A 1.4 m x 0.9 m block, 0.75 m high: its top is a large plane (> 1 m²).
    let scene = Scene {
        boxes: vec![
            boxed((-0.7, 0.7), (-2.6, -1.7), 0.75, 1, [150, 110, 60]),
            // A box standing on the table.
            BoxObj {
                min: Vector3::new(-0.2, 0.75, -2.3),
                max: Vector3::new(0.1, 1.0, -2.0),
                id: 2,
                color: [40, 90, 200],
            },
        ],
        wall_z: Some(-4.0),
        cam_height: 1.5,
        pitch_deg: 30.0,
    };
    let k = half_kinect();
    let (frame, ids) = scene.render(&k, true, 8);
    let s = segment_frame(&frame, &cfg_step2()).unwrap();
    let gt = grid_ids(&ids, &k, &s);
    let up = scene.to_camera(Vector3::y());
    let top = s
        .planes
        .iter()
        .find(|p| p.normal.dot(&up) > 0.99 && (p.offset - 0.75).abs() < 0.05)
        .expect("table-top plane");
    assert_eq!(top.kind, PlaneKind::Surface, "{:?}", s.planes);
    assert!(top.area_m2 > 1.0, "{top:?}");
    let floor = s
        .planes
        .iter()
        .find(|p| p.normal.dot(&up) > 0.99 && (p.offset - 1.5).abs() < 0.05)
        .expect("floor plane");
    assert_eq!(floor.kind, PlaneKind::Structure);
    // The whole block, top included, is one object segment; the box standing on it
    // is another.
    let (table, iou) = best_match(&s, &gt, 1);
    assert!(iou > 0.8, "IoU {iou}");
    let (on_top, iou_box) = best_match(&s, &gt, 2);
    assert!(iou_box > 0.7, "IoU {iou_box}");
    assert_ne!(table.label, on_top.label);
    assert!(!s.labels.contains(&top.label));
    // On request the top is labelled as structure instead.
    let cfg = SegmentConfig {
        surfaces_as_structure: true,
        ..cfg_step2()
    };
    let s2 = segment_frame(&frame, &cfg).unwrap();
    let top2 = s2
        .planes
        .iter()
        .find(|p| p.kind == PlaneKind::Surface)
        .unwrap();
    let on_top = s2.labels.iter().filter(|&&l| l == top2.label).count();
    assert_eq!(on_top, top2.pixel_count);
    let (_, iou2) = best_match(&s2, &gt, 1);
    assert!(iou2 < 0.8, "IoU {iou2}");
}

#[test]
fn touching_boxes_at_different_depths_are_split() {
    let scene = Scene {
        boxes: vec![
            boxed((-0.4, 0.0), (-2.2, -1.8), 0.6, 1, [90, 160, 60]),
            boxed((0.0, 0.4), (-2.8, -2.4), 0.6, 2, [90, 160, 60]),
        ],
        wall_z: None,
        cam_height: 1.2,
        pitch_deg: 25.0,
    };
    let k = half_kinect();
    let (frame, ids) = scene.render(&k, true, 5);
    let s = segment_frame(&frame, &cfg_step2()).unwrap();
    let gt = grid_ids(&ids, &k, &s);
    // The boxes touch in the image.
    let touching = (0..gt.len())
        .any(|i| gt[i] == 1 && (i + 1) % s.width as usize != 0 && gt.get(i + 1) == Some(&2));
    assert!(
        touching,
        "test scene: boxes should be adjacent in the image"
    );
    let (a, iou_a) = best_match(&s, &gt, 1);
    let (b, iou_b) = best_match(&s, &gt, 2);
    assert_ne!(a.label, b.label);
    assert!(iou_a > 0.8 && iou_b > 0.8, "IoU {iou_a} {iou_b}");
}

#[test]
fn small_specks_are_dropped() {
    let scene = two_boxes_scene();
    let k = half_kinect();
    let (mut frame, mut ids) = scene.render(&k, false, 3);
    let mut rng = Rng::new(99);
    let DepthData::U16 { raw, .. } = &mut frame.depth.data else {
        unreachable!()
    };
    for _ in 0..60 {
        let u0 = rng.below(k.width as usize - 3);
        let v0 = rng.below(k.height as usize - 3);
        let z = rng.range(0.5, 1.0);
        for v in v0..v0 + 3 {
            for u in u0..u0 + 3 {
                let i = v * k.width as usize + u;
                raw[i] = (z * 1000.0) as u16;
                ids[i] = GT_SPECK;
            }
        }
    }
    let s = segment_frame(&frame, &cfg_step2()).unwrap();
    let gt = grid_ids(&ids, &k, &s);
    for i in 0..gt.len() {
        if gt[i] == GT_SPECK {
            assert!(s.labels[i] == 0, "speck cell {i} labelled {}", s.labels[i]);
        }
    }
    assert_eq!(
        s.segments.len(),
        2,
        "sizes {:?}",
        s.segments.iter().map(|g| g.len()).collect::<Vec<_>>()
    );
    let (_, iou_a) = best_match(&s, &gt, 1);
    let (_, iou_b) = best_match(&s, &gt, 2);
    assert!(iou_a > 0.75 && iou_b > 0.75, "IoU {iou_a} {iou_b}");
}

#[test]
fn output_is_deterministic() {
    let scene = two_boxes_scene();
    let k = half_kinect();
    let (frame, _) = scene.render(&k, true, 21);
    let cfg = cfg_step2();
    let a = segment_frame(&frame, &cfg).unwrap();
    let b = segment_frame(&frame, &cfg).unwrap();
    assert_eq!(a, b);
    assert!(!a.segments.is_empty());
}

#[test]
fn default_step_gives_a_quarter_resolution_grid() {
    let scene = two_boxes_scene();
    let k = CameraIntrinsics::KINECT_7SCENES;
    let (frame, ids) = scene.render(&k, true, 2);
    let s = segment_frame(&frame, &SegmentConfig::default()).unwrap();
    assert_eq!((s.width, s.height, s.step), (160, 120, 4));
    let gt = grid_ids(&ids, &k, &s);
    let (a, iou_a) = best_match(&s, &gt, 1);
    let (b, iou_b) = best_match(&s, &gt, 2);
    assert_ne!(a.label, b.label);
    assert!(iou_a > 0.8 && iou_b > 0.8, "IoU {iou_a} {iou_b}");
    for &(u, v) in &a.pixels {
        assert!(u % 4 == 2 && v % 4 == 2 && u < 640 && v < 480);
    }
}

#[test]
fn no_valid_depth_gives_an_empty_segmentation() {
    let k = half_kinect();
    let frame = RgbdFrame {
        index: 0,
        timestamp: 0.0,
        intrinsics: k,
        color: RgbImage::new(k.width, k.height),
        depth: DepthImage::from_metres(k.width, k.height, vec![0.0; k.pixel_count()]),
        T_session_camera: None,
    };
    let s = segment_frame(&frame, &SegmentConfig::default()).unwrap();
    assert!(s.segments.is_empty() && s.planes.is_empty());
    assert_eq!(s.valid_cells, 0);
    assert_eq!(s.labels.len(), 80 * 60);
    assert!(s.labels.iter().all(|&l| l == 0));
    // Depth beyond the range counts as missing.
    let far = RgbdFrame {
        depth: DepthImage::from_metres(k.width, k.height, vec![9.0; k.pixel_count()]),
        ..frame
    };
    let s = segment_frame(&far, &SegmentConfig::default()).unwrap();
    assert!(s.segments.is_empty() && s.planes.is_empty());
}

#[test]
fn bad_frames_and_configs_are_errors() {
    let k = half_kinect();
    let good_depth = DepthImage::from_metres(k.width, k.height, vec![1.0; k.pixel_count()]);
    let frame = RgbdFrame {
        index: 3,
        timestamp: 0.0,
        intrinsics: k,
        color: RgbImage::default(),
        depth: good_depth.clone(),
        T_session_camera: None,
    };
    // Depth-only frames are fine; a flat wall is one plane.
    let s = segment_frame(&frame, &SegmentConfig::default()).unwrap();
    assert_eq!(s.planes.len(), 1);
    assert!(s.segments.is_empty());

    let wrong_size = RgbdFrame {
        depth: DepthImage::from_metres(10, 10, vec![1.0; 100]),
        ..frame.clone()
    };
    assert!(matches!(
        segment_frame(&wrong_size, &SegmentConfig::default()),
        Err(SegmentError::DepthSizeMismatch { index: 3, .. })
    ));
    let short_data = RgbdFrame {
        depth: DepthImage::from_metres(k.width, k.height, vec![1.0; 5]),
        ..frame.clone()
    };
    assert!(matches!(
        segment_frame(&short_data, &SegmentConfig::default()),
        Err(SegmentError::DepthSizeMismatch { .. })
    ));
    let zero_scale = RgbdFrame {
        depth: DepthImage::from_u16(k.width, k.height, vec![1000; k.pixel_count()], 0.0),
        ..frame.clone()
    };
    assert!(matches!(
        segment_frame(&zero_scale, &SegmentConfig::default()),
        Err(SegmentError::InvalidDepthScale { .. })
    ));
    let wrong_color = RgbdFrame {
        color: RgbImage::new(4, 4),
        ..frame.clone()
    };
    assert!(matches!(
        segment_frame(&wrong_color, &SegmentConfig::default()),
        Err(SegmentError::ColorSizeMismatch { .. })
    ));
    let mut bad_k = frame.clone();
    bad_k.intrinsics.fx = f32::NAN;
    assert!(matches!(
        segment_frame(&bad_k, &SegmentConfig::default()),
        Err(SegmentError::InvalidIntrinsics { .. })
    ));
    for cfg in [
        SegmentConfig {
            step: 0,
            ..SegmentConfig::default()
        },
        SegmentConfig {
            min_depth: 3.0,
            max_depth: 1.0,
            ..SegmentConfig::default()
        },
        SegmentConfig {
            depth_jump_rel: f32::NAN,
            ..SegmentConfig::default()
        },
    ] {
        assert!(matches!(
            segment_frame(&frame, &cfg),
            Err(SegmentError::InvalidConfig(_))
        ));
    }
    // NaN and negative depth values are treated as missing, not a panic.
    let mut weird = vec![f32::NAN; k.pixel_count()];
    weird.iter_mut().step_by(3).for_each(|z| *z = -1.0);
    let weird = RgbdFrame {
        depth: DepthImage::from_metres(k.width, k.height, weird),
        ..frame
    };
    assert_eq!(
        segment_frame(&weird, &SegmentConfig::default())
            .unwrap()
            .valid_cells,
        0
    );
}

#[test]
fn odd_image_sizes_round_the_grid_up() {
    let k = CameraIntrinsics {
        fx: 100.0,
        fy: 100.0,
        cx: 20.0,
        cy: 15.0,
        width: 41,
        height: 30,
    };
    let frame = RgbdFrame {
        index: 0,
        timestamp: 0.0,
        intrinsics: k,
        color: RgbImage::new(41, 30),
        depth: DepthImage::from_metres(41, 30, vec![2.0; 41 * 30]),
        T_session_camera: None,
    };
    let s = segment_frame(&frame, &SegmentConfig::default()).unwrap();
    assert_eq!((s.width, s.height), (11, 8));
    assert_eq!(s.label_at_pixel(40, 29), s.labels.last().copied());
    assert_eq!(s.label_at_pixel(43, 0), s.labels.get(10).copied());
    assert_eq!(s.label_at_pixel(44, 0), None);
}

/// Manual timing and visual check on a real 640x480 frame (7-Scenes). Set
/// `CROSSLOC_SEGMENT_FRAME` to the path prefix (without `.depth.png`) and
/// optionally `CROSSLOC_SEGMENT_PNG` for the label overlay output.
#[test]
#[ignore = "manual timing on shared data"]
fn manual_timing_on_a_real_frame() {
    let prefix = std::env::var("CROSSLOC_SEGMENT_FRAME")
        .unwrap_or_else(|_| "/work/shared/data/7scenes-redkitchen/frame-000000".into());
    let frame = read_frame(&prefix);
    let k = frame.intrinsics;
    let cfg = SegmentConfig::default();
    let s = segment_frame(&frame, &cfg).unwrap();
    let runs = 100;
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = std::time::Instant::now();
        let r = segment_frame(&frame, &cfg).unwrap();
        times.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(r.segments.len(), s.segments.len());
    }
    times.sort_by(f64::total_cmp);
    println!(
        "segment_frame 640x480 step {}: median {:.2} ms, min {:.2} ms, max {:.2} ms",
        cfg.step,
        times[runs / 2],
        times[0],
        times[runs - 1]
    );
    // Stage timings (median over the runs).
    let mut stage = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..runs {
        let t = std::time::Instant::now();
        let m = maps::build_maps(&frame, &cfg);
        stage[0].push(t.elapsed().as_secs_f64() * 1e3);
        let t = std::time::Instant::now();
        let p = find_planes(&m, &k, &cfg);
        stage[1].push(t.elapsed().as_secs_f64() * 1e3);
        let t = std::time::Instant::now();
        let mut free = vec![true; m.depth.len()];
        let mut groups = vec![0u32; m.depth.len()];
        let mut surfaces = Vec::new();
        for p in &p {
            match p.plane.kind {
                PlaneKind::Structure => p.cells.iter().for_each(|&i| free[i] = false),
                _ => {
                    surfaces.push((p.plane.normal, p.plane.offset));
                    let id = surfaces.len() as u32;
                    p.cells.iter().for_each(|&i| groups[i] = id);
                }
            }
        }
        let eligible: Vec<bool> = (0..free.len())
            .map(|i| free[i] && m.valid(i) && m.has_normal(i))
            .collect();
        let r = regions::grow_regions(&m, &eligible, &groups, &surfaces, None, &cfg);
        stage[2].push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(r.len(), s.segments.len());
    }
    for (name, t) in ["maps", "planes", "regions"].iter().zip(&mut stage) {
        t.sort_by(f64::total_cmp);
        println!("  {name}: median {:.2} ms, min {:.2} ms", t[runs / 2], t[0]);
    }
    println!("valid cells {} of {}", s.valid_cells, s.labels.len());
    let sizes: Vec<usize> = s.segments.iter().map(|g| g.len()).collect();
    println!("{} segments, sizes {sizes:?}", s.segments.len());
    let m = maps::build_maps(&frame, &cfg);
    let det = find_planes(&m, &k, &cfg);
    let mut owner = vec![0u32; m.depth.len()];
    for (j, p) in det.iter().enumerate() {
        p.cells.iter().for_each(|&i| owner[i] = j as u32 + 1);
    }
    for (j, p) in det.iter().enumerate() {
        let (o, st) = classify::evidence(&m, &owner, &p.cells, j as u32 + 1, &cfg);
        println!("plane {j}: object evidence {o}, structure evidence {st}");
    }
    for p in &s.planes {
        println!(
            "plane {} {:?}: n=({:.2},{:.2},{:.2}) d={:.2} cells={} area={:.2} m2",
            p.label - STRUCTURE_BASE,
            p.kind,
            p.normal.x,
            p.normal.y,
            p.normal.z,
            p.offset,
            p.pixel_count,
            p.area_m2
        );
    }
    for g in &s.segments {
        println!(
            "segment {}: {} cells, centroid ({:.2},{:.2},{:.2}), border {}",
            g.label,
            g.len(),
            g.centroid.x,
            g.centroid.y,
            g.centroid.z,
            g.touches_border
        );
    }
    let out = std::env::var("CROSSLOC_SEGMENT_PNG").unwrap_or_else(|_| {
        std::env::temp_dir()
            .join("segment-labels.png")
            .display()
            .to_string()
    });
    let gt = image::open(format!("{prefix}.instances.png"))
        .ok()
        .map(|m| m.to_luma16());
    // Panels: colour | labels over colour | planes (structure grey, surfaces
    // red/orange/yellow, no depth blue) | ground truth (when present).
    let panels = if gt.is_some() { 4 } else { 3 };
    let mut img = image::RgbImage::new(k.width * panels, k.height);
    let surface_colors = [
        [230, 60, 40],
        [240, 150, 30],
        [230, 220, 40],
        [200, 80, 200],
    ];
    for v in 0..k.height {
        for u in 0..k.width {
            let cell = ((v / cfg.step) * s.width + u / cfg.step) as usize;
            let pc = match det
                .iter()
                .position(|p| p.cells.binary_search(&cell).is_ok())
            {
                Some(j) if det[j].plane.kind == PlaneKind::Structure => {
                    let g = 90 + 40 * (j % 4) as u8;
                    [g, g, g]
                }
                Some(j) => surface_colors[j % 4],
                None if !m.valid(cell) => [20, 20, 90],
                None => [0, 0, 0],
            };
            img.put_pixel(2 * k.width + u, v, image::Rgb(pc));
            let l = s.label_at_pixel(u, v).unwrap_or(0);
            let c = label_color(l);
            let rgb = frame.color.get(u, v).unwrap_or([0, 0, 0]);
            img.put_pixel(u, v, image::Rgb(rgb));
            let mix = [0, 1, 2].map(|j| ((rgb[j] as u16 + 3 * c[j] as u16) / 4) as u8);
            img.put_pixel(
                k.width + u,
                v,
                image::Rgb(if l == 0 { [0, 0, 0] } else { mix }),
            );
            if let Some(g) = &gt {
                let id = g.get_pixel(u, v).0[0] as u32;
                let c = if id == 0 {
                    [60, 60, 60]
                } else {
                    label_color(id)
                };
                img.put_pixel(3 * k.width + u, v, image::Rgb(c));
            }
        }
    }
    img.save(&out).unwrap();
    println!("label overlay written to {out}");
}

fn label_color(l: u32) -> [u8; 3] {
    if l == 0 {
        return [0, 0, 0];
    }
    if l >= STRUCTURE_BASE {
        let g = 90 + 40 * ((l - STRUCTURE_BASE) % 4) as u8;
        return [g, g, g];
    }
    let h = (l as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    [
        64 + (h >> 56) as u8 % 192,
        64 + (h >> 48) as u8 % 192,
        64 + (h >> 40) as u8 % 192,
    ]
}

/// Reads a 7-Scenes style frame (`PREFIX.depth.png` in millimetres,
/// `PREFIX.color.jpg`), with the intrinsics of `camera-intrinsics.txt` (a 3x3 K)
/// in its folder, or the 7-Scenes Kinect ones.
fn read_frame(prefix: &str) -> RgbdFrame {
    let depth = image::open(format!("{prefix}.depth.png"))
        .unwrap()
        .to_luma16();
    let color = image::open(format!("{prefix}.color.jpg"))
        .unwrap()
        .to_rgb8();
    let dir = std::path::Path::new(prefix).parent().unwrap();
    let k = match std::fs::read_to_string(dir.join("camera-intrinsics.txt")) {
        Ok(text) => {
            let kv: Vec<f32> = text
                .split_whitespace()
                .map(|t| t.parse().unwrap())
                .collect();
            CameraIntrinsics {
                fx: kv[0],
                fy: kv[4],
                cx: kv[2],
                cy: kv[5],
                width: depth.width(),
                height: depth.height(),
            }
        }
        Err(_) => CameraIntrinsics::KINECT_7SCENES,
    };
    RgbdFrame {
        index: 0,
        timestamp: 0.0,
        intrinsics: k,
        color: RgbImage {
            width: color.width(),
            height: color.height(),
            data: color.into_raw(),
        },
        depth: DepthImage::from_u16(depth.width(), depth.height(), depth.into_raw(), 1000.0),
        T_session_camera: None,
    }
}

/// Scores the segmentation against ground-truth instance masks of synthetic scans
/// (`crossloc synth` output). Set `CROSSLOC_SEGMENT_SYNTH` to a scan folder (with
/// `camera-intrinsics.txt` and `frame-*.instances.png`).
#[test]
#[ignore = "manual evaluation on a generated synthetic scan"]
fn manual_score_on_synthetic_scan() {
    use std::collections::HashMap;
    let dir = std::path::PathBuf::from(std::env::var("CROSSLOC_SEGMENT_SYNTH").unwrap());
    let mut frames: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".instances.png")
                .map(|p| dir.join(p).display().to_string())
        })
        .collect();
    frames.sort();
    let cfg = SegmentConfig::default();
    let verbose = std::env::var("CROSSLOC_SEGMENT_VERBOSE").is_ok();
    let (mut ious, mut purity_num, mut purity_den) = (Vec::new(), 0usize, 0usize);
    let (mut struct_cells, mut struct_on_plane, mut obj_cells, mut obj_on_plane) = (0, 0, 0, 0);
    let mut n_segments = 0;
    let mut total_ms = 0.0;
    for prefix in &frames {
        let mask = image::open(format!("{prefix}.instances.png"))
            .unwrap()
            .to_luma16();
        let frame = read_frame(prefix);
        let t = std::time::Instant::now();
        let s = segment_frame(&frame, &cfg).unwrap();
        total_ms += t.elapsed().as_secs_f64() * 1e3;
        n_segments += s.segments.len();
        let mut gt_size: HashMap<u32, usize> = HashMap::new();
        let mut seg_size: HashMap<u32, usize> = HashMap::new();
        let mut inter: HashMap<(u32, u32), usize> = HashMap::new();
        for gy in 0..s.height {
            for gx in 0..s.width {
                let (u, v) = (gx * s.step + s.step / 2, gy * s.step + s.step / 2);
                if frame.depth.metres_at(u, v).is_none() {
                    continue;
                }
                let g = mask.get_pixel(u, v).0[0] as u32;
                let l = s.labels[(gy * s.width + gx) as usize];
                if g == 0 {
                    struct_cells += 1;
                    struct_on_plane += (l >= STRUCTURE_BASE) as usize;
                } else {
                    obj_cells += 1;
                    obj_on_plane += (l >= STRUCTURE_BASE) as usize;
                    *gt_size.entry(g).or_default() += 1;
                }
                if l != 0 && l < STRUCTURE_BASE {
                    *seg_size.entry(l).or_default() += 1;
                    *inter.entry((l, g)).or_default() += 1;
                }
            }
        }
        for (&g, &gn) in &gt_size {
            if gn < 40 {
                continue;
            }
            let best = inter
                .iter()
                .filter(|((_, gg), _)| *gg == g)
                .map(|((l, _), &c)| c as f32 / (gn + seg_size[l] - c) as f32)
                .fold(0.0f32, f32::max);
            if verbose {
                println!("{prefix}: object {g}: {gn} cells, best IoU {best:.2}");
            }
            ious.push(best);
        }
        for (&l, &ln) in &seg_size {
            let majority = inter
                .iter()
                .filter(|((ll, _), _)| *ll == l)
                .map(|(_, &c)| c)
                .max();
            purity_num += majority.unwrap_or(0);
            purity_den += ln;
        }
    }
    let n = ious.len().max(1) as f32;
    println!(
        "{} frames, {:.2} ms/frame, {:.1} segments/frame",
        frames.len(),
        total_ms / frames.len().max(1) as f64,
        n_segments as f32 / frames.len().max(1) as f32
    );
    println!(
        "objects (>= 40 cells): {}, mean best IoU {:.3}, IoU>0.5: {:.3}, IoU>0.8: {:.3}",
        ious.len(),
        ious.iter().sum::<f32>() / n,
        ious.iter().filter(|&&x| x > 0.5).count() as f32 / n,
        ious.iter().filter(|&&x| x > 0.8).count() as f32 / n
    );
    println!(
        "segment purity {:.3}; structure on planes {:.3}; object cells on planes {:.3}",
        purity_num as f32 / purity_den.max(1) as f32,
        struct_on_plane as f32 / struct_cells.max(1) as f32,
        obj_on_plane as f32 / obj_cells.max(1) as f32
    );
}

#[test]
fn random_and_degenerate_depth_never_panics_and_keeps_invariants() {
    let k = CameraIntrinsics::KINECT_7SCENES.scaled(0.25);
    let mut rng = Rng::new(4);
    for trial in 0..12 {
        let n = k.pixel_count();
        let depth = if trial % 2 == 0 {
            let special = [f32::NAN, f32::INFINITY, -1.0, 0.0, 1e30, 0.1];
            let m = (0..n)
                .map(|i| match rng.below(10) {
                    0 => special[i % special.len()],
                    1..=4 => rng.range(0.5, 1.5),
                    _ => 2.0 + 0.3 * ((i % 37) as f32 / 37.0),
                })
                .collect();
            DepthImage::from_metres(k.width, k.height, m)
        } else {
            let raw = (0..n)
                .map(|_| match rng.below(8) {
                    0 => 0,
                    1 => u16::MAX,
                    _ => 300 + rng.below(6000) as u16,
                })
                .collect();
            DepthImage::from_u16(k.width, k.height, raw, 1000.0)
        };
        let frame = RgbdFrame {
            index: trial,
            timestamp: 0.0,
            intrinsics: k,
            color: RgbImage::new(k.width, k.height),
            depth,
            T_session_camera: None,
        };
        for step in [1, 2, 3, 4, 7] {
            let cfg = SegmentConfig {
                step,
                min_segment_points: 5,
                ..SegmentConfig::default()
            };
            let s = segment_frame(&frame, &cfg).unwrap();
            assert_eq!(s.labels.len(), (s.width * s.height) as usize);
            for seg in &s.segments {
                assert!(seg.len() >= 5);
                assert!(seg.centroid.coords.iter().all(|c| c.is_finite()));
                for (p, &(u, v)) in seg.points.iter().zip(&seg.pixels) {
                    assert!(p.z >= cfg.min_depth && p.z <= cfg.max_depth);
                    assert_eq!(s.label_at_pixel(u, v), Some(seg.label));
                }
            }
            let in_segments: usize = s.segments.iter().map(|g| g.len()).sum();
            let labelled = s
                .labels
                .iter()
                .filter(|&&l| l != 0 && l < STRUCTURE_BASE)
                .count();
            assert_eq!(in_segments, labelled);
        }
    }
}

#[test]
fn structure_points_lie_on_their_fitted_planes_despite_depth_noise() {
    let scene = two_boxes_scene();
    let k = half_kinect();
    let (frame, _) = scene.render(&k, true, 11);
    let s = segment_frame(&frame, &cfg_step2()).unwrap();
    let (pts, normals) = crate::pipeline::structure_points(&frame, &s);
    assert!(pts.len() > 1000, "{} structure points", pts.len());
    assert_eq!(pts.len(), normals.len());
    for (p, n) in pts.iter().zip(&normals) {
        let plane = s
            .planes
            .iter()
            .find(|q| (q.normal - n).norm() < 1e-6)
            .expect("the normal of a detected plane");
        // On the plane to float precision, though the raw depth is noisy.
        assert!(
            (plane.normal.dot(&p.coords) + plane.offset).abs() < 1e-3,
            "{p:?} is off its plane {plane:?}"
        );
    }
}
