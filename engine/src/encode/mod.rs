//! Instance descriptors: the [`InstanceEncoder`] trait that every encoder (the
//! training-free geometric/colour descriptor here, learned cross-modal encoders
//! later) implements, and the [`Modality`] a descriptor comes from.
//!
//! Guarantees: descriptors are L2-normalised (unit length), deterministic, and
//! invariant to rigid transforms of the input (the live map is in an arbitrary
//! session frame, the database in the map frame).

pub mod color;
pub mod geometric;
mod histogram;
mod shape;
pub mod similarity;

pub use geometric::{BlockWeights, GeometricColorConfig, GeometricColorEncoder};
pub use similarity::cosine;

use crate::frame::PointCloud;

/// The modality a descriptor was computed from. Descriptors of every modality live
/// in one shared space when produced by a cross-modal encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Modality {
    /// 3-D points (with colours and normals where present).
    Point = 0,
    /// Image crops.
    Image = 1,
    /// Meshes / CAD.
    Mesh = 2,
    /// Text descriptions.
    Text = 3,
}

impl Modality {
    /// The modality for its numeric code (as stored in databases).
    pub fn from_code(code: u8) -> Option<Modality> {
        match code {
            0 => Some(Modality::Point),
            1 => Some(Modality::Image),
            2 => Some(Modality::Mesh),
            3 => Some(Modality::Text),
            _ => None,
        }
    }

    /// Short lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Modality::Point => "point",
            Modality::Image => "image",
            Modality::Mesh => "mesh",
            Modality::Text => "text",
        }
    }
}

/// Why an instance could not be encoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// Too few points to describe the instance.
    #[error("instance has {found} points, at least {needed} are needed")]
    TooFewPoints {
        /// Points given.
        found: usize,
        /// Points needed.
        needed: usize,
    },
    /// The input's attributes are inconsistent (e.g. colours for some points only).
    #[error("inconsistent instance input: {0}")]
    Inconsistent(String),
}

/// Turns one object instance into a fixed-length, unit-norm descriptor.
pub trait InstanceEncoder: Send + Sync {
    /// The modality this encoder reads.
    fn modality(&self) -> Modality;
    /// Length of the descriptors it produces.
    fn dim(&self) -> usize;
    /// Encodes an instance given as a point cloud in any rigid frame (metres).
    fn encode(&self, instance: &PointCloud) -> Result<Vec<f32>, EncodeError>;
}
