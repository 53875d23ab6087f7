//! PLY reader: header parsing, ASCII and binary record decoding, vertex mapping.

use std::path::Path;

use nalgebra::{Point3, Vector3};

use super::{PlyFormat, ScalarType};
use crate::frame::PointCloud;
use crate::io::IoError;
use crate::io::scan::{map_instance_ids, map_semantic_ids};

/// Property names giving the instance id, in order of preference.
const INSTANCE_NAMES: [&str; 5] = [
    "instance",
    "instance_id",
    "objectId",
    "object_id",
    "label_instance",
];
/// Property names giving the semantic id, in order of preference.
const SEMANTIC_NAMES: [&str; 4] = ["label", "semantic", "class", "category"];

/// The type of one property of an element.
#[derive(Debug, Clone, Copy)]
enum PropKind {
    Scalar(ScalarType),
    List { count: ScalarType, item: ScalarType },
}

/// One `property` line.
#[derive(Debug, Clone)]
struct Property {
    name: String,
    kind: PropKind,
}

/// One `element` line with its properties.
#[derive(Debug, Clone)]
struct Element {
    name: String,
    count: usize,
    props: Vec<Property>,
}

/// A parsed header and where the data starts.
#[derive(Debug)]
struct Header {
    format: PlyFormat,
    elements: Vec<Element>,
    /// Byte offset of the first data byte.
    data_offset: usize,
    /// Number of header lines (the first data line is `header_lines + 1`).
    header_lines: usize,
}

fn parse_header(bytes: &[u8], path: &Path) -> Result<Header, IoError> {
    let mut offset = 0usize;
    let mut line_no = 0usize;
    let mut format = None;
    let mut elements: Vec<Element> = Vec::new();
    loop {
        let rest = bytes.get(offset..).unwrap_or(&[]);
        let Some(len) = rest.iter().position(|&b| b == b'\n') else {
            return Err(IoError::malformed(
                path,
                line_no + 1,
                "header ends without an end_header line",
            ));
        };
        line_no += 1;
        let raw = rest.get(..len).unwrap_or(&[]);
        offset += len + 1;
        let line = std::str::from_utf8(raw)
            .map_err(|_| IoError::malformed(path, line_no, "header line is not text"))?
            .trim_end_matches('\r');
        let bad = |msg: String| IoError::malformed(path, line_no, msg);
        if line_no == 1 {
            if line.trim() != "ply" {
                return Err(bad("not a PLY file (first line is not \"ply\")".into()));
            }
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [] => {}
            ["comment" | "obj_info", ..] => {}
            ["format", name, version] => {
                let f = PlyFormat::from_header_name(name)
                    .ok_or_else(|| bad(format!("unknown format {name:?}")))?;
                if !version.starts_with('1') {
                    return Err(bad(format!("unsupported PLY version {version}")));
                }
                format = Some(f);
            }
            ["element", name, count] => {
                let count = count
                    .parse::<usize>()
                    .map_err(|_| bad(format!("bad element count {count:?}")))?;
                elements.push(Element {
                    name: (*name).to_string(),
                    count,
                    props: Vec::new(),
                });
            }
            ["property", "list", count, item, name] => {
                let count = ScalarType::parse(count)
                    .filter(|t| !t.is_float())
                    .ok_or_else(|| bad(format!("bad list count type {count:?}")))?;
                let item =
                    ScalarType::parse(item).ok_or_else(|| bad(format!("unknown type {item:?}")))?;
                let element = elements
                    .last_mut()
                    .ok_or_else(|| bad("property before any element".into()))?;
                element.props.push(Property {
                    name: (*name).to_string(),
                    kind: PropKind::List { count, item },
                });
            }
            ["property", ty, name] => {
                let ty =
                    ScalarType::parse(ty).ok_or_else(|| bad(format!("unknown type {ty:?}")))?;
                let element = elements
                    .last_mut()
                    .ok_or_else(|| bad("property before any element".into()))?;
                element.props.push(Property {
                    name: (*name).to_string(),
                    kind: PropKind::Scalar(ty),
                });
            }
            ["end_header"] => {
                let format =
                    format.ok_or_else(|| bad("no format line before end_header".into()))?;
                return Ok(Header {
                    format,
                    elements,
                    data_offset: offset,
                    header_lines: line_no,
                });
            }
            _ => return Err(bad(format!("unrecognised header line {line:?}"))),
        }
    }
}

/// What a vertex property contributes to the cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Coord(usize),
    Normal(usize),
    Color(usize),
    Instance,
    Semantic,
    Ignore,
}

/// The role of each vertex property, and which attributes are present.
struct Mapping {
    roles: Vec<Role>,
    /// Property type of each colour channel, for scaling.
    color_types: [ScalarType; 3],
    has_normals: bool,
    has_colors: bool,
    has_instance: bool,
    has_semantic: bool,
}

fn scalar_index(el: &Element, name: &str) -> Option<(usize, ScalarType)> {
    el.props.iter().enumerate().find_map(|(i, p)| match p.kind {
        PropKind::Scalar(t) if p.name == name => Some((i, t)),
        _ => None,
    })
}

fn all_present(el: &Element, names: [&str; 3]) -> Option<[(usize, ScalarType); 3]> {
    Some([
        scalar_index(el, names[0])?,
        scalar_index(el, names[1])?,
        scalar_index(el, names[2])?,
    ])
}

fn map_vertex(el: &Element, path: &Path) -> Result<Mapping, IoError> {
    let mut roles = vec![Role::Ignore; el.props.len()];
    let mut set = |i: usize, r: Role| {
        if let Some(slot) = roles.get_mut(i) {
            *slot = r;
        }
    };
    let xyz = all_present(el, ["x", "y", "z"]).ok_or_else(|| {
        IoError::malformed(path, 0, "vertex element lacks scalar x, y and z properties")
    })?;
    for (k, (i, _)) in xyz.iter().enumerate() {
        set(*i, Role::Coord(k));
    }
    let normals = all_present(el, ["nx", "ny", "nz"]);
    for (k, (i, _)) in normals.iter().flatten().enumerate() {
        set(*i, Role::Normal(k));
    }
    let colors =
        all_present(el, ["red", "green", "blue"]).or_else(|| all_present(el, ["r", "g", "b"]));
    for (k, (i, _)) in colors.iter().flatten().enumerate() {
        set(*i, Role::Color(k));
    }
    let instance = INSTANCE_NAMES.iter().find_map(|n| scalar_index(el, n));
    if let Some((i, _)) = instance {
        set(i, Role::Instance);
    }
    let semantic = SEMANTIC_NAMES.iter().find_map(|n| scalar_index(el, n));
    if let Some((i, _)) = semantic {
        set(i, Role::Semantic);
    }
    Ok(Mapping {
        roles,
        color_types: colors.map_or([ScalarType::U8; 3], |c| c.map(|(_, t)| t)),
        has_normals: normals.is_some(),
        has_colors: colors.is_some(),
        has_instance: instance.is_some(),
        has_semantic: semantic.is_some(),
    })
}

/// Where a value was read, for error messages.
#[derive(Debug, Clone, Copy)]
enum Location {
    Line(usize),
    Offset(usize),
}

/// A stream of element records, ASCII or binary.
trait Records {
    /// Moves to the next record of element `el` (record `index` of `count`).
    fn begin(&mut self, el: &str, index: usize, count: usize) -> Result<(), IoError>;
    /// Reads the next scalar of the current record.
    fn scalar(&mut self, t: ScalarType) -> Result<f64, IoError>;
    /// Checks the current record is fully consumed.
    fn end(&mut self) -> Result<(), IoError>;
    /// Where the last value was read.
    fn location(&self) -> Location;
    /// Skips one whole record of `el`; the default reads and drops every value.
    fn skip(&mut self, el: &Element, index: usize) -> Result<(), IoError> {
        self.begin(&el.name, index, el.count)?;
        for p in &el.props {
            match p.kind {
                PropKind::Scalar(t) => {
                    self.scalar(t)?;
                }
                PropKind::List { count, item } => {
                    let n = self.scalar(count)?;
                    if n < 0.0 {
                        return Err(self.error(format!("negative list length {n}")));
                    }
                    for _ in 0..n as u64 {
                        self.scalar(item)?;
                    }
                }
            }
        }
        self.end()
    }
    /// A `Malformed` error at the current location.
    fn error(&self, message: String) -> IoError;
}

struct Binary<'a> {
    path: &'a Path,
    data: &'a [u8],
    /// Absolute byte offset of `data[0]` in the file.
    base: usize,
    pos: usize,
    big_endian: bool,
    record: (usize, usize),
    element: String,
}

impl Records for Binary<'_> {
    fn begin(&mut self, el: &str, index: usize, count: usize) -> Result<(), IoError> {
        if self.element != el {
            self.element = el.to_string();
        }
        self.record = (index, count);
        Ok(())
    }

    fn scalar(&mut self, t: ScalarType) -> Result<f64, IoError> {
        let size = t.size();
        let Some(b) = self.data.get(self.pos..self.pos + size) else {
            return Err(self.error(format!(
                "file ends inside {} record {} of {} (needs {} more bytes)",
                self.element,
                self.record.0 + 1,
                self.record.1,
                (self.pos + size).saturating_sub(self.data.len())
            )));
        };
        self.pos += size;
        // `w` holds the value little-endian, zero-padded to 8 bytes.
        let mut w = [0u8; 8];
        if let Some(dst) = w.get_mut(..size) {
            dst.copy_from_slice(b);
            if self.big_endian {
                dst.reverse();
            }
        }
        Ok(match t {
            ScalarType::I8 => f64::from(w[0] as i8),
            ScalarType::U8 => f64::from(w[0]),
            ScalarType::I16 => f64::from(i16::from_le_bytes([w[0], w[1]])),
            ScalarType::U16 => f64::from(u16::from_le_bytes([w[0], w[1]])),
            ScalarType::I32 => f64::from(i32::from_le_bytes([w[0], w[1], w[2], w[3]])),
            ScalarType::U32 => f64::from(u32::from_le_bytes([w[0], w[1], w[2], w[3]])),
            ScalarType::F32 => f64::from(f32::from_le_bytes([w[0], w[1], w[2], w[3]])),
            ScalarType::F64 => f64::from_le_bytes(w),
        })
    }

    fn end(&mut self) -> Result<(), IoError> {
        Ok(())
    }

    fn location(&self) -> Location {
        Location::Offset(self.base + self.pos)
    }

    fn error(&self, message: String) -> IoError {
        IoError::malformed(
            self.path,
            0,
            format!("byte offset {}: {message}", self.base + self.pos),
        )
    }
}

struct Ascii<'a> {
    path: &'a Path,
    lines: std::iter::Enumerate<std::str::Lines<'a>>,
    first_line: usize,
    line_no: usize,
    tokens: Vec<&'a str>,
    next: usize,
}

impl<'a> Records for Ascii<'a> {
    fn begin(&mut self, el: &str, index: usize, count: usize) -> Result<(), IoError> {
        loop {
            let Some((i, line)) = self.lines.next() else {
                self.line_no += 1;
                return Err(self.error(format!(
                    "file ends before {el} record {} of {count}",
                    index + 1
                )));
            };
            self.line_no = self.first_line + i;
            let line = line.trim();
            if !line.is_empty() {
                self.tokens = line.split_whitespace().collect();
                self.next = 0;
                return Ok(());
            }
        }
    }

    fn scalar(&mut self, t: ScalarType) -> Result<f64, IoError> {
        let Some(tok) = self.tokens.get(self.next).copied() else {
            return Err(self.error(format!(
                "too few values ({} on the line)",
                self.tokens.len()
            )));
        };
        self.next += 1;
        let v: f64 = tok
            .parse()
            .map_err(|_| self.error(format!("not a number: {tok:?}")))?;
        if !t.is_float() && v.fract() != 0.0 {
            return Err(self.error(format!("{tok:?} is not an integer")));
        }
        Ok(v)
    }

    fn end(&mut self) -> Result<(), IoError> {
        if self.next != self.tokens.len() {
            return Err(self.error(format!(
                "{} values on the line, the header declares {}",
                self.tokens.len(),
                self.next
            )));
        }
        Ok(())
    }

    fn location(&self) -> Location {
        Location::Line(self.line_no)
    }

    fn skip(&mut self, el: &Element, index: usize) -> Result<(), IoError> {
        // One record per line: no need to decode the values.
        self.begin(&el.name, index, el.count)
    }

    fn error(&self, message: String) -> IoError {
        IoError::malformed(self.path, self.line_no, message)
    }
}

/// Checks a stored id is a whole number in the `i64` range (the mapping to `u32`
/// happens once all ids are known, see [`crate::io::scan::map_instance_ids`]).
fn to_raw_id(v: f64, r: &dyn Records) -> Result<i64, IoError> {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if !v.is_finite() || v.fract() != 0.0 || !(-LIMIT..LIMIT).contains(&v) {
        return Err(r.error(format!("id {v} is not a whole number")));
    }
    Ok(v as i64)
}

fn to_color(v: f64, t: ScalarType) -> u8 {
    let scaled = match t {
        ScalarType::F32 | ScalarType::F64 => v * 255.0,
        ScalarType::U16 => v * 255.0 / 65535.0,
        _ => v,
    };
    if scaled.is_nan() {
        0
    } else {
        scaled.round().clamp(0.0, 255.0) as u8
    }
}

fn read_vertices(
    r: &mut dyn Records,
    el: &Element,
    m: &Mapping,
    path: &Path,
    cap: usize,
) -> Result<PointCloud, IoError> {
    let n = el.count;
    let cap = n.min(cap);
    let mut cloud = PointCloud {
        points: Vec::with_capacity(cap),
        normals: m.has_normals.then(|| Vec::with_capacity(cap)),
        colors: m.has_colors.then(|| Vec::with_capacity(cap)),
        instance_ids: None,
        semantic_ids: None,
    };
    let mut instances: Vec<i64> = Vec::with_capacity(if m.has_instance { cap } else { 0 });
    let mut semantics: Vec<i64> = Vec::with_capacity(if m.has_semantic { cap } else { 0 });
    for index in 0..n {
        r.begin(&el.name, index, n)?;
        let (mut p, mut nrm, mut c) = ([0f32; 3], [0f32; 3], [0u8; 3]);
        let (mut inst, mut sem) = (0i64, 0i64);
        for (prop, role) in el.props.iter().zip(&m.roles) {
            let t = match prop.kind {
                PropKind::Scalar(t) => t,
                PropKind::List { count, item } => {
                    let len = r.scalar(count)?;
                    if len < 0.0 {
                        return Err(r.error(format!("negative list length {len}")));
                    }
                    for _ in 0..len as u64 {
                        r.scalar(item)?;
                    }
                    continue;
                }
            };
            let v = r.scalar(t)?;
            match *role {
                Role::Coord(k) => {
                    if !v.is_finite() {
                        let line = match r.location() {
                            Location::Line(l) => Some(l),
                            Location::Offset(o) => {
                                log::warn!(
                                    "{}: non-finite coordinate at byte offset {o}",
                                    path.display()
                                );
                                None
                            }
                        };
                        return Err(IoError::NonFinite {
                            path: path.to_path_buf(),
                            line,
                        });
                    }
                    if let Some(s) = p.get_mut(k) {
                        *s = v as f32;
                    }
                }
                Role::Normal(k) => {
                    if let Some(s) = nrm.get_mut(k) {
                        *s = v as f32;
                    }
                }
                Role::Color(k) => {
                    if let (Some(s), Some(&t)) = (c.get_mut(k), m.color_types.get(k)) {
                        *s = to_color(v, t);
                    }
                }
                Role::Instance => inst = to_raw_id(v, r)?,
                Role::Semantic => sem = to_raw_id(v, r)?,
                Role::Ignore => {}
            }
        }
        r.end()?;
        cloud.points.push(Point3::from(p));
        if let Some(v) = &mut cloud.normals {
            v.push(Vector3::from(nrm));
        }
        if let Some(v) = &mut cloud.colors {
            v.push(c);
        }
        if m.has_instance {
            instances.push(inst);
        }
        if m.has_semantic {
            semantics.push(sem);
        }
    }
    if m.has_instance {
        cloud.instance_ids = Some(map_instance_ids(&instances, path)?);
    }
    if m.has_semantic {
        cloud.semantic_ids = Some(map_semantic_ids(&semantics, path)?);
    }
    Ok(cloud)
}

/// Reads the `vertex` element of a PLY file as a point cloud (see the module
/// documentation for the property mapping and guarantees).
pub fn read_ply(path: &Path) -> Result<PointCloud, IoError> {
    let bytes = std::fs::read(path).map_err(|e| IoError::os(path, e))?;
    let cloud = parse_ply(&bytes, path)?;
    log::debug!("read {} points from {}", cloud.len(), path.display());
    Ok(cloud)
}

/// Parses the bytes of a PLY file; `path` is only used in error messages.
pub fn parse_ply(bytes: &[u8], path: &Path) -> Result<PointCloud, IoError> {
    let header = parse_header(bytes, path)?;
    let vertex_pos = header
        .elements
        .iter()
        .position(|e| e.name == "vertex")
        .ok_or_else(|| IoError::malformed(path, 0, "no vertex element in the header"))?;
    let vertex = header
        .elements
        .get(vertex_pos)
        .ok_or_else(|| IoError::malformed(path, 0, "no vertex element in the header"))?;
    let mapping = map_vertex(vertex, path)?;
    let data = bytes.get(header.data_offset..).unwrap_or(&[]);
    let mut records: Box<dyn Records + '_> = match header.format {
        PlyFormat::Ascii => {
            let text = std::str::from_utf8(data).map_err(|e| {
                IoError::malformed(
                    path,
                    0,
                    format!(
                        "ASCII data is not text (byte offset {})",
                        header.data_offset + e.valid_up_to()
                    ),
                )
            })?;
            Box::new(Ascii {
                path,
                lines: text.lines().enumerate(),
                first_line: header.header_lines + 1,
                line_no: header.header_lines,
                tokens: Vec::new(),
                next: 0,
            })
        }
        PlyFormat::BinaryLittleEndian | PlyFormat::BinaryBigEndian => Box::new(Binary {
            path,
            data,
            base: header.data_offset,
            pos: 0,
            big_endian: header.format == PlyFormat::BinaryBigEndian,
            record: (0, 0),
            element: String::new(),
        }),
    };
    for el in header.elements.iter().take(vertex_pos) {
        for index in 0..el.count {
            records.skip(el, index)?;
        }
    }
    // Every vertex needs at least one byte (binary) or two (ASCII), which bounds
    // the allocation for a header that lies about the count.
    read_vertices(records.as_mut(), vertex, &mapping, path, data.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::ply::{write_ascii, write_binary, write_binary_big_endian};

    fn sample_cloud() -> PointCloud {
        let n = 50;
        let rng = &mut crate::rng::Rng::new(7);
        let mut c = PointCloud::default();
        let (mut nrm, mut col, mut ins, mut sem) = (vec![], vec![], vec![], vec![]);
        for i in 0..n {
            let u = rng.next_u64();
            let f = |k: u32| ((u >> (k * 16)) & 0xffff) as f32 / 977.0 - 30.0;
            c.points.push(Point3::new(f(0), f(1), f(2) * 1e-7));
            nrm.push(Vector3::new(f(3), f(0), f(1)).normalize());
            col.push([(u & 0xff) as u8, (u >> 8) as u8, i as u8]);
            ins.push((u % 5) as u32 * 1000);
            sem.push(u32::MAX - (u % 3) as u32);
        }
        c.normals = Some(nrm);
        c.colors = Some(col);
        c.instance_ids = Some(ins);
        c.semantic_ids = Some(sem);
        c
    }

    fn parse(text: &[u8]) -> Result<PointCloud, IoError> {
        parse_ply(text, Path::new("/x/test.ply"))
    }

    #[test]
    fn round_trips_in_every_format_are_exact() {
        let dir = tempfile::tempdir().unwrap();
        let cloud = sample_cloud();
        type Writer = fn(&Path, &PointCloud) -> Result<(), IoError>;
        let writers: [(&str, Writer); 3] = [
            ("ascii", write_ascii),
            ("le", write_binary),
            ("be", write_binary_big_endian),
        ];
        for (name, write) in writers {
            let path = dir.path().join(format!("{name}.ply"));
            write(&path, &cloud).unwrap();
            let back = read_ply(&path).unwrap();
            assert_eq!(back, cloud, "{name}");
        }
        // A bare cloud stays bare.
        let bare = PointCloud {
            points: cloud.points.clone(),
            ..Default::default()
        };
        let path = dir.path().join("bare.ply");
        write_binary(&path, &bare).unwrap();
        assert_eq!(read_ply(&path).unwrap(), bare);
    }

    /// Big-endian binary file with a face element (uchar count, int indices)
    /// before and another after the vertices, and extra properties.
    #[test]
    fn binary_faces_are_skipped_with_their_list_count_type() {
        let mut b = b"ply\nformat binary_big_endian 1.0\n\
            element face 2\nproperty list ushort int vertex_indices\nproperty uchar flags\n\
            element vertex 2\nproperty double z\nproperty list uchar float extra\n\
            property float y\nproperty short x\nproperty float instance_id\nproperty int objectId\n\
            element face 1\nproperty list uint int vertex_indices\nend_header\n"
            .to_vec();
        // face 0: 3 indices; face 1: 0 indices.
        b.extend_from_slice(&3u16.to_be_bytes());
        for i in [0i32, 1, 2] {
            b.extend_from_slice(&i.to_be_bytes());
        }
        b.push(9);
        b.extend_from_slice(&0u16.to_be_bytes());
        b.push(8);
        for (z, extra, y, x, inst) in [
            (0.5f64, 2u8, -1.5f32, 3i16, -1.0f32),
            (2.0, 0, 4.0, -7, 4.0),
        ] {
            b.extend_from_slice(&z.to_be_bytes());
            b.push(extra);
            for k in 0..extra {
                b.extend_from_slice(&(k as f32).to_be_bytes());
            }
            b.extend_from_slice(&y.to_be_bytes());
            b.extend_from_slice(&x.to_be_bytes());
            b.extend_from_slice(&inst.to_be_bytes());
            b.extend_from_slice(&77i32.to_be_bytes());
        }
        b.extend_from_slice(&3u32.to_be_bytes());
        let c = parse(&b).unwrap();
        assert_eq!(
            c.points,
            vec![Point3::new(3.0, -1.5, 0.5), Point3::new(-7.0, 4.0, 2.0)]
        );
        // instance_id wins over objectId; -1 is "none" and 4 shifts to 5.
        assert_eq!(c.instance_ids, Some(vec![0, 5]));
        assert!(c.colors.is_none() && c.normals.is_none() && c.semantic_ids.is_none());
        // Truncating the data anywhere is an error with a byte offset, never a panic.
        let header_len = b.windows(11).position(|w| w == b"end_header\n").unwrap() + 11;
        for len in 0..b.len() - 4 {
            let e = parse(&b[..len]).unwrap_err();
            if len > header_len {
                assert!(e.to_string().contains("byte offset"), "{len}: {e}");
            }
        }
    }

    #[test]
    fn ascii_unusual_order_float_colours_and_aliases() {
        let text = b"ply\r\nformat ascii 1.0\r\ncomment made by hand\r\n\
            element vertex 3\r\nproperty uint8 b\r\nproperty float32 z\r\nproperty int16 label\r\n\
            property float64 g\r\nproperty float32 y\r\nproperty float32 r\r\nproperty float32 x\r\n\
            property int32 class\r\nproperty float32 nz\r\nproperty float32 nx\r\nproperty float32 ny\r\n\
            element face 1\r\nproperty list uchar int vertex_indices\r\nend_header\r\n\
            255 3 -100 0.5 2 1.0 1 9 1 0 0\r\n\
            \r\n\
            0 6 12 0 5 0 4 9 0 1 0\r\n\
            128 9 40 1 8 0.2 7 9 0 0 1\r\n\
            3 0 1 2\r\n";
        let c = parse(text).unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c.points[1], Point3::new(4.0, 5.0, 6.0));
        assert_eq!(c.colors.as_ref().unwrap()[0], [255, 128, 255]);
        assert_eq!(c.colors.as_ref().unwrap()[2], [51, 255, 128]);
        assert_eq!(c.normals.as_ref().unwrap()[0], Vector3::new(0.0, 0.0, 1.0));
        assert_eq!(c.normals.as_ref().unwrap()[1], Vector3::new(1.0, 0.0, 0.0));
        // `label` wins over `class`; the negative ignore code is 0.
        assert_eq!(c.semantic_ids, Some(vec![0, 12, 40]));
        assert!(c.instance_ids.is_none());
    }

    #[test]
    fn malformed_inputs_give_located_errors() {
        let head = "ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\n\
                    property float y\nproperty float z\nend_header\n";
        let cases: [(String, &str, &str); 7] = [
            (
                format!("{head}1 2 3\n"),
                ":9:",
                "file ends before vertex record 2 of 2",
            ),
            (
                format!("{head}1 2 3\n4 five 6\n"),
                ":9:",
                "not a number: \"five\"",
            ),
            (format!("{head}1 2 3\n4 5\n"), ":9:", "too few values"),
            (
                format!("{head}1 2 3\n4 5 6 7\n"),
                ":9:",
                "4 values on the line",
            ),
            ("plx\n".to_string(), ":1:", "not a PLY file"),
            (
                "ply\nformat ascii 1.0\nelement vertex 1\nproperty quad x\nend_header\n".into(),
                ":4:",
                "unknown type",
            ),
            (
                "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nend_header\n0\n".into(),
                ":0:",
                "lacks scalar x, y and z",
            ),
        ];
        for (text, loc, msg) in cases {
            let e = parse(text.as_bytes()).unwrap_err();
            let s = e.to_string();
            assert!(matches!(e, IoError::Malformed { .. }), "{s}");
            assert!(s.starts_with("/x/test.ply"), "{s}");
            assert!(
                s.contains(loc) && s.contains(msg),
                "expected {loc} {msg}: {s}"
            );
        }
        let nan = format!("{head}1 2 3\n4 nan 6\n");
        match parse(nan.as_bytes()) {
            Err(IoError::NonFinite { line, .. }) => assert_eq!(line, Some(9)),
            other => panic!("expected NonFinite, got {other:?}"),
        }
        // Binary: count exceeding the data names the byte offset.
        let mut b = b"ply\nformat binary_little_endian 1.0\nelement vertex 3\n\
            property float x\nproperty float y\nproperty float z\nend_header\n"
            .to_vec();
        let header_len = b.len();
        b.extend(std::iter::repeat_n(0u8, 24));
        let e = parse(&b).unwrap_err().to_string();
        assert!(
            e.contains(&format!("byte offset {}", header_len + 24)) && e.contains("record 3 of 3"),
            "{e}"
        );
        b.extend_from_slice(&f32::INFINITY.to_le_bytes());
        b.extend(std::iter::repeat_n(0u8, 8));
        assert!(matches!(
            parse(&b),
            Err(IoError::NonFinite { line: None, .. })
        ));
        let missing = read_ply(Path::new("/nonexistent/a.ply")).unwrap_err();
        assert!(matches!(missing, IoError::Missing { .. }));
    }

    #[test]
    fn huge_declared_counts_do_not_allocate_or_panic() {
        let text = b"ply\nformat binary_little_endian 1.0\nelement vertex 18446744073709551615\n\
            property float x\nproperty float y\nproperty float z\nend_header\n\0\0\0\0";
        assert!(parse(text).is_err());
        let text = b"ply\nformat binary_little_endian 1.0\nelement face 1\n\
            property list uint uchar idx\nelement vertex 1\nproperty float x\nproperty float y\n\
            property float z\nend_header\n\xff\xff\xff\xff\x01";
        assert!(parse(text).is_err());
    }

    #[test]
    fn truncation_of_ascii_file_at_every_length_never_panics() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.ply");
        let mut cloud = sample_cloud();
        cloud.points.truncate(3);
        for v in [&mut cloud.instance_ids, &mut cloud.semantic_ids] {
            v.as_mut().unwrap().truncate(3);
        }
        cloud.colors.as_mut().unwrap().truncate(3);
        cloud.normals.as_mut().unwrap().truncate(3);
        write_ascii(&path, &cloud).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        for len in 0..bytes.len() {
            // Cutting a number short can still parse; only a panic would fail here.
            let _ = parse(&bytes[..len]);
        }
        assert_eq!(parse(&bytes).unwrap(), cloud);
    }
}
