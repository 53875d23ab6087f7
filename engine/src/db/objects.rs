//! Annotated objects of a scene: one database instance per instance label of the
//! reference data (the instance masks of a posed sequence), fused over all its
//! frames. Change detection compares the live map with these when a scene has
//! them: the reference's own segmentation fuses objects that touch each other or
//! a wall, so a change of one of them cannot be told from the group.

use std::collections::{BTreeMap, HashMap};

use nalgebra::Point3;

use super::DbInstance;
use super::build::{BuildConfig, BuildError, VoxelKey, VoxelSum, estimate_normals, make_instance};
use crate::encode::GeometricColorEncoder;
use crate::frame::{PointCloud, Pose, RgbdFrame};

#[derive(Debug, Clone, Default)]
struct Object {
    cells: HashMap<VoxelKey, VoxelSum>,
    frames: u32,
}

/// Accumulates the labelled pixels of posed frames into one voxel set per label.
#[derive(Debug, Clone)]
pub struct ObjectAccumulator {
    voxel_m: f32,
    /// Every `step`-th row and column is read.
    step: u32,
    objects: BTreeMap<u16, Object>,
}

impl ObjectAccumulator {
    /// An empty accumulator with voxels of `voxel_m` metres, reading every
    /// `step`-th pixel row and column.
    pub fn new(voxel_m: f32, step: u32) -> Result<ObjectAccumulator, BuildError> {
        if !(voxel_m.is_finite() && voxel_m > 0.0) {
            return Err(BuildError::Config(format!(
                "object voxel size must be positive, got {voxel_m}"
            )));
        }
        Ok(ObjectAccumulator {
            voxel_m,
            step: step.max(1),
            objects: BTreeMap::new(),
        })
    }

    /// Adds the pixels of `frame` whose label in `mask` (row-major, one id per
    /// pixel, 0 = no object) is not 0, moved into the map frame by `T_map_camera`.
    pub fn add_frame(
        &mut self,
        frame: &RgbdFrame,
        T_map_camera: &Pose,
        mask: &[u16],
    ) -> Result<(), BuildError> {
        let (w, h) = (frame.depth.width, frame.depth.height);
        if mask.len() != frame.depth.len() {
            return Err(BuildError::Annotations(format!(
                "frame {}: the instance mask has {} pixels, the depth image {w} x {h}",
                frame.index,
                mask.len()
            )));
        }
        let mut seen: Vec<u16> = Vec::new();
        for v in (0..h).step_by(self.step as usize) {
            for u in (0..w).step_by(self.step as usize) {
                let i = v as usize * w as usize + u as usize;
                let id = mask.get(i).copied().unwrap_or(0);
                if id == 0 {
                    continue;
                }
                let Some(z) = frame.depth.metres_at_index(i) else {
                    continue;
                };
                let p = T_map_camera * frame.intrinsics.unproject(u as f32, v as f32, z);
                let key = (
                    (p.x / self.voxel_m).floor() as i32,
                    (p.y / self.voxel_m).floor() as i32,
                    (p.z / self.voxel_m).floor() as i32,
                );
                let c = frame.color.get(u, v).unwrap_or([128, 128, 128]);
                let cell = self
                    .objects
                    .entry(id)
                    .or_default()
                    .cells
                    .entry(key)
                    .or_default();
                cell.0 += p.coords.cast::<f64>();
                for k in 0..3 {
                    cell.1[k] += u64::from(c[k]);
                }
                cell.2 += 1;
                if !seen.contains(&id) {
                    seen.push(id);
                }
            }
        }
        for id in seen {
            if let Some(o) = self.objects.get_mut(&id) {
                o.frames += 1;
            }
        }
        Ok(())
    }

    /// Number of labels seen so far.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    /// True when no labelled pixel was added.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// One database instance per label seen in at least `cfg.min_observations`
    /// frames with at least `cfg.min_points` voxels (at most `cfg.max_points`
    /// points kept), its id the label and `labels` naming it where they can.
    pub fn finish(
        self,
        cfg: &BuildConfig,
        encoder: &GeometricColorEncoder,
        labels: &BTreeMap<u16, String>,
    ) -> Vec<DbInstance> {
        let mut out = Vec::new();
        for (id, obj) in self.objects {
            if obj.frames < cfg.min_observations || obj.cells.len() < cfg.min_points {
                continue;
            }
            let mut cells: Vec<(VoxelKey, VoxelSum)> = obj.cells.into_iter().collect();
            cells.sort_by_key(|(k, _)| *k);
            let stride = cells.len().div_ceil(cfg.max_points.max(1)).max(1);
            let (points, colors): (Vec<Point3<f32>>, Vec<[u8; 3]>) = cells
                .iter()
                .step_by(stride)
                .map(|(_, c)| {
                    let n = c.2.max(1);
                    let p = Point3::from((c.0 / n as f64).cast::<f32>());
                    let col = [(c.1[0] / n) as u8, (c.1[1] / n) as u8, (c.1[2] / n) as u8];
                    (p, col)
                })
                .unzip();
            let normals = estimate_normals(&points, self.voxel_m * 3.0);
            let cloud = PointCloud {
                points,
                colors: Some(colors),
                normals: Some(normals),
                ..Default::default()
            };
            let label = labels
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("object {id}"));
            if let Some(d) = make_instance(u32::from(id), label, cloud, obj.frames, encoder) {
                out.push(d);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{CameraIntrinsics, DepthImage, RgbImage};
    use crate::io::{FrameSelection, detect::open_sequence};
    use crate::synth::annotations::ScanAnnotations;
    use crate::synth::{SynthConfig, generate_dataset, load_dataset, load_scan_truth};

    fn flat_frame(depth_m: f32) -> RgbdFrame {
        let k = CameraIntrinsics::TUM_DEFAULT.scaled(0.25);
        let n = k.pixel_count();
        RgbdFrame {
            index: 0,
            timestamp: 0.0,
            intrinsics: k,
            color: RgbImage::new(k.width, k.height),
            depth: DepthImage::from_metres(k.width, k.height, vec![depth_m; n]),
            T_session_camera: Some(Pose::identity()),
        }
    }

    fn encoder(cfg: &BuildConfig) -> GeometricColorEncoder {
        GeometricColorEncoder::new(cfg.engine.encoder.clone()).unwrap()
    }

    #[test]
    fn each_label_becomes_one_object_where_its_pixels_are() {
        let frame = flat_frame(2.0);
        let (w, h) = (frame.depth.width, frame.depth.height);
        // Left half label 5, right half label 7, a border row unlabelled.
        let mask: Vec<u16> = (0..h)
            .flat_map(|v| (0..w).map(move |u| (u, v)))
            .map(|(u, v)| match (v, u < w / 2) {
                (0, _) => 0,
                (_, true) => 5,
                (_, false) => 7,
            })
            .collect();
        let cfg = BuildConfig::default();
        let mut acc = ObjectAccumulator::new(cfg.voxel_m, 2).unwrap();
        let shifted = Pose::translation(0.0, 0.0, 1.0);
        for _ in 0..cfg.min_observations {
            acc.add_frame(&frame, &shifted, &mask).unwrap();
        }
        assert_eq!(acc.len(), 2);
        let labels = BTreeMap::from([(5u16, "left".to_string())]);
        let objects = acc.finish(&cfg, &encoder(&cfg), &labels);
        let ids: Vec<u32> = objects.iter().map(|o| o.id).collect();
        assert_eq!(ids, vec![5, 7]);
        assert_eq!(objects[0].label, "left");
        assert_eq!(objects[1].label, "object 7");
        for o in &objects {
            assert_eq!(o.observations, cfg.min_observations);
            assert!(o.points.len() >= cfg.min_points && o.points.len() <= cfg.max_points);
            assert_eq!(o.normals.len(), o.points.len());
            // The plane at 2 m in front of a camera moved 1 m along its axis.
            assert!(o.points.iter().all(|p| (p.z - 3.0).abs() < 0.02));
            let left = o.points.iter().filter(|p| p.x < 0.0).count();
            if o.id == 5 {
                assert_eq!(left, o.points.len());
            } else {
                assert!(left <= o.points.len() / 50, "{left}");
            }
            assert!(o.descriptors.first().is_some_and(|d| !d.values.is_empty()));
        }
    }

    #[test]
    fn rarely_seen_labels_are_left_out_and_bad_masks_are_errors() {
        let frame = flat_frame(2.0);
        let cfg = BuildConfig::default();
        let mut acc = ObjectAccumulator::new(cfg.voxel_m, 2).unwrap();
        let mask = vec![3u16; frame.depth.len()];
        acc.add_frame(&frame, &Pose::identity(), &mask).unwrap();
        assert!(
            acc.clone()
                .finish(&cfg, &encoder(&cfg), &BTreeMap::new())
                .is_empty()
        );
        let short = vec![3u16; frame.depth.len() - 1];
        assert!(matches!(
            acc.add_frame(&frame, &Pose::identity(), &short),
            Err(BuildError::Annotations(m)) if m.contains("mask")
        ));
        assert!(ObjectAccumulator::new(0.0, 2).is_err());
    }

    #[test]
    fn a_synthetic_scan_gives_one_clean_object_per_seen_instance() {
        let dir = tempfile::tempdir().unwrap();
        let synth = SynthConfig {
            seed: 11,
            rooms: 1,
            rescans: 0,
            frames: 40,
            reference_frames: None,
            intrinsics: CameraIntrinsics::TUM_DEFAULT.scaled(0.25),
            changes: None,
            noise: true,
        };
        generate_dataset(&synth, dir.path(), &mut |_| {}).unwrap();
        let ds = load_dataset(dir.path()).unwrap();
        let scan = ds.scan_dir(0, 0);
        let truth = load_scan_truth(&scan).unwrap();
        let cfg = BuildConfig::default();
        let frames = open_sequence(&scan, FrameSelection::ALL).unwrap();
        let mut ann = ScanAnnotations::open(&scan).unwrap();
        let scene = crate::db::build::scene_from_annotated_frames(
            "room",
            "test",
            frames,
            &mut ann,
            &cfg,
            &mut |_| {},
        )
        .unwrap();
        assert!(scene.objects.len() >= 3, "{} objects", scene.objects.len());
        for o in &scene.objects {
            let t = truth.instances.iter().find(|t| t.id == o.id).unwrap();
            assert_eq!(o.label, t.description);
            let inside = o
                .points
                .iter()
                .filter(|p| {
                    let l = t.T_map_object.inverse() * *p;
                    (0..3).all(|k| l[k] >= t.bbox_min[k] - 0.05 && l[k] <= t.bbox_max[k] + 0.05)
                })
                .count();
            assert!(
                inside * 100 >= o.points.len() * 95,
                "object {}: {inside} of {} points in its box",
                o.id,
                o.points.len()
            );
        }
        // The segmented instances are built as before, and a view for change
        // detection has the objects as its instances.
        let plain = crate::db::build::scene_from_frames(
            "room",
            "test",
            open_sequence(&scan, FrameSelection::ALL).unwrap(),
            &cfg,
            &mut |_| {},
        )
        .unwrap();
        assert!(plain.objects.is_empty());
        assert_eq!(plain.instances, scene.instances);
        assert_eq!(scene.change_view().instances, scene.objects);
        assert_eq!(plain.change_view().instances, plain.instances);
    }
}
