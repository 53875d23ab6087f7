//! Change detection against the database scene the device is localised in.
//!
//! Once localised, three kinds of change are reported (the 3RScan / LivingScenes
//! rule for "moved": > 5 cm or > 1°):
//! - **Removed**: a database instance whose place was in view (inside the frustum,
//!   not occluded: the live depth reaches at least as far as the instance's surface)
//!   for enough frames, but the depth consistently shows the space behind it, and no
//!   live instance matches it anywhere.
//! - **Added**: a well-observed live instance with no database counterpart, lying
//!   where the database covers the space.
//! - **Moved**: a live instance that matches a database instance by descriptor but
//!   not in place; its own rigid transform, aligned by ICP, differs from the scene's
//!   by more than the thresholds (the displacement is reported).
//!
//! Events fire once per object, carry a confidence, and are retracted (a
//! `retracted` event with the same id) when later evidence contradicts them.
//! Positions are in the map frame, metres.

pub mod config;
pub mod detector;
pub mod extent;
pub mod neighbors;
pub mod visibility;

pub use config::ChangeConfig;
pub use detector::{ChangeDetector, ChangeEvent, ChangeKind, LiveObject, RESIDUAL_ID_BIT};
pub use visibility::{VisibilityEvidence, instance_visibility};

#[cfg(test)]
mod fused_tests;
#[cfg(test)]
mod tests;
