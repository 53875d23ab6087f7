//! Parsing of poses and matrices written as text.
//!
//! Guarantees:
//! - Numbers are parsed in `f64`; a NaN or infinite value gives
//!   [`IoError::NonFinite`], a line with the wrong number of values or a value that is
//!   not a number gives [`IoError::Malformed`], both with the 1-based line number.
//! - A 4×4 matrix pose must have the last row `0 0 0 1` (within 1e-3). Its rotation
//!   block is replaced by the nearest rotation (SVD: `R = U Vᵀ`), which absorbs the
//!   ~1e-4 non-orthonormality of datasets such as 7-Scenes. Only gross violations are
//!   rejected with [`IoError::NotOrthonormal`]: a singular value off 1 by more than
//!   [`ORTHONORMAL_TOLERANCE`] or a negative determinant (a reflection).
//! - A quaternion pose is normalised; a quaternion whose norm is off 1 by more than
//!   [`ORTHONORMAL_TOLERANCE`] (or zero) is rejected with [`IoError::NotOrthonormal`].
//! - Results are [`Pose`] (`Isometry3<f32>`) with the same direction as the source
//!   matrix (this module does not invert anything).

use std::path::Path;

use nalgebra::{Matrix3, Matrix4, Quaternion, Rotation3, Translation3, UnitQuaternion, Vector3};

use crate::frame::Pose;
use crate::io::IoError;

/// Largest accepted deviation of a rotation's singular values (or a quaternion's
/// norm) from 1 before a pose is rejected as not orthonormal.
pub const ORTHONORMAL_TOLERANCE: f64 = 0.05;

/// Largest accepted deviation of a 4×4 pose's last row from `0 0 0 1`.
const LAST_ROW_TOLERANCE: f64 = 1e-3;

/// Parses the whitespace-separated numbers of one line (`line` is 1-based, for errors).
/// NaN or infinite values give [`IoError::NonFinite`].
pub fn parse_numbers(path: &Path, line: usize, text: &str) -> Result<Vec<f64>, IoError> {
    text.split_whitespace()
        .map(|tok| {
            let v: f64 = tok
                .parse()
                .map_err(|_| IoError::malformed(path, line, format!("{tok:?} is not a number")))?;
            if v.is_finite() {
                Ok(v)
            } else {
                Err(IoError::NonFinite {
                    path: path.to_path_buf(),
                    line: Some(line),
                })
            }
        })
        .collect()
}

/// The non-blank lines of a text with their 1-based line numbers. Lines whose first
/// non-blank character is `#` are comments and are skipped.
pub fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

/// Parses a `rows`×`cols` matrix written one row per line from the given numbered
/// lines (row-major). Exactly `rows` lines must be given; each must hold `cols`
/// values.
pub fn parse_matrix_rows(
    path: &Path,
    lines: &[(usize, &str)],
    rows: usize,
    cols: usize,
) -> Result<Vec<f64>, IoError> {
    let mut values = Vec::with_capacity(rows * cols);
    for &(line, text) in lines.iter().take(rows) {
        let row = parse_numbers(path, line, text)?;
        if row.len() != cols {
            return Err(IoError::malformed(
                path,
                line,
                format!(
                    "expected {cols} values in a matrix row, found {}",
                    row.len()
                ),
            ));
        }
        values.extend(row);
    }
    if lines.len() != rows {
        let line = match lines.get(rows) {
            Some(&(l, _)) => l,
            None => lines.last().map_or(1, |&(l, _)| l + 1),
        };
        return Err(IoError::malformed(
            path,
            line,
            format!(
                "expected a {rows}x{cols} matrix on {rows} lines, found {} lines",
                lines.len()
            ),
        ));
    }
    Ok(values)
}

/// Parses a text holding only a 4×4 matrix (one row per line, blank lines and `#`
/// comments ignored), as in a 7-Scenes `frame-XXXXXX.pose.txt`, and turns it into a
/// pose (see [`pose_from_matrix`]).
pub fn parse_pose_matrix_text(path: &Path, text: &str) -> Result<Pose, IoError> {
    let lines: Vec<(usize, &str)> = content_lines(text).collect();
    let values = parse_matrix_rows(path, &lines, 4, 4)?;
    let m = Matrix4::from_row_slice(&values);
    let first = lines.first().map(|&(l, _)| l);
    pose_from_matrix(path, first, &m)
}

/// Reads and parses a file holding one 4×4 pose matrix (see [`parse_pose_matrix_text`]).
pub fn read_pose_matrix_file(path: &Path) -> Result<Pose, IoError> {
    let text = std::fs::read_to_string(path).map_err(|e| IoError::os(path, e))?;
    parse_pose_matrix_text(path, &text)
}

/// Pinhole parameters `(fx, fy, cx, cy)` parsed from an intrinsics text file: either a
/// 3×3 matrix `K` (one row per line, 7-Scenes style: `fx 0 cx / 0 fy cy / 0 0 1`) or
/// a single line `fx fy cx cy`. `#` comments and blank lines are ignored. A `K` whose
/// last row is not `0 0 1`, or non-positive focal lengths, give [`IoError::Malformed`].
pub fn parse_intrinsics_text(path: &Path, text: &str) -> Result<[f64; 4], IoError> {
    let lines: Vec<(usize, &str)> = content_lines(text).collect();
    let first_line = lines.first().map_or(1, |&(l, _)| l);
    let [fx, fy, cx, cy] = if lines.len() == 1 {
        let v = parse_matrix_rows(path, &lines, 1, 4)?;
        [v[0], v[1], v[2], v[3]]
    } else {
        let k = parse_matrix_rows(path, &lines, 3, 3)?;
        let last_line = lines.get(2).map_or(first_line, |&(l, _)| l);
        if k[6].abs() > 1e-9 || k[7].abs() > 1e-9 || (k[8] - 1.0).abs() > 1e-9 {
            return Err(IoError::malformed(
                path,
                last_line,
                "last row of the camera matrix K must be 0 0 1",
            ));
        }
        if k[3].abs() > 1e-9 {
            return Err(IoError::malformed(
                path,
                lines.get(1).map_or(first_line, |&(l, _)| l),
                "K[1][0] must be 0",
            ));
        }
        if k[1].abs() > 1e-9 {
            log::warn!("{}: camera skew {} is ignored", path.display(), k[1]);
        }
        [k[0], k[4], k[2], k[5]]
    };
    if fx <= 0.0 || fy <= 0.0 {
        return Err(IoError::malformed(
            path,
            first_line,
            format!("focal lengths must be positive, found fx={fx} fy={fy}"),
        ));
    }
    Ok([fx, fy, cx, cy])
}

/// The nearest rotation to `m` (Frobenius norm, via SVD) and the largest deviation of
/// `m`'s singular values from 1. `None` when the determinant is not positive.
pub fn nearest_rotation(m: &Matrix3<f64>) -> Option<(Rotation3<f64>, f64)> {
    if m.iter().any(|v| !v.is_finite()) || m.determinant() <= 0.0 {
        return None;
    }
    let svd = m.svd(true, true);
    let (u, v_t) = (svd.u?, svd.v_t?);
    let deviation = svd
        .singular_values
        .iter()
        .map(|s| (s - 1.0).abs())
        .fold(0.0, f64::max);
    let r = u * v_t;
    // det(m) > 0 implies det(U Vᵀ) = +1; guard against round-off anyway.
    if r.determinant() <= 0.0 {
        return None;
    }
    Some((Rotation3::from_matrix_unchecked(r), deviation))
}

/// Turns a 4×4 homogeneous matrix into a pose, re-orthonormalising its rotation (see
/// the module doc). `line` is the 1-based line where the matrix starts, when known.
pub fn pose_from_matrix(
    path: &Path,
    line: Option<usize>,
    m: &Matrix4<f64>,
) -> Result<Pose, IoError> {
    if m.iter().any(|v| !v.is_finite()) {
        return Err(IoError::NonFinite {
            path: path.to_path_buf(),
            line,
        });
    }
    let last = m.row(3);
    let last_dev = (last[0].abs())
        .max(last[1].abs())
        .max(last[2].abs())
        .max((last[3] - 1.0).abs());
    if last_dev > LAST_ROW_TOLERANCE {
        return Err(IoError::malformed(
            path,
            line.map_or(0, |l| l + 3),
            format!(
                "last row of a pose matrix must be 0 0 0 1, found {} {} {} {}",
                last[0], last[1], last[2], last[3]
            ),
        ));
    }
    let r: Matrix3<f64> = m.fixed_view::<3, 3>(0, 0).into_owned();
    let det = r.determinant();
    let not_ortho = |deviation: f64| IoError::NotOrthonormal {
        path: path.to_path_buf(),
        line,
        deviation: deviation as f32,
    };
    let (rot, deviation) = nearest_rotation(&r).ok_or_else(|| not_ortho((det - 1.0).abs()))?;
    if deviation > ORTHONORMAL_TOLERANCE {
        return Err(not_ortho(deviation));
    }
    let t = Vector3::new(m[(0, 3)], m[(1, 3)], m[(2, 3)]);
    Ok(pose_from_parts(
        &t,
        &UnitQuaternion::from_rotation_matrix(&rot),
    ))
}

/// Builds a pose from a translation and a quaternion given scalar LAST
/// (`[qx, qy, qz, qw]`, the TUM order). The quaternion is normalised; see the module
/// doc for what is rejected.
pub fn pose_from_translation_quaternion_xyzw(
    path: &Path,
    line: Option<usize>,
    t: [f64; 3],
    q_xyzw: [f64; 4],
) -> Result<Pose, IoError> {
    if t.iter().chain(q_xyzw.iter()).any(|v| !v.is_finite()) {
        return Err(IoError::NonFinite {
            path: path.to_path_buf(),
            line,
        });
    }
    let [qx, qy, qz, qw] = q_xyzw;
    let q = Quaternion::new(qw, qx, qy, qz);
    let norm = q.norm();
    if (norm - 1.0).abs() > ORTHONORMAL_TOLERANCE {
        return Err(IoError::NotOrthonormal {
            path: path.to_path_buf(),
            line,
            deviation: (norm - 1.0).abs() as f32,
        });
    }
    let uq = UnitQuaternion::from_quaternion(q);
    Ok(pose_from_parts(&Vector3::from(t), &uq))
}

/// A pose from a translation and a unit quaternion in `f64`, cast to `f32`.
pub fn pose_from_parts(t: &Vector3<f64>, q: &UnitQuaternion<f64>) -> Pose {
    let t32 = Translation3::new(t.x as f32, t.y as f32, t.z as f32);
    let q32 = UnitQuaternion::new_normalize(Quaternion::new(
        q.w as f32, q.i as f32, q.j as f32, q.k as f32,
    ));
    Pose::from_parts(t32, q32)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "pose.txt";

    fn text_of(m: &Matrix4<f64>) -> String {
        (0..4)
            .map(|r| {
                (0..4)
                    .map(|c| format!("{:.9e}", m[(r, c)]))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn exact_pose_is_read_back() {
        let rot = Rotation3::from_euler_angles(0.3, -0.2, 1.1);
        let mut m = Matrix4::identity();
        m.fixed_view_mut::<3, 3>(0, 0).copy_from(rot.matrix());
        m[(0, 3)] = 1.5;
        m[(1, 3)] = -0.25;
        m[(2, 3)] = 3.0;
        let pose = parse_pose_matrix_text(Path::new(P), &text_of(&m)).unwrap();
        let got = pose.to_homogeneous();
        for r in 0..4 {
            for c in 0..4 {
                assert!((f64::from(got[(r, c)]) - m[(r, c)]).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn slightly_non_orthonormal_rotation_is_re_orthonormalised() {
        let rot = Rotation3::from_euler_angles(0.1, 0.5, -0.7);
        let mut m = Matrix4::identity();
        // Scale rows by 1 ± 1e-4, as in 7-Scenes.
        let mut r = *rot.matrix();
        r.row_mut(0).scale_mut(1.0 + 1e-4);
        r.row_mut(2).scale_mut(1.0 - 1e-4);
        m.fixed_view_mut::<3, 3>(0, 0).copy_from(&r);
        let pose = parse_pose_matrix_text(Path::new(P), &text_of(&m)).unwrap();
        let got = pose.rotation.to_rotation_matrix();
        let err = (got.matrix().transpose() * got.matrix() - nalgebra::Matrix3::identity()).norm();
        assert!(err < 1e-6, "result must be orthonormal, error {err}");
        // Off by ~1e-4 at most: the nearest rotation to a row-scaled rotation.
        let diff = (got.matrix().cast::<f64>() - rot.matrix()).norm();
        assert!(diff < 2e-4, "{diff}");
    }

    #[test]
    fn gross_violations_are_rejected() {
        let mut scaled = Matrix4::identity();
        scaled[(0, 0)] = 1.2;
        let e = parse_pose_matrix_text(Path::new(P), &text_of(&scaled)).unwrap_err();
        assert!(matches!(e, IoError::NotOrthonormal { deviation, .. } if deviation > 0.19));
        let mut reflection = Matrix4::identity();
        reflection[(2, 2)] = -1.0;
        let e = parse_pose_matrix_text(Path::new(P), &text_of(&reflection)).unwrap_err();
        assert!(matches!(e, IoError::NotOrthonormal { .. }));
        let mut last_row = Matrix4::identity();
        last_row[(3, 0)] = 0.5;
        let e = parse_pose_matrix_text(Path::new(P), &text_of(&last_row)).unwrap_err();
        assert!(matches!(e, IoError::Malformed { line: 4, .. }));
    }

    #[test]
    fn nan_and_bad_lines_are_located() {
        let text = "1 0 0 0\n0 1 0 0\n0 0 nan 0\n0 0 0 1\n";
        let e = parse_pose_matrix_text(Path::new(P), text).unwrap_err();
        assert!(matches!(e, IoError::NonFinite { line: Some(3), .. }), "{e}");
        let text = "# comment\n1 0 0 0\n0 1 0 0 9\n0 0 1 0\n0 0 0 1\n";
        let e = parse_pose_matrix_text(Path::new(P), text).unwrap_err();
        assert!(matches!(e, IoError::Malformed { line: 3, .. }), "{e}");
        let text = "1 0 0 0\n0 1 0 0\n0 0 1 0\n";
        let e = parse_pose_matrix_text(Path::new(P), text).unwrap_err();
        assert!(matches!(e, IoError::Malformed { line: 4, .. }), "{e}");
        let text = "1 0 0 0\n0 1 x 0\n0 0 1 0\n0 0 0 1";
        let e = parse_pose_matrix_text(Path::new(P), text).unwrap_err();
        assert!(matches!(e, IoError::Malformed { line: 2, .. }), "{e}");
    }

    #[test]
    fn quaternion_is_scalar_last_and_normalised() {
        // 90° about z, scalar last: (0, 0, s, s) with s = sqrt(1/2), slightly scaled.
        let s = std::f64::consts::FRAC_1_SQRT_2 * 1.001;
        let pose = pose_from_translation_quaternion_xyzw(
            Path::new(P),
            Some(1),
            [1.0, 2.0, 3.0],
            [0.0, 0.0, s, s],
        )
        .unwrap();
        let x = pose.rotation * Vector3::x();
        assert!((x - Vector3::y()).norm() < 1e-5);
        assert!((pose.translation.vector - Vector3::new(1.0, 2.0, 3.0)).norm() < 1e-6);
        let e = pose_from_translation_quaternion_xyzw(
            Path::new(P),
            Some(7),
            [0.0; 3],
            [0.0, 0.0, 0.0, 0.0],
        )
        .unwrap_err();
        assert!(matches!(e, IoError::NotOrthonormal { line: Some(7), .. }));
    }
}
