//! PLY writers (binary little/big-endian and ASCII), written atomically.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::PlyFormat;
use crate::frame::PointCloud;
use crate::io::IoError;

/// Writes `cloud` as a `binary_little_endian` PLY file: `x y z` float, then when
/// present `nx ny nz` float, `red green blue` uchar, `instance` uint and `label`
/// uint (the semantic id), one `vertex` element and nothing else.
///
/// The file is written to a temporary file in the same folder and renamed over
/// `path`. Fails with [`IoError::Malformed`] when an attribute does not have one
/// entry per point, [`IoError::NonFinite`] for a NaN or infinite coordinate, and
/// [`IoError::Os`] when the folder is not writable.
pub fn write_binary(path: &Path, cloud: &PointCloud) -> Result<(), IoError> {
    write_ply(path, cloud, PlyFormat::BinaryLittleEndian)
}

/// Writes `cloud` as a `binary_big_endian` PLY file, with the same properties and
/// guarantees as [`write_binary`] (mostly for testing readers).
pub fn write_binary_big_endian(path: &Path, cloud: &PointCloud) -> Result<(), IoError> {
    write_ply(path, cloud, PlyFormat::BinaryBigEndian)
}

/// Writes `cloud` as an ASCII PLY file (for debugging), with the same properties
/// and guarantees as [`write_binary`]. Floats are printed in shortest round-trip
/// form, so reading the file back gives the same values bit for bit.
pub fn write_ascii(path: &Path, cloud: &PointCloud) -> Result<(), IoError> {
    write_ply(path, cloud, PlyFormat::Ascii)
}

fn check_cloud(path: &Path, cloud: &PointCloud) -> Result<(), IoError> {
    let n = cloud.len();
    let counts = [
        ("colours", cloud.colors.as_ref().map(Vec::len)),
        ("normals", cloud.normals.as_ref().map(Vec::len)),
        ("instance ids", cloud.instance_ids.as_ref().map(Vec::len)),
        ("semantic ids", cloud.semantic_ids.as_ref().map(Vec::len)),
    ];
    for (what, count) in counts {
        if let Some(count) = count
            && count != n
        {
            return Err(IoError::malformed(
                path,
                0,
                format!("cannot write: {count} {what} for {n} points"),
            ));
        }
    }
    if cloud
        .points
        .iter()
        .any(|p| !(p.x.is_finite() && p.y.is_finite() && p.z.is_finite()))
    {
        return Err(IoError::NonFinite {
            path: path.to_path_buf(),
            line: None,
        });
    }
    Ok(())
}

fn header(cloud: &PointCloud, format: PlyFormat) -> String {
    let mut h = format!(
        "ply\nformat {} 1.0\ncomment written by crossloc\nelement vertex {}\n",
        format.header_name(),
        cloud.len()
    );
    h.push_str("property float x\nproperty float y\nproperty float z\n");
    if cloud.normals.is_some() {
        h.push_str("property float nx\nproperty float ny\nproperty float nz\n");
    }
    if cloud.colors.is_some() {
        h.push_str("property uchar red\nproperty uchar green\nproperty uchar blue\n");
    }
    if cloud.instance_ids.is_some() {
        h.push_str("property uint instance\n");
    }
    if cloud.semantic_ids.is_some() {
        h.push_str("property uint label\n");
    }
    h.push_str("end_header\n");
    h
}

/// One vertex's values in file order.
enum Value {
    F(f32),
    U8(u8),
    U32(u32),
}

fn vertex_values(cloud: &PointCloud, i: usize, out: &mut Vec<Value>) {
    out.clear();
    if let Some(p) = cloud.points.get(i) {
        out.extend([Value::F(p.x), Value::F(p.y), Value::F(p.z)]);
    }
    if let Some(n) = cloud.normals.as_ref().and_then(|v| v.get(i)) {
        out.extend([Value::F(n.x), Value::F(n.y), Value::F(n.z)]);
    }
    if let Some(c) = cloud.colors.as_ref().and_then(|v| v.get(i)) {
        out.extend([Value::U8(c[0]), Value::U8(c[1]), Value::U8(c[2])]);
    }
    if let Some(&id) = cloud.instance_ids.as_ref().and_then(|v| v.get(i)) {
        out.push(Value::U32(id));
    }
    if let Some(&id) = cloud.semantic_ids.as_ref().and_then(|v| v.get(i)) {
        out.push(Value::U32(id));
    }
}

fn write_body(w: &mut impl Write, cloud: &PointCloud, format: PlyFormat) -> std::io::Result<()> {
    w.write_all(header(cloud, format).as_bytes())?;
    let mut values = Vec::with_capacity(11);
    let mut line = String::new();
    for i in 0..cloud.len() {
        vertex_values(cloud, i, &mut values);
        match format {
            PlyFormat::Ascii => {
                line.clear();
                for (k, v) in values.iter().enumerate() {
                    if k > 0 {
                        line.push(' ');
                    }
                    match v {
                        Value::F(x) => line.push_str(&format!("{x:?}")),
                        Value::U8(x) => line.push_str(&x.to_string()),
                        Value::U32(x) => line.push_str(&x.to_string()),
                    }
                }
                line.push('\n');
                w.write_all(line.as_bytes())?;
            }
            PlyFormat::BinaryLittleEndian => {
                for v in &values {
                    match v {
                        Value::F(x) => w.write_all(&x.to_le_bytes())?,
                        Value::U8(x) => w.write_all(&[*x])?,
                        Value::U32(x) => w.write_all(&x.to_le_bytes())?,
                    }
                }
            }
            PlyFormat::BinaryBigEndian => {
                for v in &values {
                    match v {
                        Value::F(x) => w.write_all(&x.to_be_bytes())?,
                        Value::U8(x) => w.write_all(&[*x])?,
                        Value::U32(x) => w.write_all(&x.to_be_bytes())?,
                    }
                }
            }
        }
    }
    w.flush()
}

/// The temporary file next to `path` that is renamed into place.
fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cloud.ply".into());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn write_ply(path: &Path, cloud: &PointCloud, format: PlyFormat) -> Result<(), IoError> {
    check_cloud(path, cloud)?;
    let tmp = temp_path(path);
    let result = (|| {
        let file = File::create(&tmp)?;
        let mut w = BufWriter::new(file);
        write_body(&mut w, cloud, format)?;
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        // Best effort: a leftover temporary file is harmless but untidy.
        let _ = std::fs::remove_file(&tmp);
        return Err(IoError::os(path, e));
    }
    log::debug!(
        "wrote {} points to {} ({})",
        cloud.len(),
        path.display(),
        format.header_name()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{Point3, Vector3};

    #[test]
    fn binary_le_layout_and_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.ply");
        let cloud = PointCloud {
            points: vec![Point3::new(1.0, 2.0, 3.0), Point3::new(-1.0, 0.5, 0.25)],
            normals: Some(vec![Vector3::z(), Vector3::x()]),
            colors: Some(vec![[1, 2, 3], [250, 251, 252]]),
            instance_ids: Some(vec![7, 0]),
            semantic_ids: Some(vec![3, 4]),
        };
        write_binary(&path, &cloud).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let h = header(&cloud, PlyFormat::BinaryLittleEndian);
        assert!(bytes.starts_with(h.as_bytes()));
        assert!(h.contains("element vertex 2\n"));
        let body = &bytes[h.len()..];
        assert_eq!(body.len(), 2 * (6 * 4 + 3 + 4 + 4));
        assert_eq!(&body[0..4], &1.0f32.to_le_bytes());
        assert_eq!(&body[24..27], &[1, 2, 3]);
        assert_eq!(&body[27..31], &7u32.to_le_bytes());
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn rejects_inconsistent_and_nan_clouds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.ply");
        let mut cloud = PointCloud {
            points: vec![Point3::new(1.0, 2.0, 3.0)],
            colors: Some(vec![]),
            ..Default::default()
        };
        let e = write_binary(&path, &cloud).unwrap_err();
        assert!(matches!(e, IoError::Malformed { .. }), "{e}");
        assert!(e.to_string().contains("0 colours for 1 points"), "{e}");
        cloud.colors = None;
        cloud.points[0].y = f32::NAN;
        assert!(matches!(
            write_ascii(&path, &cloud),
            Err(IoError::NonFinite { .. })
        ));
        assert!(!path.exists());
    }
}
