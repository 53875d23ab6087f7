//! The live instance map: association of per-frame segments with live instances,
//! over-segmentation repair, retirement and bounds.

use std::collections::{BTreeMap, BTreeSet};

use kiddo::{ImmutableKdTree, SquaredEuclidean};
use nalgebra::{Point3, Vector3};

use super::config::{FuseConfig, FuseError};
use super::instance::LiveInstance;
use super::structure::StructureMap;
use super::voxel::{Sample, VoxelKey, downsample};
use crate::frame::Pose;
use crate::segment::Segment;

/// What one [`LiveMap::integrate`] call changed. Every list is sorted by id
/// (`merged` by survivor, then absorbed id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntegrateReport {
    /// Ids of instances created in this frame.
    pub created: Vec<u32>,
    /// Ids of instances that existed before this frame and received a segment.
    pub updated: Vec<u32>,
    /// `(survivor, absorbed)`: the absorbed instance was merged into the survivor
    /// (the older one) and its id no longer exists.
    pub merged: Vec<(u32, u32)>,
    /// Ids removed because they were stale or beyond the instance cap.
    pub retired: Vec<u32>,
    /// Segments ignored because they had too few valid voxels.
    pub skipped_segments: usize,
}

/// A segment transformed into the session frame and voxel-downsampled.
struct Observation {
    keys: Vec<VoxelKey>,
    samples: Vec<Sample>,
    centroid: Point3<f32>,
    lo: Point3<f32>,
    hi: Point3<f32>,
}

impl Observation {
    fn from_segment(
        T_session_camera: &Pose,
        seg: &Segment,
        voxel_size: f32,
    ) -> Option<Observation> {
        let points: Vec<Point3<f32>> = seg.points.iter().map(|p| T_session_camera * p).collect();
        let normals: Vec<Vector3<f32>> = if seg.normals.len() == seg.points.len() {
            seg.normals
                .iter()
                .map(|n| T_session_camera.rotation * n)
                .collect()
        } else {
            Vec::new()
        };
        let (keys, samples) = downsample(&points, &normals, &seg.colors, voxel_size);
        if samples.is_empty() {
            return None;
        }
        let mut sum = Vector3::<f64>::zeros();
        let mut lo = Point3::new(f32::INFINITY, f32::INFINITY, f32::INFINITY);
        let mut hi = Point3::new(f32::NEG_INFINITY, f32::NEG_INFINITY, f32::NEG_INFINITY);
        for s in &samples {
            sum += s.point.coords.cast::<f64>();
            lo = lo.inf(&s.point);
            hi = hi.sup(&s.point);
        }
        let centroid = Point3::from((sum / samples.len() as f64).cast::<f32>());
        Some(Observation {
            keys,
            samples,
            centroid,
            lo,
            hi,
        })
    }
}

/// The persistent set of live instances (and structure points) in the session
/// frame. See the module documentation of [`crate::fuse`].
#[derive(Debug, Clone)]
pub struct LiveMap {
    cfg: FuseConfig,
    instances: BTreeMap<u32, LiveInstance>,
    next_id: u32,
    structure: StructureMap,
}

impl LiveMap {
    /// An empty map; fails when the configuration is invalid.
    pub fn new(cfg: FuseConfig) -> Result<LiveMap, FuseError> {
        cfg.validate()?;
        let structure = StructureMap::new(
            cfg.structure_voxel_size,
            cfg.max_structure_points,
            cfg.max_voxel_weight,
        );
        Ok(LiveMap {
            cfg,
            instances: BTreeMap::new(),
            next_id: 1,
            structure,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &FuseConfig {
        &self.cfg
    }

    /// Integrates the object segments of frame `frame_index` (camera frame) seen
    /// from `T_session_camera`.
    ///
    /// Each segment is transformed into the session frame and voxel-downsampled;
    /// instances that existed before this frame and whose centroid lies within
    /// `max_centroid_distance` (k-d tree over centroids) and whose box touches the
    /// segment's are scored by the share of the segment's voxels whose overlap
    /// cell (`overlap_voxel_factor` voxels wide) they already occupy. The best one at or above `min_overlap_ratio` receives the
    /// segment; other candidates at or above `merge_overlap_ratio` are merged into
    /// the oldest of them. Otherwise a new instance is created. Afterwards stale
    /// instances are retired and the instance cap is enforced. A non-finite pose
    /// integrates nothing (logged), but retirement still runs.
    pub fn integrate(
        &mut self,
        frame_index: u64,
        T_session_camera: &Pose,
        segments: &[Segment],
    ) -> IntegrateReport {
        let mut report = IntegrateReport::default();
        let pose_ok = T_session_camera
            .translation
            .vector
            .iter()
            .all(|v| v.is_finite())
            && T_session_camera
                .rotation
                .coords
                .iter()
                .all(|v| v.is_finite());
        if !pose_ok {
            log::warn!("fuse: frame {frame_index}: non-finite pose, segments ignored");
        }
        let watermark = self.next_id;
        let ids: Vec<u32> = self.instances.keys().copied().collect();
        let centroids: Vec<[f32; 3]> = self
            .instances
            .values()
            .map(|i| [i.centroid.x, i.centroid.y, i.centroid.z])
            .collect();
        let tree = if centroids.is_empty() {
            None
        } else {
            ImmutableKdTree::<f32, 3>::new_from_slice(&centroids).ok()
        };
        let mut touched: BTreeSet<u32> = BTreeSet::new();
        for seg in segments.iter().filter(|_| pose_ok) {
            let Some(obs) = Observation::from_segment(T_session_camera, seg, self.cfg.voxel_size)
            else {
                report.skipped_segments += 1;
                continue;
            };
            if obs.keys.len() < self.cfg.min_segment_voxels {
                report.skipped_segments += 1;
                continue;
            }
            let mut candidates: Vec<u32> = match &tree {
                Some(t) => {
                    let r = self.cfg.max_centroid_distance;
                    let c = obs.centroid;
                    t.query(&[c.x, c.y, c.z])
                        .within::<SquaredEuclidean<f32>>(r * r)
                        .execute()
                        .iter()
                        .filter_map(|hit| ids.get(hit.item as usize).copied())
                        .collect()
                }
                None => Vec::new(),
            };
            candidates.sort_unstable();
            let scored = self.score(&obs, &candidates, watermark);
            let best = scored
                .iter()
                .filter(|(_, r)| *r >= self.cfg.min_overlap_ratio)
                .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
                .map(|(id, _)| *id);
            let target = match best {
                Some(best) => {
                    let mut group = self.merge_group(&obs, best, &scored);
                    group.sort_unstable();
                    let survivor = group.first().copied().unwrap_or(best);
                    for &other in group.iter().skip(1) {
                        self.merge(survivor, other, &mut report, &mut touched);
                    }
                    survivor
                }
                None => {
                    let id = self.next_id;
                    self.next_id = self.next_id.saturating_add(1);
                    let inst = LiveInstance::new(
                        id,
                        frame_index,
                        self.cfg.voxel_size,
                        self.cfg.max_points_per_instance,
                        self.cfg.max_voxel_weight,
                        self.cfg.overlap_factor(),
                    );
                    self.instances.insert(id, inst);
                    report.created.push(id);
                    id
                }
            };
            if let Some(inst) = self.instances.get_mut(&target) {
                inst.add_samples(&obs.keys, &obs.samples);
                inst.observe(frame_index);
            }
            touched.insert(target);
        }
        for id in &touched {
            if let Some(inst) = self.instances.get_mut(id) {
                inst.refresh();
            }
        }
        report.updated = touched
            .iter()
            .copied()
            .filter(|id| *id < watermark && self.instances.contains_key(id))
            .collect();
        report.retired = self.retire(frame_index);
        report.merged.sort_unstable();
        log::trace!(
            "fuse: frame {frame_index}: {} created, {} updated, {} merged, {} retired, {} live",
            report.created.len(),
            report.updated.len(),
            report.merged.len(),
            report.retired.len(),
            self.instances.len()
        );
        report
    }

    /// Overlap ratios of the segment with each eligible candidate, by id.
    fn score(&self, obs: &Observation, candidates: &[u32], watermark: u32) -> Vec<(u32, f32)> {
        let mut scored = Vec::new();
        for &id in candidates {
            let Some(inst) = self.instances.get(&id).filter(|i| i.id < watermark) else {
                continue;
            };
            let scale = inst.overlap_scale();
            let margin = self.cfg.voxel_size * scale as f32;
            let disjoint = (0..3).any(|k| {
                obs.lo[k] > inst.bbox_max[k] + margin || obs.hi[k] < inst.bbox_min[k] - margin
            });
            if disjoint {
                continue;
            }
            let hits = obs
                .keys
                .iter()
                .filter(|k| inst.overlap_contains(&k.coarsen(scale)))
                .count();
            scored.push((id, hits as f32 / obs.keys.len().max(1) as f32));
        }
        scored
    }

    /// The instances to merge with the segment: `best`, then the other candidates
    /// at or above `merge_overlap_ratio` (highest ratio first), each only while
    /// the box around the segment and the group stays within `max_merge_extent`.
    fn merge_group(&self, obs: &Observation, best: u32, scored: &[(u32, f32)]) -> Vec<u32> {
        let mut group = vec![best];
        let (mut lo, mut hi) = (obs.lo, obs.hi);
        if let Some(b) = self.instances.get(&best) {
            lo = lo.inf(&b.bbox_min);
            hi = hi.sup(&b.bbox_max);
        }
        let mut others: Vec<(u32, f32)> = scored
            .iter()
            .copied()
            .filter(|(id, r)| *id != best && *r >= self.cfg.merge_overlap_ratio)
            .collect();
        others.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for (id, _) in others {
            let Some(inst) = self.instances.get(&id) else {
                continue;
            };
            let (l, h) = (lo.inf(&inst.bbox_min), hi.sup(&inst.bbox_max));
            if (h - l).norm() <= self.cfg.max_merge_extent {
                group.push(id);
                (lo, hi) = (l, h);
            } else {
                log::trace!("fuse: not merging instance {id} with {best}: box too large");
            }
        }
        group
    }

    /// Merges instance `other` into `survivor` (both must exist).
    fn merge(
        &mut self,
        survivor: u32,
        other: u32,
        report: &mut IntegrateReport,
        touched: &mut BTreeSet<u32>,
    ) {
        let Some(absorbed) = self.instances.remove(&other) else {
            return;
        };
        if let Some(s) = self.instances.get_mut(&survivor) {
            s.absorb(&absorbed);
            report.merged.push((survivor, other));
            touched.remove(&other);
            log::trace!("fuse: merged instance {other} into {survivor}");
        } else {
            self.instances.insert(other, absorbed);
        }
    }

    /// Retires stale, rarely observed instances, then enforces the instance cap by
    /// dropping the least observed (then least recently seen, then oldest id).
    fn retire(&mut self, frame_index: u64) -> Vec<u32> {
        let stale: Vec<u32> = self
            .instances
            .values()
            .filter(|i| {
                frame_index.saturating_sub(i.last_seen) > self.cfg.stale_frames
                    && i.observations < self.cfg.keep_observations
            })
            .map(|i| i.id)
            .collect();
        let mut retired = stale;
        for id in &retired {
            self.instances.remove(id);
        }
        if self.instances.len() > self.cfg.max_instances {
            let mut order: Vec<(u32, u64, u32)> = self
                .instances
                .values()
                .map(|i| (i.observations, i.last_seen, i.id))
                .collect();
            order.sort_unstable();
            let excess = self.instances.len() - self.cfg.max_instances;
            for (_, _, id) in order.into_iter().take(excess) {
                self.instances.remove(&id);
                retired.push(id);
            }
        }
        retired.sort_unstable();
        retired
    }

    /// Adds structural (plane) points of a frame, camera frame, to the bounded
    /// structure set; `normals_camera` is used when it has one entry per point.
    /// Returns the number of finite points accepted.
    pub fn integrate_structure(
        &mut self,
        T_session_camera: &Pose,
        points_camera: &[Point3<f32>],
        normals_camera: &[Vector3<f32>],
    ) -> usize {
        self.structure
            .integrate(T_session_camera, points_camera, normals_camera)
    }

    /// Live instances, by increasing id.
    pub fn instances(&self) -> impl ExactSizeIterator<Item = &LiveInstance> + '_ {
        self.instances.values()
    }

    /// Number of live instances.
    pub fn len(&self) -> usize {
        self.instances.len()
    }

    /// True without live instances.
    pub fn is_empty(&self) -> bool {
        self.instances.is_empty()
    }

    /// Instances observed in at least `min_observations` frames, by increasing id.
    pub fn stable_instances(
        &self,
        min_observations: u32,
    ) -> impl Iterator<Item = &LiveInstance> + '_ {
        self.instances
            .values()
            .filter(move |i| i.observations >= min_observations)
    }

    /// Instances observed in at least `stable_observations` (config) frames.
    pub fn stable(&self) -> impl Iterator<Item = &LiveInstance> + '_ {
        self.stable_instances(self.cfg.stable_observations)
    }

    /// The instance with this id, if it is live.
    pub fn instance(&self, id: u32) -> Option<&LiveInstance> {
        self.instances.get(&id)
    }

    /// Structure points, session frame.
    pub fn structure_points(&self) -> &[Point3<f32>] {
        self.structure.points()
    }

    /// The structure set (points, normals, voxel size).
    pub fn structure(&self) -> &StructureMap {
        &self.structure
    }

    /// Total stored points: every instance's points plus the structure points.
    /// Bounded by `max_instances * max_points_per_instance + max_structure_points`.
    pub fn memory_points(&self) -> usize {
        self.instances.values().map(|i| i.len()).sum::<usize>() + self.structure.len()
    }
}
