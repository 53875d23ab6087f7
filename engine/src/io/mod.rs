//! Dataset readers and writers.
//!
//! Sequences are read frame by frame (never the whole sequence in memory) through
//! [`FrameSource`]; range and stride selection is [`FrameSelection`]. Every reader
//! states the direction and quaternion order of its source's poses; all of them
//! return `T_world_camera` (camera-to-world) in the dataset's own world frame as the
//! frame's `T_session_camera`.
//!
//! Bad input gives an [`IoError`] naming the file and the problem.

pub mod error;
pub mod npy;
pub mod ply;
pub mod scan;
pub mod selection;

pub mod detect;
pub mod image_io;
pub mod pose_text;
pub mod redwood;
pub mod seven_scenes;
pub mod single;
pub mod trajectory;
pub mod tum;

pub use error::IoError;
pub use selection::{FrameSelection, SelectionParseError};

pub use detect::{DatasetFormat, detect_format, open_sequence};
pub use redwood::RedwoodReader;
pub use seven_scenes::SevenScenesReader;
pub use single::{SingleFrameKind, SingleFrameSource, find_single_frames, read_single_frame};
pub use trajectory::{read_tum_trajectory, write_tum_trajectory};
pub use tum::TumReader;

use crate::frame::{CameraIntrinsics, RgbdFrame};

/// A stream of RGB-D frames read one at a time.
///
/// The iterator yields `Err` for a frame that cannot be read; the caller may report
/// it and continue with the next one.
pub trait FrameSource: Iterator<Item = Result<RgbdFrame, IoError>> + Send {
    /// Intrinsics of the sequence's depth camera.
    fn intrinsics(&self) -> CameraIntrinsics;
    /// Number of frames the source yields in total (after selection).
    fn frame_count(&self) -> usize;
}
