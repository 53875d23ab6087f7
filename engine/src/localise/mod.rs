//! Relocalisation geometry: finding `T_map_session`, the rigid transform that maps
//! the device's SESSION frame into the database's MAP frame.
//!
//! The building blocks, from coarse to fine:
//! - [`correspondence`]: candidate instance matches (centroids in both frames,
//!   descriptor similarity) and the cheap congruence test for minimal triples.
//! - [`umeyama`]: closed-form weighted least-squares rigid fit (f64, reflection
//!   corrected, typed errors on degenerate input).
//! - [`ransac`]: seeded RANSAC (or exhaustive enumeration for short lists) over
//!   triples, one-to-one MSAC scoring, ranked distinct hypotheses with the best and
//!   runner-up scores for an ambiguity gate.
//! - [`icp`]: point-to-plane ICP on surface samples against a map target indexed
//!   once ([`IcpTarget`]).
//! - [`compare`]: pose differences.
//!
//! Frames and units: `p_session`/source points are in the session frame, `p_map`
//! and targets in the map frame, all in metres; every returned pose is
//! `T_map_session`. Results are deterministic for a given input and seed.
//!
//! A wrong fix is worse than none: callers should accept a RANSAC hypothesis only
//! through a gate on its inlier count and [`RansacOutcome::score_ratio`], and an
//! ICP refinement only through a gate on [`IcpResult::fitness`].

pub mod closest_grid;
pub mod compare;
pub mod correspondence;
pub mod error;
pub mod icp;
mod near_cells;
pub mod pairs;
pub mod ransac;
pub mod room_shape;
pub mod state;
pub mod umeyama;
pub mod verify;

mod consensus;

#[cfg(test)]
mod icp_tests;
#[cfg(test)]
mod ransac_tests;
#[cfg(test)]
mod timing_tests;

pub use compare::{PoseDifference, pose_difference};
pub use correspondence::{
    Correspondence, TripleCheck, TripleRejection, enumerate_consistent_triples,
};
pub use error::RegistrationError;
pub use icp::{IcpConfig, IcpResult, IcpTarget, RobustKernel, refine_point_to_plane};
pub use ransac::{
    Hypothesis, RansacConfig, RansacOutcome, SUGGESTED_MAX_SCORE_RATIO, SamplingMode,
    SamplingStrategy, find_hypotheses, inliers_of, outside_inliers,
};
pub use umeyama::rigid_from_correspondences;
