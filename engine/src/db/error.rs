//! Typed errors of the scene database: reading and writing database files,
//! validating a database before it is written, and building search indices.
//!
//! Every variant about a file names the file; in-memory decoding names the source
//! it was given (for example `<memory>`).

use std::path::PathBuf;

/// What went wrong with a scene database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// The file does not start with the database magic bytes.
    #[error("{path}: not a crossloc scene database (bad magic bytes)")]
    NotADatabase {
        /// The file.
        path: PathBuf,
    },
    /// The file was written by a format version this build cannot read.
    #[error(
        "{path}: database format version {found} is not supported (this build reads versions 1 to {supported})"
    )]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// Version stored in the file.
        found: u32,
        /// Newest version this build reads (the one it writes).
        supported: u32,
    },
    /// The file is shorter than its header says it must be.
    #[error("{path}: truncated: {expected} bytes expected, {found} found")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the header requires (at least).
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// A section's CRC-32 does not match its contents.
    #[error("{path}: checksum mismatch in {section}")]
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
        /// Which section ("header", "scene 3", ...).
        section: String,
    },
    /// The file's structure is inconsistent: lengths that do not add up, counts
    /// beyond the data present, non-finite numbers, invalid UTF-8, unknown codes.
    #[error("{path}: corrupt database: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong, and where.
        message: String,
    },
    /// The operating system refused a read, write, sync or rename.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A database that cannot be written or used as it is (inconsistent lengths,
    /// non-finite values, duplicate scene names, counts that do not fit the format).
    #[error("invalid scene database: {0}")]
    Invalid(String),
    /// A scene with this name is already in the database.
    #[error("a scene named {0:?} is already in the database")]
    DuplicateScene(String),
    /// Descriptors of one modality with different lengths where one length is needed.
    #[error(
        "descriptor length mismatch in scene {scene}, instance {instance}: expected {expected}, found {found}"
    )]
    DimensionMismatch {
        /// Scene index.
        scene: usize,
        /// Instance index within the scene.
        instance: usize,
        /// The index's dimension.
        expected: usize,
        /// The descriptor's length.
        found: usize,
    },
}

impl DbError {
    /// A [`DbError::Corrupt`] for `path`.
    pub(crate) fn corrupt(path: impl Into<PathBuf>, message: impl Into<String>) -> DbError {
        DbError::Corrupt {
            path: path.into(),
            message: message.into(),
        }
    }

    /// A [`DbError::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> DbError {
        DbError::Io {
            path: path.into(),
            source,
        }
    }
}
