//! Typed errors of the registration routines (Umeyama, RANSAC, ICP).
//!
//! Only malformed input or configuration is an error. "No transform could be
//! found" is a normal outcome, reported through the result types (an empty
//! hypothesis list, a low ICP fitness), never as an error.

/// Why a registration routine could not run on its input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// Fewer usable points (or correspondences) than the method needs.
    #[error("{what}: {found} usable points, at least {needed} are needed")]
    TooFewPoints {
        /// What the points are (e.g. "correspondences", "ICP source").
        what: &'static str,
        /// Usable points found.
        found: usize,
        /// Points needed.
        needed: usize,
    },
    /// Two inputs that must have one entry per point differ in length.
    #[error("{what}: lengths differ ({left} vs {right})")]
    LengthMismatch {
        /// Which inputs.
        what: &'static str,
        /// Length of the first input.
        left: usize,
        /// Length of the second input.
        right: usize,
    },
    /// A coordinate, normal or weight is NaN or infinite.
    #[error("{what}: value at index {index} is not finite")]
    NonFinite {
        /// Which input.
        what: &'static str,
        /// Index of the offending entry.
        index: usize,
    },
    /// A weight is negative, or all weights are zero.
    #[error("invalid weights: {message}")]
    InvalidWeights {
        /// What is wrong.
        message: String,
    },
    /// The points do not determine a rotation (coincident or collinear).
    #[error("degenerate configuration: {message}")]
    Degenerate {
        /// What is degenerate, with the measured spread.
        message: String,
    },
    /// A normal vector of (near) zero length.
    #[error("target normal at index {index} has zero length")]
    ZeroNormal {
        /// Index of the offending normal.
        index: usize,
    },
    /// A configuration value is out of its valid range.
    #[error("invalid configuration: {message}")]
    InvalidConfig {
        /// Which value and why.
        message: String,
    },
    /// The nearest-neighbour index could not be built.
    #[error("cannot build the k-d tree: {message}")]
    Index {
        /// The index library's message.
        message: String,
    },
    /// A numerical decomposition failed (should not happen on finite input).
    #[error("numerical failure: {message}")]
    Numerical {
        /// What failed.
        message: String,
    },
}

impl RegistrationError {
    /// An [`RegistrationError::InvalidConfig`] with its message.
    pub(crate) fn config(message: impl Into<String>) -> RegistrationError {
        RegistrationError::InvalidConfig {
            message: message.into(),
        }
    }
}
