//! Typed errors of the dataset readers and writers. Every variant names the file.

use std::path::PathBuf;

/// What went wrong reading or writing a dataset file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IoError {
    /// A file or folder the format requires does not exist.
    #[error("{path}: missing ({what})")]
    Missing {
        /// The path that was looked for.
        path: PathBuf,
        /// What the file was expected to hold.
        what: String,
    },
    /// The operating system refused a read or write.
    #[error("{path}: {source}")]
    Os {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An image could not be decoded or encoded.
    #[error("{path}: cannot decode image: {message}")]
    Image {
        /// The file.
        path: PathBuf,
        /// The decoder's message.
        message: String,
    },
    /// An image's size contradicts the intrinsics or its partner image.
    #[error("{path}: image is {found_w}x{found_h} but {expected_w}x{expected_h} was expected")]
    SizeMismatch {
        /// The file.
        path: PathBuf,
        /// Expected width.
        expected_w: u32,
        /// Expected height.
        expected_h: u32,
        /// Width found.
        found_w: u32,
        /// Height found.
        found_h: u32,
    },
    /// A depth image that is not single-channel 16-bit.
    #[error("{path}: depth must be a 16-bit single-channel image, found {found}")]
    DepthNot16Bit {
        /// The file.
        path: PathBuf,
        /// The pixel type found.
        found: String,
    },
    /// A pose whose rotation part is not orthonormal (beyond a tolerance).
    #[error("{path}{}: rotation is not orthonormal (max deviation {deviation:.3e})", line_suffix(*.line))]
    NotOrthonormal {
        /// The file.
        path: PathBuf,
        /// The 1-based line where the pose starts, when the file holds many poses.
        line: Option<usize>,
        /// Largest singular-value deviation from 1, or the determinant's from +1.
        deviation: f32,
    },
    /// A value that is NaN or infinite.
    #[error("{path}{}: value is not finite", line_suffix(*.line))]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// The 1-based line, when known.
        line: Option<usize>,
    },
    /// A line or header that does not follow the format.
    #[error("{path}:{line}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The 1-based line number (0 for binary files or whole-file problems).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A folder or file whose format is not recognised or not supported.
    #[error("{path}: {message}")]
    Unsupported {
        /// The path.
        path: PathBuf,
        /// Why it is not supported.
        message: String,
    },
}

fn line_suffix(line: Option<usize>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

impl IoError {
    /// Wraps an OS error with its path.
    pub fn os(path: impl Into<PathBuf>, source: std::io::Error) -> IoError {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::NotFound {
            IoError::Missing {
                path,
                what: "file not found".into(),
            }
        } else {
            IoError::Os { path, source }
        }
    }

    /// A malformed line.
    pub fn malformed(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> IoError {
        IoError::Malformed {
            path: path.into(),
            line,
            message: message.into(),
        }
    }
}
