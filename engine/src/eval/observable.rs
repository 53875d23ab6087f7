//! Ground truth of which changes a rescan can observe at all.
//!
//! A change is only detectable when the data shows it: an object moved in a part of
//! the room the rescan never looks at, a removed object whose old place is never in
//! view, or an object the reference scan never saw (so it is not in the database)
//! cannot be reported by any system. This module decides observability from ground
//! truth alone (object surface samples, true camera poses, the recorded depth),
//! never from what a detector found:
//!
//! - an object is **seen** in a frame when at least `min_share` of its surface
//!   samples project inside the image and the frame's depth agrees with them
//!   ([`ViewTest::Surface`]: `|d − z| ≤ 0.05 m + 0.01·z`);
//! - a place is **in view** in a frame when at least `min_share` of the samples
//!   project inside the image and the depth is not in front of them
//!   ([`ViewTest::Place`]: `d ≥ z − (0.05 m + 0.01·z)`), i.e. nothing hides the place;
//! - an object or place is **observed** by a scan when that holds in at least
//!   `min_frames` frames.
//!
//! - a **move changes the shape** in view when at least `min_changed_share` of the
//!   object's surface samples after the move lie farther than `changed_distance_m`
//!   from every sample of its surface before the move (both in the map frame). An
//!   object turned about an axis of symmetry (a round lamp, a square box turned by
//!   90°) leaves the same surface where it was: no depth sensor can see that move.
//!
//! Samples are tested when `0.2 m ≤ z ≤ 8 m` in front of the camera; a pixel without
//! valid depth decides nothing for that sample (it counts as not passing). The
//! counts are exact for the given inputs and deterministic.

use std::collections::BTreeMap;

use nalgebra::Point3;

use crate::frame::{CameraIntrinsics, DepthImage, PointCloud, Pose};

/// Thresholds of observability (decided up front, see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObservableConfig {
    /// Frames in which the object (or place) must pass the view test.
    pub min_frames: u32,
    /// Share of the object's samples that must pass in one frame.
    pub min_share: f32,
    /// Surface samples kept per object (evenly thinned).
    pub max_samples: usize,
    /// Distance from the old surface beyond which a sample of a moved object
    /// counts as changed (metres).
    pub changed_distance_m: f32,
    /// Share of changed samples a move needs to change the shape.
    pub min_changed_share: f32,
}

impl Default for ObservableConfig {
    fn default() -> Self {
        ObservableConfig {
            min_frames: 5,
            min_share: 0.2,
            max_samples: 400,
            changed_distance_m: 0.03,
            min_changed_share: 0.1,
        }
    }
}

/// What a frame must show of a sample for it to pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewTest {
    /// The surface itself is seen: the depth agrees with the sample.
    Surface,
    /// The place is in view and not hidden: the depth reaches at least the sample.
    Place,
}

/// Depth tolerance of the view tests at depth `z`, metres.
fn tolerance(z: f32) -> f32 {
    0.05 + 0.01 * z
}

/// Share of `points` (map frame) that pass `test` in a frame taken at
/// `T_map_camera` with `depth` (0 for no points).
pub fn view_share(
    points: &[Point3<f32>],
    T_map_camera: &Pose,
    intrinsics: &CameraIntrinsics,
    depth: &DepthImage,
    test: ViewTest,
) -> f32 {
    if points.is_empty() {
        return 0.0;
    }
    let T_camera_map = T_map_camera.inverse();
    let sx = depth.width as f32 / intrinsics.width.max(1) as f32;
    let sy = depth.height as f32 / intrinsics.height.max(1) as f32;
    let mut pass = 0usize;
    for p in points {
        let pc = T_camera_map * p;
        if !(0.2..=8.0).contains(&pc.z) {
            continue;
        }
        let Some((u, v)) = intrinsics.project(&pc) else {
            continue;
        };
        if !intrinsics.contains(u, v) {
            continue;
        }
        let (ui, vi) = (
            (u * sx).round().max(0.0) as u32,
            (v * sy).round().max(0.0) as u32,
        );
        let Some(d) = depth.metres_at(ui, vi) else {
            continue;
        };
        let tol = tolerance(pc.z);
        let ok = match test {
            ViewTest::Surface => (d - pc.z).abs() <= tol,
            ViewTest::Place => d >= pc.z - tol,
        };
        pass += usize::from(ok);
    }
    pass as f32 / points.len() as f32
}

/// Evenly thinned surface samples per instance id (0, the room structure, left
/// out) of a labelled point cloud; empty without instance labels.
pub fn instance_samples(cloud: &PointCloud, max_samples: usize) -> BTreeMap<u32, Vec<Point3<f32>>> {
    let mut all: BTreeMap<u32, Vec<Point3<f32>>> = BTreeMap::new();
    let Some(ids) = &cloud.instance_ids else {
        return all;
    };
    for (p, &id) in cloud.points.iter().zip(ids) {
        if id != 0 {
            all.entry(id).or_default().push(*p);
        }
    }
    for pts in all.values_mut() {
        let stride = pts.len().div_ceil(max_samples.max(1)).max(1);
        *pts = pts.iter().step_by(stride).copied().collect();
    }
    all
}

/// Share of `after` samples farther than `distance` from every `before` sample
/// (0 when `after` is empty, 1 when `before` is empty). Exact (linear scan).
pub fn changed_share(before: &[Point3<f32>], after: &[Point3<f32>], distance: f32) -> f32 {
    if after.is_empty() {
        return 0.0;
    }
    let d2 = distance * distance;
    let changed = after
        .iter()
        .filter(|a| !before.iter().any(|b| (*b - **a).norm_squared() <= d2))
        .count();
    changed as f32 / after.len() as f32
}

/// True when a move from `before` to `after` (an object's surface samples in the
/// map frame) changes the surface by the thresholds of `cfg`.
pub fn move_changes_shape(
    before: &[Point3<f32>],
    after: &[Point3<f32>],
    cfg: &ObservableConfig,
) -> bool {
    changed_share(before, after, cfg.changed_distance_m) >= cfg.min_changed_share
}

/// Counts, per object, the frames of a scan in which it passes a view test.
#[derive(Debug, Clone)]
pub struct ViewCounter {
    cfg: ObservableConfig,
    test: ViewTest,
    objects: BTreeMap<u32, (Vec<Point3<f32>>, u32)>,
}

impl ViewCounter {
    /// A counter for `objects` (id → map-frame samples), all counts at zero.
    pub fn new(
        objects: BTreeMap<u32, Vec<Point3<f32>>>,
        test: ViewTest,
        cfg: ObservableConfig,
    ) -> ViewCounter {
        ViewCounter {
            cfg,
            test,
            objects: objects.into_iter().map(|(id, p)| (id, (p, 0))).collect(),
        }
    }

    /// Tests every object against one frame.
    pub fn add_frame(
        &mut self,
        T_map_camera: &Pose,
        intrinsics: &CameraIntrinsics,
        depth: &DepthImage,
    ) {
        for (pts, n) in self.objects.values_mut() {
            if view_share(pts, T_map_camera, intrinsics, depth, self.test) >= self.cfg.min_share {
                *n += 1;
            }
        }
    }

    /// Frames in which object `id` passed (0 for an unknown id).
    pub fn frames(&self, id: u32) -> u32 {
        self.objects.get(&id).map_or(0, |o| o.1)
    }

    /// True when object `id` passed in at least `min_frames` frames.
    pub fn observed(&self, id: u32) -> bool {
        self.frames(id) >= self.cfg.min_frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k() -> CameraIntrinsics {
        CameraIntrinsics::KINECT_7SCENES.scaled(0.25)
    }

    fn depth(z: f32) -> DepthImage {
        let k = k();
        DepthImage::from_metres(k.width, k.height, vec![z; k.pixel_count()])
    }

    /// A 20 × 20 cm patch of samples facing the camera at depth `z`, centred at `x`.
    fn patch(x: f32, z: f32) -> Vec<Point3<f32>> {
        let mut v = Vec::new();
        for i in 0..10 {
            for j in 0..10 {
                v.push(Point3::new(
                    x + i as f32 * 0.02 - 0.1,
                    j as f32 * 0.02 - 0.1,
                    z,
                ));
            }
        }
        v
    }

    #[test]
    fn surface_and_place_tests_follow_the_depth() {
        let I = Pose::identity();
        let p = patch(0.0, 2.0);
        // The surface is where the depth says: seen, and its place is in view.
        assert_eq!(
            view_share(&p, &I, &k(), &depth(2.02), ViewTest::Surface),
            1.0
        );
        assert_eq!(view_share(&p, &I, &k(), &depth(2.02), ViewTest::Place), 1.0);
        // The depth sees through it (object gone): not seen, but its place is in view.
        assert_eq!(
            view_share(&p, &I, &k(), &depth(3.0), ViewTest::Surface),
            0.0
        );
        assert_eq!(view_share(&p, &I, &k(), &depth(3.0), ViewTest::Place), 1.0);
        // Something in front hides it: neither.
        assert_eq!(
            view_share(&p, &I, &k(), &depth(1.0), ViewTest::Surface),
            0.0
        );
        assert_eq!(view_share(&p, &I, &k(), &depth(1.0), ViewTest::Place), 0.0);
        // Outside the image (far to the side) or behind the camera: nothing passes.
        assert_eq!(
            view_share(&patch(20.0, 2.0), &I, &k(), &depth(2.0), ViewTest::Place),
            0.0
        );
        assert_eq!(
            view_share(&patch(0.0, -2.0), &I, &k(), &depth(2.0), ViewTest::Place),
            0.0
        );
        // Half of the samples out of view: half the share.
        let mut half = patch(0.0, 2.0);
        half.extend(patch(20.0, 2.0));
        assert!((view_share(&half, &I, &k(), &depth(2.0), ViewTest::Place) - 0.5).abs() < 1e-6);
        // Invalid depth decides nothing.
        let none = DepthImage::from_metres(k().width, k().height, vec![0.0; k().pixel_count()]);
        assert_eq!(view_share(&p, &I, &k(), &none, ViewTest::Place), 0.0);
    }

    #[test]
    fn counter_needs_enough_frames_with_enough_share() {
        let cfg = ObservableConfig::default();
        let mut objects = BTreeMap::new();
        objects.insert(1, patch(0.0, 2.0));
        objects.insert(2, patch(20.0, 2.0)); // never in view
        let mut c = ViewCounter::new(objects, ViewTest::Surface, cfg);
        for _ in 0..cfg.min_frames - 1 {
            c.add_frame(&Pose::identity(), &k(), &depth(2.0));
        }
        assert_eq!(c.frames(1), cfg.min_frames - 1);
        assert!(!c.observed(1));
        // A frame that sees through it does not count.
        c.add_frame(&Pose::identity(), &k(), &depth(3.0));
        assert!(!c.observed(1));
        c.add_frame(&Pose::identity(), &k(), &depth(2.0));
        assert!(c.observed(1));
        assert_eq!(c.frames(2), 0);
        assert!(!c.observed(2));
        assert!(!c.observed(99));
    }

    #[test]
    fn a_turn_about_an_axis_of_symmetry_does_not_change_the_shape() {
        let cfg = ObservableConfig::default();
        // A square 40 × 40 cm box outline (4 faces) around the origin, 1 cm samples.
        let square = |half_x: f32, half_y: f32, shift: f32| {
            let mut v = Vec::new();
            for i in 0..=80 {
                let t = i as f32 / 80.0;
                for z in 0..5 {
                    let z = z as f32 * 0.1;
                    let x = -half_x + 2.0 * half_x * t;
                    let y = -half_y + 2.0 * half_y * t;
                    v.push(Point3::new(x + shift, -half_y, z));
                    v.push(Point3::new(x + shift, half_y, z));
                    v.push(Point3::new(-half_x + shift, y, z));
                    v.push(Point3::new(half_x + shift, y, z));
                }
            }
            v
        };
        let before = square(0.2, 0.2, 0.0);
        // Turned by 90° about its vertical axis: the same samples (x ↔ y).
        let turned: Vec<_> = before.iter().map(|p| Point3::new(-p.y, p.x, p.z)).collect();
        assert!(changed_share(&before, &turned, 0.03) < 0.01);
        assert!(!move_changes_shape(&before, &turned, &cfg));
        // An oblong box turned by 90° changes its outline.
        let oblong = square(0.4, 0.1, 0.0);
        let oblong_turned: Vec<_> = oblong.iter().map(|p| Point3::new(-p.y, p.x, p.z)).collect();
        assert!(move_changes_shape(&oblong, &oblong_turned, &cfg));
        // Shifted by 10 cm: the faces across the shift move.
        assert!(move_changes_shape(&before, &square(0.2, 0.2, 0.1), &cfg));
        // By 1 cm: within the distance, no change.
        assert!(!move_changes_shape(&before, &square(0.2, 0.2, 0.01), &cfg));
        assert_eq!(changed_share(&before, &[], 0.03), 0.0);
        assert_eq!(changed_share(&[], &before, 0.03), 1.0);
    }

    #[test]
    fn samples_are_grouped_by_instance_and_thinned() {
        let mut cloud = PointCloud::default();
        for i in 0..100 {
            cloud.points.push(Point3::new(i as f32, 0.0, 0.0));
        }
        cloud.instance_ids = Some((0..100).map(|i| (i % 3) as u32).collect());
        let s = instance_samples(&cloud, 10);
        assert_eq!(s.keys().copied().collect::<Vec<_>>(), vec![1, 2]);
        assert!(s.values().all(|v| v.len() <= 10 && v.len() >= 8));
        assert!(s[&1].iter().all(|p| (p.x as u32) % 3 == 1));
        cloud.instance_ids = None;
        assert!(instance_samples(&cloud, 10).is_empty());
    }
}
