//! PLY point clouds: reader for ASCII, `binary_little_endian` and
//! `binary_big_endian` files, writers for binary little-endian and ASCII.
//!
//! Guarantees:
//! - Only the `vertex` element is read, with its properties in any order and of any
//!   scalar type (`char uchar short ushort int uint float double` and the aliases
//!   `int8 uint8 int16 uint16 int32 uint32 float32 float64`). Other elements, list
//!   properties included, are skipped exactly (binary list counts are parsed with
//!   their declared count type).
//! - Property mapping: `x y z` → points (required); `nx ny nz` → normals;
//!   `red green blue` (or `r g b`) → colours, integer values taken as 0..255 and
//!   floating-point values as 0..1 (scaled by 255, rounded, clamped); instance id
//!   from the first present of `instance instance_id objectId object_id
//!   label_instance`; semantic id from the first present of `label semantic class
//!   category`. Ids become `u32` with the rules of
//!   [`map_instance_ids`](crate::io::scan::map_instance_ids) and
//!   [`map_semantic_ids`](crate::io::scan::map_semantic_ids): 0 means "none", negative
//!   values are "none", and when negative values are present instance ids are
//!   shifted by +1 so a raw instance 0 stays distinct from "none".
//! - ASCII data holds one element record per line, as the format specifies; blank
//!   lines are skipped. Elements after the vertices are not read.
//! - Positions are read as stored (units of the file, metres by convention), no
//!   frame change. NaN or infinite coordinates are [`IoError::NonFinite`](crate::io::IoError::NonFinite).
//! - Errors name the file, with the 1-based line for ASCII data and header lines, or
//!   the byte offset (in the message, `line` = 0) for binary data.
//! - Writers produce files the reader returns bit-exactly (ASCII floats are printed
//!   in shortest round-trip form); the file is written to a temporary file in the
//!   same folder and renamed into place, so readers never see a partial file.

#[path = "ply_read.rs"]
mod read;
#[path = "ply_write.rs"]
mod write;

pub use read::{parse_ply, read_ply};
pub use write::{write_ascii, write_binary, write_binary_big_endian};

/// The encoding of a PLY file's data section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlyFormat {
    /// `format ascii 1.0`.
    Ascii,
    /// `format binary_little_endian 1.0`.
    BinaryLittleEndian,
    /// `format binary_big_endian 1.0`.
    BinaryBigEndian,
}

impl PlyFormat {
    /// The name used on the header's `format` line.
    pub fn header_name(self) -> &'static str {
        match self {
            PlyFormat::Ascii => "ascii",
            PlyFormat::BinaryLittleEndian => "binary_little_endian",
            PlyFormat::BinaryBigEndian => "binary_big_endian",
        }
    }

    fn from_header_name(name: &str) -> Option<PlyFormat> {
        match name {
            "ascii" => Some(PlyFormat::Ascii),
            "binary_little_endian" => Some(PlyFormat::BinaryLittleEndian),
            "binary_big_endian" => Some(PlyFormat::BinaryBigEndian),
            _ => None,
        }
    }
}

/// A PLY scalar type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScalarType {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    F32,
    F64,
}

impl ScalarType {
    fn parse(name: &str) -> Option<ScalarType> {
        Some(match name {
            "char" | "int8" => ScalarType::I8,
            "uchar" | "uint8" => ScalarType::U8,
            "short" | "int16" => ScalarType::I16,
            "ushort" | "uint16" => ScalarType::U16,
            "int" | "int32" => ScalarType::I32,
            "uint" | "uint32" => ScalarType::U32,
            "float" | "float32" => ScalarType::F32,
            "double" | "float64" => ScalarType::F64,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            ScalarType::I8 | ScalarType::U8 => 1,
            ScalarType::I16 | ScalarType::U16 => 2,
            ScalarType::I32 | ScalarType::U32 | ScalarType::F32 => 4,
            ScalarType::F64 => 8,
        }
    }

    fn is_float(self) -> bool {
        matches!(self, ScalarType::F32 | ScalarType::F64)
    }
}
