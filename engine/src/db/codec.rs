//! Field-by-field little-endian encoding of one [`Scene`] (the payload of a scene
//! section in the database file), and its checked decoding.
//!
//! Layout of a scene (all integers `u32`, all reals `f32`, little-endian; a string
//! is a `u32` byte length followed by UTF-8; a list is a `u32` count followed by
//! its entries):
//!
//! ```text
//! name: str, source: str, metadata: [key: str, value: str] (keys strictly increasing),
//! embedding: [f32], structure_points: [3 f32], structure_normals: [3 f32],
//! instances: [instance], objects: [instance] (format version 2 on; empty when
//! read from version 1),
//! seen_space: flag u8 (0 = none, 1 = present), then when present origin 3 f32,
//!             cell f32, dims 3 u32, bits: [u8] (format version 3 on)
//! instance = id: u32, label: str, centroid: 3 f32,
//!            bbox: center 3 f32, half_extents 3 f32, rotation 4 f32 (i, j, k, w),
//!            observations: u32, descriptors: [modality: u8, values: [f32]],
//!            points: [3 f32], normals: [3 f32], colors: [3 u8]
//! ```
//!
//! Decoding never allocates for a count before checking that the bytes it needs
//! are present, never panics, and rejects non-finite values, negative box extents,
//! non-unit rotations, unknown modality codes, invalid UTF-8, mismatched
//! point/normal/colour counts and bytes left over. Values round-trip bit-exactly.

use std::collections::BTreeMap;

use nalgebra::{Point3, Quaternion, UnitQuaternion, Vector3};

use super::model::{DbInstance, Descriptor, OrientedBox, Scene, validate_box};
use super::seen_space::SeenSpace;
use crate::encode::Modality;

/// Appends little-endian fields to a byte buffer.
pub(crate) struct Writer {
    /// The bytes written so far.
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn new() -> Writer {
        Writer { buf: Vec::new() }
    }

    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn f32(&mut self, v: f32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    /// A count; the caller has validated that it fits (see `SceneDatabase::validate`).
    fn count(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }

    fn str(&mut self, s: &str) {
        self.count(s.len());
        self.buf.extend_from_slice(s.as_bytes());
    }

    fn f32s(&mut self, v: &[f32]) {
        self.count(v.len());
        v.iter().for_each(|x| self.f32(*x));
    }

    fn xyz(&mut self, v: &Vector3<f32>) {
        self.f32(v.x);
        self.f32(v.y);
        self.f32(v.z);
    }

    fn points(&mut self, v: &[Point3<f32>]) {
        self.count(v.len());
        v.iter().for_each(|p| self.xyz(&p.coords));
    }

    fn vectors(&mut self, v: &[Vector3<f32>]) {
        self.count(v.len());
        v.iter().for_each(|n| self.xyz(n));
    }
}

/// Appends the encoding of `scene` (which must pass validation) in format
/// `version` to `w`.
pub(crate) fn encode_scene(w: &mut Writer, scene: &Scene, version: u32) {
    w.str(&scene.name);
    w.str(&scene.source);
    w.count(scene.metadata.len());
    for (k, v) in &scene.metadata {
        w.str(k);
        w.str(v);
    }
    w.f32s(&scene.embedding);
    w.points(&scene.structure_points);
    w.vectors(&scene.structure_normals);
    w.count(scene.instances.len());
    for inst in &scene.instances {
        encode_instance(w, inst);
    }
    if version >= 2 {
        w.count(scene.objects.len());
        for inst in &scene.objects {
            encode_instance(w, inst);
        }
    }
    if version >= 3 {
        encode_seen_space(w, scene.seen_space.as_ref());
    }
}

/// A flag byte (0 = none), then origin, cell, the three cell counts and the bits.
fn encode_seen_space(w: &mut Writer, space: Option<&SeenSpace>) {
    let Some(s) = space else {
        w.u8(0);
        return;
    };
    w.u8(1);
    w.xyz(&s.origin().coords);
    w.f32(s.cell_m());
    s.dims().iter().for_each(|d| w.u32(*d));
    w.count(s.bits().len());
    w.buf.extend_from_slice(s.bits());
}

fn decode_seen_space(r: &mut Reader<'_>) -> Result<Option<SeenSpace>, String> {
    match r.u8()? {
        0 => return Ok(None),
        1 => {}
        f => return Err(format!("seen-space flag is {f}, expected 0 or 1")),
    }
    let origin = Point3::from(r.xyz("seen-space origin")?);
    let cell = r.f32("seen-space cell")?;
    let dims = [r.u32()?, r.u32()?, r.u32()?];
    let n = r.count(1, "seen-space bytes")?;
    let bits = r.take(n)?.to_vec();
    SeenSpace::from_parts(origin, cell, dims, bits).map(Some)
}

fn encode_instance(w: &mut Writer, inst: &DbInstance) {
    w.u32(inst.id);
    w.str(&inst.label);
    w.xyz(&inst.centroid.coords);
    w.xyz(&inst.bbox.center.coords);
    w.xyz(&inst.bbox.half_extents);
    let q = inst.bbox.rotation.coords;
    q.iter().for_each(|x| w.f32(*x));
    w.u32(inst.observations);
    w.count(inst.descriptors.len());
    for d in &inst.descriptors {
        w.u8(d.modality as u8);
        w.f32s(&d.values);
    }
    w.points(&inst.points);
    w.vectors(&inst.normals);
    w.count(inst.colors.len());
    inst.colors.iter().for_each(|c| w.buf.extend_from_slice(c));
}

/// Reads little-endian fields from a byte slice, failing (never panicking) when a
/// read goes past the end.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| {
                format!(
                    "{n} bytes needed at offset {} but only {} left",
                    self.pos,
                    self.remaining()
                )
            })?;
        let s = self.buf.get(self.pos..end).ok_or("read out of range")?;
        self.pos = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub fn u8(&mut self) -> Result<u8, String> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn f32(&mut self, what: &str) -> Result<f32, String> {
        let v = f32::from_le_bytes(self.array()?);
        if v.is_finite() {
            Ok(v)
        } else {
            Err(format!("{what}: non-finite value {v}"))
        }
    }

    /// Reads a count of entries of at least `entry_size` bytes each, checking that
    /// they can be present in what is left.
    fn count(&mut self, entry_size: usize, what: &str) -> Result<usize, String> {
        let n = self.u32()? as usize;
        if n.saturating_mul(entry_size.max(1)) > self.remaining() {
            return Err(format!(
                "{what}: count {n} needs at least {} bytes but only {} are left",
                n.saturating_mul(entry_size.max(1)),
                self.remaining()
            ));
        }
        Ok(n)
    }

    fn str(&mut self, what: &str) -> Result<String, String> {
        let n = self.count(1, what)?;
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("{what}: invalid UTF-8"))
    }

    fn f32s(&mut self, what: &str) -> Result<Vec<f32>, String> {
        let n = self.count(4, what)?;
        (0..n).map(|_| self.f32(what)).collect()
    }

    fn xyz(&mut self, what: &str) -> Result<Vector3<f32>, String> {
        Ok(Vector3::new(
            self.f32(what)?,
            self.f32(what)?,
            self.f32(what)?,
        ))
    }

    fn points(&mut self, what: &str) -> Result<Vec<Point3<f32>>, String> {
        let n = self.count(12, what)?;
        (0..n).map(|_| self.xyz(what).map(Point3::from)).collect()
    }

    fn vectors(&mut self, what: &str) -> Result<Vec<Vector3<f32>>, String> {
        let n = self.count(12, what)?;
        (0..n).map(|_| self.xyz(what)).collect()
    }
}

/// Smallest encoding of one instance: fixed fields plus empty lists and label.
const MIN_INSTANCE_BYTES: usize = 4 + 4 + 12 + 12 + 12 + 16 + 4 + 4 + 4 + 4 + 4;

/// Decodes one scene of a file of format `version`; the whole of `bytes` must be
/// consumed.
pub(crate) fn decode_scene(bytes: &[u8], version: u32) -> Result<Scene, String> {
    let mut r = Reader::new(bytes);
    let name = r.str("scene name")?;
    let ctx = |m: String| format!("scene {name:?}: {m}");
    let scene = decode_scene_body(&mut r, name.clone(), version).map_err(ctx)?;
    if r.remaining() != 0 {
        return Err(format!(
            "scene {name:?}: {} unexpected bytes after the scene",
            r.remaining()
        ));
    }
    Ok(scene)
}

fn decode_scene_body(r: &mut Reader<'_>, name: String, version: u32) -> Result<Scene, String> {
    let source = r.str("source")?;
    let n_meta = r.count(8, "metadata")?;
    let mut metadata = BTreeMap::new();
    let mut last: Option<String> = None;
    for _ in 0..n_meta {
        let k = r.str("metadata key")?;
        let v = r.str("metadata value")?;
        if last.as_ref().is_some_and(|l| *l >= k) {
            return Err(format!("metadata key {k:?} is out of order or repeated"));
        }
        last = Some(k.clone());
        metadata.insert(k, v);
    }
    let embedding = r.f32s("embedding")?;
    let structure_points = r.points("structure points")?;
    let structure_normals = r.vectors("structure normals")?;
    if structure_normals.len() != structure_points.len() {
        return Err(format!(
            "{} structure points but {} normals",
            structure_points.len(),
            structure_normals.len()
        ));
    }
    let n_inst = r.count(MIN_INSTANCE_BYTES, "instances")?;
    let mut instances = Vec::with_capacity(n_inst);
    for i in 0..n_inst {
        instances.push(decode_instance(r).map_err(|m| format!("instance {i}: {m}"))?);
    }
    let mut objects = Vec::new();
    if version >= 2 {
        let n_obj = r.count(MIN_INSTANCE_BYTES, "objects")?;
        objects.reserve(n_obj);
        for i in 0..n_obj {
            objects.push(decode_instance(r).map_err(|m| format!("object {i}: {m}"))?);
        }
    }
    let seen_space = if version >= 3 {
        decode_seen_space(r)?
    } else {
        None
    };
    Ok(Scene {
        name,
        source,
        instances,
        objects,
        seen_space,
        structure_points,
        structure_normals,
        embedding,
        metadata,
    })
}

fn decode_instance(r: &mut Reader<'_>) -> Result<DbInstance, String> {
    let id = r.u32()?;
    let label = r.str("label")?;
    let centroid = Point3::from(r.xyz("centroid")?);
    let center = Point3::from(r.xyz("box centre")?);
    let half_extents = r.xyz("box half extents")?;
    let (qi, qj, qk, qw) = (
        r.f32("box rotation")?,
        r.f32("box rotation")?,
        r.f32("box rotation")?,
        r.f32("box rotation")?,
    );
    // Stored values are kept bit-exact; `validate_box` checks the norm.
    let bbox = OrientedBox {
        center,
        half_extents,
        rotation: UnitQuaternion::new_unchecked(Quaternion::new(qw, qi, qj, qk)),
    };
    validate_box(&bbox)?;
    let observations = r.u32()?;
    let n_desc = r.count(5, "descriptors")?;
    let mut descriptors = Vec::with_capacity(n_desc);
    for _ in 0..n_desc {
        let code = r.u8()?;
        let modality =
            Modality::from_code(code).ok_or_else(|| format!("unknown modality code {code}"))?;
        let values = r.f32s("descriptor")?;
        descriptors.push(Descriptor { modality, values });
    }
    let points = r.points("points")?;
    let normals = r.vectors("normals")?;
    if normals.len() != points.len() {
        return Err(format!(
            "{} points but {} normals",
            points.len(),
            normals.len()
        ));
    }
    let n_col = r.count(3, "colours")?;
    if n_col != 0 && n_col != points.len() {
        return Err(format!("{} points but {n_col} colours", points.len()));
    }
    let colors = (0..n_col)
        .map(|_| r.array::<3>())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DbInstance {
        id,
        label,
        centroid,
        bbox,
        descriptors,
        points,
        normals,
        colors,
        observations,
    })
}
