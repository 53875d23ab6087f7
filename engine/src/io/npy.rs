//! NumPy `.npy` arrays: reader for format versions 1.0, 2.0 and 3.0 and a small
//! writer (version 1.0, little-endian, C order).
//!
//! Guarantees:
//! - Supported dtypes: `f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1`, in either byte order
//!   (`<`, `>`, `|` for one-byte types, `=` for native). Values are kept in their
//!   stored type ([`NpyData`]); the `to_*` accessors convert, exactly where stated.
//! - Only C-order arrays are read: `fortran_order: True` is
//!   [`IoError::Unsupported`], as are structured dtypes, object arrays and unknown
//!   versions.
//! - A header that does not parse, or data shorter than the shape requires, is
//!   [`IoError::Malformed`] (with `line` = 0 and the byte offset in the message).
//!   Bytes after the data are ignored with a warning, as NumPy itself does.
//! - Parsing never panics on any input; every error names the file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use super::IoError;

/// The magic string every `.npy` file starts with.
const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Typed element storage of an [`NpyArray`], in C (row-major) order.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum NpyData {
    /// `f4`.
    F32(Vec<f32>),
    /// `f8`.
    F64(Vec<f64>),
    /// `i1`.
    I8(Vec<i8>),
    /// `i2`.
    I16(Vec<i16>),
    /// `i4`.
    I32(Vec<i32>),
    /// `i8`.
    I64(Vec<i64>),
    /// `u1`.
    U8(Vec<u8>),
    /// `u2`.
    U16(Vec<u16>),
    /// `u4`.
    U32(Vec<u32>),
    /// `u8`.
    U64(Vec<u64>),
    /// `b1`.
    Bool(Vec<bool>),
}

/// An n-dimensional array read from (or to be written to) a `.npy` file.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// Dimensions; empty for a 0-d (scalar) array.
    pub shape: Vec<usize>,
    /// The elements, `shape.iter().product()` of them, in C order.
    pub data: NpyData,
}

/// Applies `$f` to the vector inside any [`NpyData`] variant.
macro_rules! each_variant {
    ($data:expr, $v:ident => $f:expr) => {
        match $data {
            NpyData::F32($v) => $f,
            NpyData::F64($v) => $f,
            NpyData::I8($v) => $f,
            NpyData::I16($v) => $f,
            NpyData::I32($v) => $f,
            NpyData::I64($v) => $f,
            NpyData::U8($v) => $f,
            NpyData::U16($v) => $f,
            NpyData::U32($v) => $f,
            NpyData::U64($v) => $f,
            NpyData::Bool($v) => $f,
        }
    };
}

impl NpyArray {
    /// Number of elements.
    pub fn len(&self) -> usize {
        each_variant!(&self.data, v => v.len())
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The dtype in NumPy's little-endian notation (`"<f4"`, `"|u1"`, …).
    pub fn dtype(&self) -> &'static str {
        match &self.data {
            NpyData::F32(_) => "<f4",
            NpyData::F64(_) => "<f8",
            NpyData::I8(_) => "|i1",
            NpyData::I16(_) => "<i2",
            NpyData::I32(_) => "<i4",
            NpyData::I64(_) => "<i8",
            NpyData::U8(_) => "|u1",
            NpyData::U16(_) => "<u2",
            NpyData::U32(_) => "<u4",
            NpyData::U64(_) => "<u8",
            NpyData::Bool(_) => "|b1",
        }
    }

    /// True for the floating-point dtypes.
    pub fn is_float(&self) -> bool {
        matches!(self.data, NpyData::F32(_) | NpyData::F64(_))
    }

    /// `(rows, columns)` of a 2-d array, `(n, 1)` for a 1-d one, `None` otherwise.
    pub fn rows_cols(&self) -> Option<(usize, usize)> {
        match self.shape.as_slice() {
            [n] => Some((*n, 1)),
            [r, c] => Some((*r, *c)),
            _ => None,
        }
    }

    /// All elements as `f64`: exact except for 64-bit integers beyond ±2⁵³.
    /// Booleans become 0 or 1.
    pub fn to_f64(&self) -> Vec<f64> {
        match &self.data {
            NpyData::Bool(v) => v.iter().map(|&b| f64::from(u8::from(b))).collect(),
            NpyData::F64(v) => v.clone(),
            NpyData::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NpyData::I8(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NpyData::I16(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NpyData::I32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NpyData::I64(v) => v.iter().map(|&x| x as f64).collect(),
            NpyData::U8(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NpyData::U16(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NpyData::U32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            NpyData::U64(v) => v.iter().map(|&x| x as f64).collect(),
        }
    }

    /// All elements as `f32`: rounded to nearest for `f8` and for integers beyond
    /// ±2²⁴. Booleans become 0 or 1.
    pub fn to_f32(&self) -> Vec<f32> {
        match &self.data {
            NpyData::F32(v) => v.clone(),
            NpyData::F64(v) => v.iter().map(|&x| x as f32).collect(),
            _ => self.to_f64().into_iter().map(|x| x as f32).collect(),
        }
    }

    /// All elements as `i64`, exactly: `None` when a float is not a whole number
    /// (or not finite) or a value does not fit in `i64`. Booleans become 0 or 1.
    pub fn to_i64(&self) -> Option<Vec<i64>> {
        fn from_float(x: f64) -> Option<i64> {
            // 2^63 is exactly representable; the valid range is [-2^63, 2^63).
            const LIMIT: f64 = 9_223_372_036_854_775_808.0;
            (x.is_finite() && x.fract() == 0.0 && (-LIMIT..LIMIT).contains(&x)).then_some(x as i64)
        }
        match &self.data {
            NpyData::F32(v) => v.iter().map(|&x| from_float(f64::from(x))).collect(),
            NpyData::F64(v) => v.iter().map(|&x| from_float(x)).collect(),
            NpyData::I8(v) => Some(v.iter().map(|&x| i64::from(x)).collect()),
            NpyData::I16(v) => Some(v.iter().map(|&x| i64::from(x)).collect()),
            NpyData::I32(v) => Some(v.iter().map(|&x| i64::from(x)).collect()),
            NpyData::I64(v) => Some(v.clone()),
            NpyData::U8(v) => Some(v.iter().map(|&x| i64::from(x)).collect()),
            NpyData::U16(v) => Some(v.iter().map(|&x| i64::from(x)).collect()),
            NpyData::U32(v) => Some(v.iter().map(|&x| i64::from(x)).collect()),
            NpyData::U64(v) => v.iter().map(|&x| i64::try_from(x).ok()).collect(),
            NpyData::Bool(v) => Some(v.iter().map(|&b| i64::from(b)).collect()),
        }
    }

    fn le_bytes(&self) -> Vec<u8> {
        match &self.data {
            NpyData::Bool(v) => v.iter().map(|&b| u8::from(b)).collect(),
            NpyData::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            NpyData::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            NpyData::I8(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            NpyData::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            NpyData::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            NpyData::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            NpyData::U8(v) => v.clone(),
            NpyData::U16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            NpyData::U32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            NpyData::U64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }
}

/// Reads a `.npy` file.
pub fn read_npy(path: &Path) -> Result<NpyArray, IoError> {
    let bytes = std::fs::read(path).map_err(|e| IoError::os(path, e))?;
    let array = parse_npy(&bytes, path)?;
    log::debug!(
        "read {}: {} {:?}",
        path.display(),
        array.dtype(),
        array.shape
    );
    Ok(array)
}

/// Parses the bytes of a `.npy` file; `path` is only used in error messages.
pub fn parse_npy(bytes: &[u8], path: &Path) -> Result<NpyArray, IoError> {
    let malformed = |msg: String| IoError::malformed(path, 0, msg);
    let (major, minor) = match bytes.get(..8) {
        Some(&[0x93, b'N', b'U', b'M', b'P', b'Y', major, minor]) => (major, minor),
        _ => {
            return Err(malformed(
                "not a .npy file (missing the \\x93NUMPY magic)".into(),
            ));
        }
    };
    let (len_size, utf8) = match major {
        1 => (2usize, false),
        2 => (4, false),
        3 => (4, true),
        _ => {
            return Err(IoError::Unsupported {
                path: path.to_path_buf(),
                message: format!(".npy format version {major}.{minor} is not supported"),
            });
        }
    };
    let len_bytes = bytes
        .get(8..8 + len_size)
        .ok_or_else(|| malformed("file ends inside the header length".into()))?;
    let header_len = len_bytes
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    let header_start = 8 + len_size;
    let data_start = header_start
        .checked_add(header_len)
        .ok_or_else(|| malformed("header length overflows".into()))?;
    let header_bytes = bytes.get(header_start..data_start).ok_or_else(|| {
        malformed(format!(
            "header says {header_len} bytes at offset {header_start} but the file has {}",
            bytes.len()
        ))
    })?;
    let header = if utf8 {
        std::str::from_utf8(header_bytes).ok()
    } else {
        header_bytes
            .is_ascii()
            .then(|| std::str::from_utf8(header_bytes).ok())
            .flatten()
    }
    .ok_or_else(|| malformed("header is not ASCII/UTF-8 text".into()))?;
    let header = parse_header(header).map_err(|m| malformed(format!("bad header: {m}")))?;
    if header.fortran_order {
        return Err(IoError::Unsupported {
            path: path.to_path_buf(),
            message: "Fortran-order arrays are not supported".into(),
        });
    }
    let dtype = Dtype::parse(&header.descr).ok_or_else(|| IoError::Unsupported {
        path: path.to_path_buf(),
        message: format!("dtype {:?} is not supported", header.descr),
    })?;
    let count = header
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| malformed(format!("shape {:?} overflows", header.shape)))?;
    let need = count
        .checked_mul(dtype.size)
        .ok_or_else(|| malformed(format!("shape {:?} overflows", header.shape)))?;
    let data = bytes.get(data_start..).unwrap_or(&[]);
    if data.len() < need {
        return Err(malformed(format!(
            "shape {:?} of {} needs {need} data bytes from offset {data_start}, file has {}",
            header.shape,
            header.descr,
            data.len()
        )));
    }
    if data.len() > need {
        log::warn!(
            "{}: {} bytes after the array data ignored",
            path.display(),
            data.len() - need
        );
    }
    let data = decode(dtype, data.get(..need).unwrap_or(&[]));
    Ok(NpyArray {
        shape: header.shape,
        data,
    })
}

/// Element kind and byte order of a dtype.
#[derive(Debug, Clone, Copy)]
struct Dtype {
    kind: u8,
    size: usize,
    big_endian: bool,
}

impl Dtype {
    fn parse(descr: &str) -> Option<Dtype> {
        let bytes = descr.as_bytes();
        let (&order, rest) = bytes.split_first()?;
        let (&kind, size) = rest.split_first()?;
        let size: usize = std::str::from_utf8(size).ok()?.parse().ok()?;
        let ok = matches!(
            (kind, size),
            (b'f', 4 | 8) | (b'i' | b'u', 1 | 2 | 4 | 8) | (b'b', 1)
        );
        if !ok {
            return None;
        }
        let big_endian = match order {
            b'<' => false,
            b'>' => true,
            b'=' => cfg!(target_endian = "big"),
            b'|' if size == 1 => false,
            _ => return None,
        };
        Some(Dtype {
            kind,
            size,
            big_endian,
        })
    }
}

/// Decodes `bytes` (exactly `count * size` of them) into typed values.
fn decode(dtype: Dtype, bytes: &[u8]) -> NpyData {
    macro_rules! dec {
        ($t:ty, $n:literal) => {
            bytes
                .chunks_exact($n)
                .map(|c| {
                    let mut a = [0u8; $n];
                    a.copy_from_slice(c);
                    if dtype.big_endian {
                        <$t>::from_be_bytes(a)
                    } else {
                        <$t>::from_le_bytes(a)
                    }
                })
                .collect()
        };
    }
    match (dtype.kind, dtype.size) {
        (b'f', 4) => NpyData::F32(dec!(f32, 4)),
        (b'f', _) => NpyData::F64(dec!(f64, 8)),
        (b'i', 1) => NpyData::I8(dec!(i8, 1)),
        (b'i', 2) => NpyData::I16(dec!(i16, 2)),
        (b'i', 4) => NpyData::I32(dec!(i32, 4)),
        (b'i', _) => NpyData::I64(dec!(i64, 8)),
        (b'u', 1) => NpyData::U8(bytes.to_vec()),
        (b'u', 2) => NpyData::U16(dec!(u16, 2)),
        (b'u', 4) => NpyData::U32(dec!(u32, 4)),
        (b'u', _) => NpyData::U64(dec!(u64, 8)),
        _ => NpyData::Bool(bytes.iter().map(|&b| b != 0).collect()),
    }
}

/// The three keys of a `.npy` header dictionary.
#[derive(Debug)]
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// A value of the header's Python literal dictionary.
#[derive(Debug)]
enum Literal {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
    Other,
}

/// A tiny cursor over the header's Python literal text.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn skip_ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!(
                "expected '{}' at header byte {}",
                c as char, self.i
            ))
        }
    }

    fn string(&mut self) -> Result<String, String> {
        let q = self.peek().ok_or("unexpected end")?;
        if q != b'\'' && q != b'"' {
            return Err(format!(
                "expected a quoted string at header byte {}",
                self.i
            ));
        }
        let start = self.i + 1;
        let len = self
            .s
            .get(start..)
            .and_then(|rest| rest.iter().position(|&c| c == q))
            .ok_or("unterminated string")?;
        self.i = start + len + 1;
        let raw = self
            .s
            .get(start..start + len)
            .ok_or("unterminated string")?;
        String::from_utf8(raw.to_vec()).map_err(|_| "string is not UTF-8".to_string())
    }

    fn word(&mut self) -> &[u8] {
        self.skip_ws();
        let start = self.i;
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            self.i += 1;
        }
        self.s.get(start..self.i).unwrap_or(&[])
    }

    fn value(&mut self) -> Result<Literal, String> {
        match self.peek().ok_or("unexpected end")? {
            b'\'' | b'"' => Ok(Literal::Str(self.string()?)),
            b'(' => {
                self.i += 1;
                let mut dims = Vec::new();
                loop {
                    if self.eat(b')') {
                        break;
                    }
                    let w = self.word();
                    let d = std::str::from_utf8(w)
                        .ok()
                        .and_then(|w| w.trim_end_matches('L').parse::<usize>().ok())
                        .ok_or_else(|| format!("bad dimension at header byte {}", self.i))?;
                    dims.push(d);
                    if !self.eat(b',') {
                        self.expect(b')')?;
                        break;
                    }
                }
                Ok(Literal::Tuple(dims))
            }
            b'[' | b'{' => Ok(Literal::Other),
            _ => match self.word() {
                b"True" => Ok(Literal::Bool(true)),
                b"False" => Ok(Literal::Bool(false)),
                _ => Err(format!("unexpected value at header byte {}", self.i)),
            },
        }
    }
}

fn parse_header(text: &str) -> Result<Header, String> {
    let mut c = Cursor {
        s: text.as_bytes(),
        i: 0,
    };
    c.expect(b'{')?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        if c.eat(b'}') {
            break;
        }
        let key = c.string()?;
        c.expect(b':')?;
        let value = c.value()?;
        match (key.as_str(), value) {
            ("descr", Literal::Str(s)) => descr = Some(s),
            ("descr", _) => return Err("structured dtypes are not supported".into()),
            ("fortran_order", Literal::Bool(b)) => fortran = Some(b),
            ("shape", Literal::Tuple(t)) => shape = Some(t),
            (k @ ("fortran_order" | "shape"), _) => return Err(format!("bad value for {k:?}")),
            _ => {
                // Unknown keys are tolerated only when their value parsed.
            }
        }
        if !c.eat(b',') {
            c.expect(b'}')?;
            break;
        }
    }
    Ok(Header {
        descr: descr.ok_or("no 'descr'")?,
        fortran_order: fortran.ok_or("no 'fortran_order'")?,
        shape: shape.ok_or("no 'shape'")?,
    })
}

/// Serialises `array` as a version 1.0 `.npy` file (little-endian, C order; the
/// header is padded so the data starts at a multiple of 64 bytes).
pub fn npy_bytes(array: &NpyArray) -> Vec<u8> {
    let shape = match array.shape.as_slice() {
        [d] => format!("({d},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}",
        array.dtype()
    );
    // Pad with spaces and a final newline to a multiple of 64 (10-byte preamble).
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + array.len() * 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    // The header is far below 64 KiB for any realistic rank.
    let len = u16::try_from(header.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&array.le_bytes());
    out
}

/// Writes `array` to `path` (see [`npy_bytes`]). Fails with
/// [`IoError::Malformed`] when the shape does not match the number of elements.
pub fn write_npy_array(path: &Path, array: &NpyArray) -> Result<(), IoError> {
    let count = array
        .shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d));
    if count != Some(array.len()) {
        return Err(IoError::malformed(
            path,
            0,
            format!(
                "cannot write: shape {:?} but {} elements",
                array.shape,
                array.len()
            ),
        ));
    }
    let write = || -> std::io::Result<()> {
        let mut w = BufWriter::new(File::create(path)?);
        w.write_all(&npy_bytes(array))?;
        w.flush()
    };
    write().map_err(|e| IoError::os(path, e))
}

/// Writes a `<f4` array of the given shape.
pub fn write_npy(path: &Path, shape: &[usize], data: &[f32]) -> Result<(), IoError> {
    write_npy_array(
        path,
        &NpyArray {
            shape: shape.to_vec(),
            data: NpyData::F32(data.to_vec()),
        },
    )
}

/// Writes a `<i4` array of the given shape.
pub fn write_npy_i32(path: &Path, shape: &[usize], data: &[i32]) -> Result<(), IoError> {
    write_npy_array(
        path,
        &NpyArray {
            shape: shape.to_vec(),
            data: NpyData::I32(data.to_vec()),
        },
    )
}

/// Writes a `<i8` array of the given shape.
pub fn write_npy_i64(path: &Path, shape: &[usize], data: &[i64]) -> Result<(), IoError> {
    write_npy_array(
        path,
        &NpyArray {
            shape: shape.to_vec(),
            data: NpyData::I64(data.to_vec()),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_v(major: u8, dict: &str, data: &[u8]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&[major, 0]);
        if major == 1 {
            out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
        } else {
            out.extend_from_slice(&(dict.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(dict.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn f32_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        let data: Vec<f32> = (0..12).map(|i| i as f32 * 0.5 - 2.0).collect();
        write_npy(&path, &[4, 3], &data).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        // Data is 64-byte aligned, as NumPy writes it.
        assert_eq!((bytes.len() - 48) % 64, 0);
        let a = read_npy(&path).unwrap();
        assert_eq!(a.shape, vec![4, 3]);
        assert_eq!(a.rows_cols(), Some((4, 3)));
        assert_eq!(a.data, NpyData::F32(data.clone()));
        assert_eq!(a.to_f32(), data);
        assert_eq!(a.to_i64(), None, "0.5 steps are not whole numbers");
    }

    #[test]
    fn i64_and_i32_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.npy");
        let data = vec![-100i64, 0, 5, i64::MAX, i64::MIN];
        write_npy_i64(&path, &[5], &data).unwrap();
        let a = read_npy(&path).unwrap();
        assert_eq!(a.shape, vec![5]);
        assert_eq!(a.to_i64().unwrap(), data);
        write_npy_i32(&path, &[1, 2], &[-1, 7]).unwrap();
        let a = read_npy(&path).unwrap();
        assert_eq!(a.data, NpyData::I32(vec![-1, 7]));
        assert_eq!(a.to_f64(), vec![-1.0, 7.0]);
    }

    #[test]
    fn every_dtype_in_both_byte_orders() {
        let p = Path::new("t.npy");
        let cases: &[(&str, &[u8], NpyData)] = &[
            ("<f4", &1.5f32.to_le_bytes(), NpyData::F32(vec![1.5])),
            (">f4", &1.5f32.to_be_bytes(), NpyData::F32(vec![1.5])),
            ("<f8", &(-2.25f64).to_le_bytes(), NpyData::F64(vec![-2.25])),
            (">f8", &(-2.25f64).to_be_bytes(), NpyData::F64(vec![-2.25])),
            ("<i2", &(-3i16).to_le_bytes(), NpyData::I16(vec![-3])),
            (">i2", &(-3i16).to_be_bytes(), NpyData::I16(vec![-3])),
            ("<u2", &513u16.to_le_bytes(), NpyData::U16(vec![513])),
            (">u2", &513u16.to_be_bytes(), NpyData::U16(vec![513])),
            (
                "<i4",
                &(-70000i32).to_le_bytes(),
                NpyData::I32(vec![-70000]),
            ),
            (
                ">i4",
                &(-70000i32).to_be_bytes(),
                NpyData::I32(vec![-70000]),
            ),
            ("<u4", &70000u32.to_le_bytes(), NpyData::U32(vec![70000])),
            (">u4", &70000u32.to_be_bytes(), NpyData::U32(vec![70000])),
            ("<i8", &(-5i64).to_le_bytes(), NpyData::I64(vec![-5])),
            (">i8", &(-5i64).to_be_bytes(), NpyData::I64(vec![-5])),
            ("<u8", &u64::MAX.to_le_bytes(), NpyData::U64(vec![u64::MAX])),
            (">u8", &u64::MAX.to_be_bytes(), NpyData::U64(vec![u64::MAX])),
            ("|u1", &[200], NpyData::U8(vec![200])),
            ("|i1", &[0xff], NpyData::I8(vec![-1])),
            ("|b1", &[1], NpyData::Bool(vec![true])),
        ];
        for (descr, bytes, expected) in cases {
            let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,), }}\n");
            let a = parse_npy(&header_v(1, &dict, bytes), p).unwrap();
            assert_eq!(&a.data, expected, "{descr}");
        }
        // u64::MAX does not fit in i64.
        let dict = "{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }";
        let a = parse_npy(&header_v(1, dict, &u64::MAX.to_le_bytes()), p).unwrap();
        assert_eq!(a.to_i64(), None);
    }

    #[test]
    fn versions_2_and_3_and_scalar_shape() {
        let p = Path::new("t.npy");
        let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (), }\n";
        for v in [2, 3] {
            let a = parse_npy(&header_v(v, dict, &4.0f64.to_le_bytes()), p).unwrap();
            assert!(a.shape.is_empty());
            assert_eq!(a.to_f64(), vec![4.0]);
            assert_eq!(a.to_i64(), Some(vec![4]));
        }
        let e = parse_npy(&header_v(4, dict, &4.0f64.to_le_bytes()), p).unwrap_err();
        assert!(matches!(e, IoError::Unsupported { .. }), "{e}");
    }

    #[test]
    fn documented_errors_name_the_file() {
        let p = Path::new("/some/where/bad.npy");
        let e = parse_npy(b"PK\x03\x04 not numpy", p).unwrap_err();
        assert!(matches!(e, IoError::Malformed { .. }), "{e}");
        assert!(e.to_string().contains("/some/where/bad.npy"), "{e}");
        assert!(e.to_string().contains("magic"), "{e}");

        let fortran = "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }";
        let e = parse_npy(&header_v(1, fortran, &[0; 4]), p).unwrap_err();
        assert!(matches!(e, IoError::Unsupported { .. }), "{e}");
        assert!(e.to_string().contains("Fortran"), "{e}");

        for descr in ["<c8", "<f2", "|f4", "O", "<U10"] {
            let d = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (1,), }}");
            let e = parse_npy(&header_v(1, &d, &[0; 16]), p).unwrap_err();
            assert!(matches!(e, IoError::Unsupported { .. }), "{descr}: {e}");
        }
        let structured = "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }";
        assert!(parse_npy(&header_v(1, structured, &[0; 4]), p).is_err());

        let short = "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }";
        let e = parse_npy(&header_v(1, short, &[0; 20]), p).unwrap_err();
        assert!(matches!(e, IoError::Malformed { .. }), "{e}");
        assert!(e.to_string().contains("needs 24 data bytes"), "{e}");

        let huge = "{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551615, 2), }";
        assert!(matches!(
            parse_npy(&header_v(1, huge, &[]), p),
            Err(IoError::Malformed { .. })
        ));
        let garbage = "{'descr' '<f4', 'shape': (1,)}";
        assert!(matches!(
            parse_npy(&header_v(1, garbage, &[0; 4]), p),
            Err(IoError::Malformed { .. })
        ));
        let missing = read_npy(Path::new("/nonexistent/x.npy")).unwrap_err();
        assert!(matches!(missing, IoError::Missing { .. }), "{missing}");
    }

    #[test]
    fn truncation_at_every_length_never_panics() {
        let valid = npy_bytes(&NpyArray {
            shape: vec![3, 2],
            data: NpyData::F64(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
        });
        let p = Path::new("t.npy");
        for len in 0..valid.len() {
            assert!(parse_npy(&valid[..len], p).is_err(), "length {len}");
        }
        assert!(parse_npy(&valid, p).is_ok());
        // Flipping any single byte of the header gives Ok or Err, never a panic.
        for i in 0..valid.len().min(128) {
            let mut b = valid.clone();
            b[i] ^= 0x5a;
            let _ = parse_npy(&b, p);
        }
    }

    #[test]
    fn trailing_bytes_are_ignored() {
        let mut b = npy_bytes(&NpyArray {
            shape: vec![2],
            data: NpyData::U8(vec![1, 2]),
        });
        b.extend_from_slice(&[9, 9, 9]);
        let a = parse_npy(&b, Path::new("t.npy")).unwrap();
        assert_eq!(a.data, NpyData::U8(vec![1, 2]));
    }
}
