//! The deterministic per-frame core of the engine: segment → fuse → encode → match →
//! localise → detect changes. [`Tracker`] runs the stages in order on one thread;
//! [`super::Engine`] runs the same stages on a pipeline of threads and gives the
//! same results.
//!
//! Frames: live instances are in the SESSION frame (the device's tracking frame,
//! from `T_session_camera`), database instances in the MAP frame; the fix is
//! `T_map_session`.

use std::sync::Arc;
use std::time::Instant;

use nalgebra::{Point3, Vector3};

use super::stages::{ChangeStage, FuseStage, LocaliseStage};
use super::{EngineConfig, FrameResult, PipelineError};
use crate::db::{EmbeddingIndex, SceneDatabase};
use crate::encode::{GeometricColorEncoder, Modality};
use crate::frame::RgbdFrame;
use crate::fuse::LiveMap;
use crate::localise::state::TrackingState;
use crate::segment::{STRUCTURE_BASE, Segmentation, segment_frame};

/// Points of a segmentation's structural planes (camera frame), each moved along
/// the normal onto its fitted plane, with the plane normals.
pub fn structure_points(
    frame: &RgbdFrame,
    seg: &Segmentation,
) -> (Vec<Point3<f32>>, Vec<Vector3<f32>>) {
    let mut pts = Vec::new();
    let mut normals = Vec::new();
    let step = seg.step.max(1);
    for gy in 0..seg.height {
        for gx in 0..seg.width {
            let Some(&label) = seg
                .labels
                .get(gy as usize * seg.width as usize + gx as usize)
            else {
                continue;
            };
            if label < STRUCTURE_BASE {
                continue;
            }
            let Some(plane) = seg.planes.iter().find(|p| p.label == label) else {
                continue;
            };
            let (u, v) = (gx * step, gy * step);
            if let Some(z) = frame.depth.metres_at(u, v) {
                // Snapped onto the plane fitted to all its cells: depth noise grows
                // with the square of the distance (±7 cm at 5 m), and averaging the
                // raw points per voxel leaves ghost layers in front of and behind
                // far walls; the plane's own fit is good to millimetres.
                let p = frame.intrinsics.unproject(u as f32, v as f32, z);
                let off = plane.normal.dot(&p.coords) + plane.offset;
                pts.push(p - plane.normal * off);
                normals.push(plane.normal);
            }
        }
    }
    (pts, normals)
}

/// The three stages of a tracker, built and checked together.
pub(crate) fn build_stages(
    cfg: EngineConfig,
    db: Arc<SceneDatabase>,
) -> Result<(FuseStage, LocaliseStage, ChangeStage), PipelineError> {
    let index = EmbeddingIndex::build(&db, Modality::Point)
        .map_err(|e| PipelineError::Database(e.to_string()))?;
    let encoder = GeometricColorEncoder::new(cfg.encoder.clone())
        .map_err(|e| PipelineError::Config(e.to_string()))?;
    if !index.is_empty() && index.dim() != crate::encode::InstanceEncoder::dim(&encoder) {
        return Err(PipelineError::Database(format!(
            "database descriptors have {} dimensions, the encoder makes {}",
            index.dim(),
            crate::encode::InstanceEncoder::dim(&encoder)
        )));
    }
    let fuse = FuseStage::new(cfg.clone(), encoder)?;
    let localise = LocaliseStage::new(cfg.clone(), db.clone(), index);
    let change = ChangeStage::new(cfg, db);
    Ok((fuse, localise, change))
}

/// Relocalises and tracks one session against a database, frame by frame.
pub struct Tracker {
    db: Arc<SceneDatabase>,
    segment: crate::segment::SegmentConfig,
    fuse: FuseStage,
    localise: LocaliseStage,
    change: ChangeStage,
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracker")
            .field("state", &self.localise.state())
            .finish_non_exhaustive()
    }
}

impl Tracker {
    /// A tracker in the Lost state.
    pub fn new(cfg: EngineConfig, db: Arc<SceneDatabase>) -> Result<Tracker, PipelineError> {
        let segment = cfg.segment.clone();
        let (fuse, localise, change) = build_stages(cfg, db.clone())?;
        Ok(Tracker {
            db,
            segment,
            fuse,
            localise,
            change,
        })
    }

    /// Current state.
    pub fn state(&self) -> TrackingState {
        self.localise.state()
    }

    /// The live instance map (session frame).
    pub fn live_map(&self) -> &LiveMap {
        self.fuse.live_map()
    }

    /// The database.
    pub fn database(&self) -> &SceneDatabase {
        &self.db
    }

    /// Segments and processes one frame.
    pub fn process(&mut self, frame: &RgbdFrame) -> Result<FrameResult, PipelineError> {
        let t = Instant::now();
        let seg = segment_frame(frame, &self.segment).map_err(|e| PipelineError::Frame {
            index: frame.index,
            message: e.to_string(),
        })?;
        let seg_ms = t.elapsed().as_secs_f64() * 1e3;
        let mut r = self.process_segmented(frame, &seg)?;
        r.times.segment_ms = seg_ms;
        Ok(r)
    }

    /// Processes a frame that has been segmented already.
    pub fn process_segmented(
        &mut self,
        frame: &RgbdFrame,
        seg: &Segmentation,
    ) -> Result<FrameResult, PipelineError> {
        let fused = self.fuse.run(frame, seg)?;
        let located = self.localise.run(fused);
        Ok(self.change.run(frame, located))
    }

    /// Verifies a pose of the session in `scene` against the current live map the
    /// way relocalisation verifies its hypotheses: ICP refinement from
    /// `T_map_session`, then surface and object agreement. `None` when the scene
    /// does not exist, the pose puts too little of the live surface near the map
    /// for refinement, or ICP fails. For a caller with a pose prior (a robot that
    /// knows roughly where it is) and for diagnostics.
    pub fn verify_pose(
        &mut self,
        scene: usize,
        T_map_session: &crate::frame::Pose,
    ) -> Option<crate::localise::state::VerifiedHypothesis> {
        let surface = self.fuse.live_surface();
        self.localise.verify_pose(scene, T_map_session, &surface)
    }

    /// Changes currently standing (fired and not retracted).
    pub fn active_changes(&self) -> Vec<crate::change::ChangeEvent> {
        self.change.active_changes()
    }
}
