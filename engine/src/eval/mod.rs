//! Evaluation: the simulated headset session, pose-error metrics, relocalisation and
//! change-detection scores. Everything here is pure computation on poses and id
//! lists, so it is exact and deterministic.

pub mod localisable;
pub mod metrics;
pub mod observable;
pub mod replay;
pub mod retrieval;
pub mod scan_eval;
pub mod scan_reference;
pub mod session;

pub use localisable::{DepthCoverage, SurfaceCoverage};
pub use metrics::{
    ChangeScore, PoseError, PrecisionRecall, RelocFrame, RelocSummary, percentile, pose_error,
    success_after_first_fix, summarise_reloc,
};
pub use observable::{
    ObservableConfig, ViewCounter, ViewTest, changed_share, instance_samples, move_changes_shape,
    view_share,
};
pub use replay::{
    Latency, Replay, ReplayFrame, StageLatency, process_cpu_seconds, replay, replay_paced,
    stage_latency,
};
pub use scan_reference::{ScanReference, ScanReferenceConfig, align_scan_structure};
pub use session::random_session_transform;
