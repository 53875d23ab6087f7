//! Trajectories in the TUM text format: one pose per line,
//! `timestamp tx ty tz qx qy qz qw`.
//!
//! Guarantees:
//! - **Quaternion order: scalar LAST** (`qx qy qz qw`), as TUM and its evaluation tools
//!   expect. The direction is whatever the caller's poses are; by convention the
//!   engine writes `T_world_camera` (camera-to-world), like TUM ground truth.
//! - Writing: timestamps with 6 decimals, translations (metres) and quaternion
//!   components with 9 decimals, one `#` header line; the file is written to a
//!   temporary file in the same folder and renamed over the target, so a reader never
//!   sees a half-written trajectory. Non-finite values are refused
//!   ([`IoError::NonFinite`], nothing written).
//! - Reading: blank lines and `#` comments are skipped; errors carry the 1-based line.
//!   Quaternions are normalised (see [`crate::io::pose_text`] for what is rejected).
//!   Lines are returned in file order.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::frame::Pose;
use crate::io::IoError;
use crate::io::pose_text::{content_lines, parse_numbers, pose_from_translation_quaternion_xyzw};

/// Writes `(timestamp, pose)` pairs as a TUM trajectory, atomically (temporary file +
/// rename).
pub fn write_tum_trajectory(path: &Path, poses: &[(f64, Pose)]) -> Result<(), IoError> {
    let mut text = String::with_capacity(64 + poses.len() * 96);
    text.push_str("# timestamp tx ty tz qx qy qz qw\n");
    for (t, pose) in poses {
        let v = &pose.translation.vector;
        let q = &pose.rotation;
        let finite = t.is_finite()
            && v.iter().all(|x| x.is_finite())
            && q.coords.iter().all(|x| x.is_finite());
        if !finite {
            return Err(IoError::NonFinite {
                path: path.to_path_buf(),
                line: None,
            });
        }
        text.push_str(&format!(
            "{t:.6} {:.9} {:.9} {:.9} {:.9} {:.9} {:.9} {:.9}\n",
            v.x, v.y, v.z, q.i, q.j, q.k, q.w
        ));
    }
    write_atomically(path, text.as_bytes())
}

/// Writes `bytes` to a temporary file next to `path`, syncs it and renames it onto
/// `path`. The temporary file is removed when anything fails.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    let file_name =
        path.file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| IoError::Unsupported {
                path: path.to_path_buf(),
                message: "not a file path".into(),
            })?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp).map_err(|e| IoError::os(&tmp, e))?;
        f.write_all(bytes).map_err(|e| IoError::os(&tmp, e))?;
        f.sync_all().map_err(|e| IoError::os(&tmp, e))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(|e| IoError::os(path, e))
    })();
    if result.is_err() {
        // Best effort: the temporary file may not even exist.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Reads a TUM trajectory (`timestamp tx ty tz qx qy qz qw` per line) in file order.
pub fn read_tum_trajectory(path: &Path) -> Result<Vec<(f64, Pose)>, IoError> {
    let text = std::fs::read_to_string(path).map_err(|e| IoError::os(path, e))?;
    let mut out = Vec::new();
    for (line, content) in content_lines(&text) {
        let v = parse_numbers(path, line, content)?;
        let [t, tx, ty, tz, qx, qy, qz, qw] = v[..] else {
            return Err(IoError::malformed(
                path,
                line,
                format!(
                    "expected 8 values `timestamp tx ty tz qx qy qz qw`, found {}",
                    v.len()
                ),
            ));
        };
        let pose = pose_from_translation_quaternion_xyzw(
            path,
            Some(line),
            [tx, ty, tz],
            [qx, qy, qz, qw],
        )?;
        out.push((t, pose));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{UnitQuaternion, Vector3};

    fn poses() -> Vec<(f64, Pose)> {
        (0..5)
            .map(|i| {
                let q = UnitQuaternion::from_euler_angles(0.3 * i as f32, -0.2, 0.1 * i as f32);
                let t = Vector3::new(i as f32 * 1.25, -3.5, 0.001 * i as f32);
                (
                    1_305_031_102.175_304 + i as f64 / 30.0,
                    Pose::from_parts(t.into(), q),
                )
            })
            .collect()
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("traj.txt");
        let written = poses();
        write_tum_trajectory(&path, &written).unwrap();
        let read = read_tum_trajectory(&path).unwrap();
        assert_eq!(read.len(), written.len());
        for ((t0, p0), (t1, p1)) in written.iter().zip(&read) {
            assert!((t0 - t1).abs() < 1e-6, "{t0} vs {t1}");
            assert!((p0.translation.vector - p1.translation.vector).norm() < 1e-6);
            let (a, b) = (p0.rotation.coords, p1.rotation.coords);
            assert!((a - b).norm().min((a + b).norm()) < 1e-6);
        }
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn written_order_is_scalar_last() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.txt");
        let q = UnitQuaternion::from_axis_angle(&Vector3::z_axis(), std::f32::consts::FRAC_PI_3);
        write_tum_trajectory(
            &path,
            &[(2.5, Pose::from_parts(Vector3::new(1.0, 2.0, 3.0).into(), q))],
        )
        .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let line = text.lines().nth(1).unwrap();
        let v: Vec<f64> = line
            .split_whitespace()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(v.len(), 8);
        assert_eq!(&v[..4], &[2.5, 1.0, 2.0, 3.0]);
        assert!((v[6] - 0.5).abs() < 1e-6 && (v[7] - 0.75f64.sqrt()).abs() < 1e-6);
    }

    #[test]
    fn errors_carry_lines_and_nothing_partial_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.txt");
        std::fs::write(&path, "# header\n1 0 0 0 0 0 0 1\n\n2 0 0 0 0 0 1\n").unwrap();
        let e = read_tum_trajectory(&path).unwrap_err();
        assert!(matches!(e, IoError::Malformed { line: 4, .. }), "{e}");
        std::fs::write(&path, "1 0 0 0 0 0 0 1\n2 0 inf 0 0 0 0 1\n").unwrap();
        let e = read_tum_trajectory(&path).unwrap_err();
        assert!(matches!(e, IoError::NonFinite { line: Some(2), .. }), "{e}");
        std::fs::write(&path, "1 0 0 0 0 0 0 1\n2 0 0 0 0 x 0 1\n").unwrap();
        let e = read_tum_trajectory(&path).unwrap_err();
        assert!(matches!(e, IoError::Malformed { line: 2, .. }), "{e}");

        let out = dir.path().join("out.txt");
        let mut bad = poses();
        bad[2].0 = f64::NAN;
        assert!(matches!(
            write_tum_trajectory(&out, &bad),
            Err(IoError::NonFinite { .. })
        ));
        assert!(!out.exists());
        let missing = dir.path().join("no/such/dir/t.txt");
        assert!(write_tum_trajectory(&missing, &poses()).is_err());
        assert!(matches!(
            read_tum_trajectory(&missing),
            Err(IoError::Missing { .. })
        ));
    }
}
