//! Reader for TUM RGB-D sequences (Sturm et al., IROS 2012).
//!
//! Layout of a sequence folder:
//! - `rgb.txt`, `depth.txt`: lines `timestamp path` (path relative to the folder);
//!   blank lines and `#` comments are skipped.
//! - `groundtruth.txt` (optional): lines `timestamp tx ty tz qx qy qz qw`.
//!   **Direction: camera-to-world** (`T_world_camera`, the pose of the camera's optical
//!   centre in the motion-capture world frame). **Quaternion order: scalar LAST**
//!   (`qx qy qz qw`). Without the file every pose is `None`.
//! - Depth PNGs are 16-bit with **5000 units per metre** (0 = invalid); kept raw as
//!   [`DepthData::U16`](crate::frame::DepthData).
//! - Intrinsics: [`CameraIntrinsics::TUM_DEFAULT`] (fx = fy = 525, cx = 319.5,
//!   cy = 239.5, 640×480, the ROS default TUM recommends for its registered depth)
//!   unless the folder holds `camera-intrinsics.txt` or `intrinsics.txt`, either a 3×3
//!   `K` or one line `fx fy cx cy`; the image size is then taken from the first depth
//!   image. TUM's per-sequence calibrations (freiburg1/2/3) are not guessed from the
//!   folder name: put them in such a file.
//!
//! Association and poses:
//! - Each depth frame is paired with the rgb frame of nearest timestamp when the gap
//!   is at most [`MAX_RGB_DEPTH_GAP_S`] (0.02 s); depth frames without one are dropped
//!   (an rgb frame may serve two depth frames). The frame index is the 0-based order
//!   of the associated depth frames in `depth.txt`; the selection applies to it. The
//!   timestamp is the depth timestamp.
//! - The pose is the ground truth interpolated at the depth timestamp (linear
//!   translation, slerp rotation) when there are ground-truth poses on both sides
//!   within 0.02 s; otherwise the nearest ground-truth pose when it is within 0.01 s;
//!   otherwise `None`.
//! - All text files are parsed and validated at open time (errors name the file and
//!   the 1-based line); images are decoded when a frame is requested.

use std::path::{Path, PathBuf};

use nalgebra::UnitQuaternion;

use crate::frame::{CameraIntrinsics, Pose, RgbdFrame};
use crate::io::image_io::{check_size, image_size, read_depth_u16, read_rgb};
use crate::io::pose_text::{content_lines, parse_intrinsics_text};
use crate::io::{FrameSelection, FrameSource, IoError};

/// Raw depth units per metre of TUM depth PNGs.
pub const TUM_DEPTH_UNITS_PER_METRE: f32 = 5000.0;

/// Largest gap between a depth and its rgb timestamp for them to be associated (s).
pub const MAX_RGB_DEPTH_GAP_S: f64 = 0.02;

/// Largest gap to the ground-truth poses on each side for interpolation (s).
pub const MAX_INTERPOLATION_GAP_S: f64 = 0.02;

/// Largest gap to the nearest ground-truth pose when it is used as is (s).
pub const MAX_NEAREST_POSE_GAP_S: f64 = 0.01;

/// Slack on the time gaps, for timestamps written with 6 decimals.
const TIME_EPS: f64 = 1e-9;

/// One `timestamp path` line of `rgb.txt` / `depth.txt`.
#[derive(Debug, Clone)]
struct Stamped {
    t: f64,
    path: PathBuf,
}

/// One associated frame.
#[derive(Debug, Clone)]
struct TumFrame {
    index: u64,
    timestamp: f64,
    rgb: PathBuf,
    depth: PathBuf,
    pose: Option<Pose>,
}

/// Streaming reader of a TUM RGB-D folder (see the module doc).
#[derive(Debug)]
pub struct TumReader {
    dir: PathBuf,
    intrinsics: CameraIntrinsics,
    frames: Vec<TumFrame>,
    next: usize,
}

fn read_text(path: &Path) -> Result<String, IoError> {
    std::fs::read_to_string(path).map_err(|e| IoError::os(path, e))
}

fn non_finite(path: &Path, line: usize) -> IoError {
    IoError::NonFinite {
        path: path.to_path_buf(),
        line: Some(line),
    }
}

/// Parses `rgb.txt` / `depth.txt`, keeping the file order.
fn parse_file_list(dir: &Path, list: &Path) -> Result<Vec<Stamped>, IoError> {
    let text = read_text(list)?;
    let mut out = Vec::new();
    for (line, content) in content_lines(&text) {
        let mut tokens = content.split_whitespace();
        let (Some(ts), Some(rel), None) = (tokens.next(), tokens.next(), tokens.next()) else {
            return Err(IoError::malformed(
                list,
                line,
                "expected `timestamp path` (two fields)",
            ));
        };
        let t: f64 = ts
            .parse()
            .map_err(|_| IoError::malformed(list, line, format!("{ts:?} is not a timestamp")))?;
        if !t.is_finite() {
            return Err(non_finite(list, line));
        }
        out.push(Stamped {
            t,
            path: dir.join(rel),
        });
    }
    Ok(out)
}

/// Parses `groundtruth.txt` (the TUM trajectory format) into poses sorted by
/// timestamp.
fn parse_groundtruth(path: &Path) -> Result<Vec<(f64, Pose)>, IoError> {
    let mut out = crate::io::trajectory::read_tum_trajectory(path)?;
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(out)
}

/// Index of the entry of `sorted` (by timestamp) nearest to `t`.
fn nearest(sorted: &[f64], t: f64) -> Option<usize> {
    let i = sorted.partition_point(|&s| s < t);
    let candidates = [i.checked_sub(1), Some(i)];
    candidates
        .into_iter()
        .flatten()
        .filter(|&j| j < sorted.len())
        .min_by(|&a, &b| (sorted[a] - t).abs().total_cmp(&(sorted[b] - t).abs()))
}

/// Interpolates two poses: linear translation, shortest-path slerp rotation.
pub fn interpolate_pose(a: &Pose, b: &Pose, alpha: f32) -> Pose {
    let t = a.translation.vector.lerp(&b.translation.vector, alpha);
    let qa = a.rotation;
    let mut qb = b.rotation;
    if qa.coords.dot(&qb.coords) < 0.0 {
        qb = UnitQuaternion::new_unchecked(-qb.into_inner());
    }
    let q = qa
        .try_slerp(&qb, alpha, 1e-6)
        .unwrap_or_else(|| qa.nlerp(&qb, alpha));
    Pose::from_parts(t.into(), q)
}

/// The ground-truth pose at time `t` (see the module doc for the rule).
fn pose_at(gt: &[(f64, Pose)], t: f64) -> Option<Pose> {
    let i = gt.partition_point(|g| g.0 <= t);
    let before = i.checked_sub(1).and_then(|j| gt.get(j));
    let after = gt.get(i);
    if let Some((t0, p0)) = before
        && *t0 == t
    {
        return Some(*p0);
    }
    if let (Some((t0, p0)), Some((t1, p1))) = (before, after)
        && t - t0 <= MAX_INTERPOLATION_GAP_S + TIME_EPS
        && t1 - t <= MAX_INTERPOLATION_GAP_S + TIME_EPS
    {
        let alpha = ((t - t0) / (t1 - t0)) as f32;
        return Some(interpolate_pose(p0, p1, alpha));
    }
    [before, after]
        .into_iter()
        .flatten()
        .filter(|(tg, _)| (tg - t).abs() <= MAX_NEAREST_POSE_GAP_S + TIME_EPS)
        .min_by(|a, b| (a.0 - t).abs().total_cmp(&(b.0 - t).abs()))
        .map(|(_, p)| *p)
}

impl TumReader {
    /// Parses the lists and the ground truth, associates frames and applies
    /// `selection` to the association order (see the module doc).
    pub fn open(dir: &Path, selection: FrameSelection) -> Result<TumReader, IoError> {
        if !dir.is_dir() {
            return Err(IoError::Missing {
                path: dir.to_path_buf(),
                what: "TUM RGB-D sequence folder".into(),
            });
        }
        let rgb = parse_file_list(dir, &dir.join("rgb.txt"))?;
        let depth = parse_file_list(dir, &dir.join("depth.txt"))?;
        let gt_path = dir.join("groundtruth.txt");
        let gt = if gt_path.is_file() {
            parse_groundtruth(&gt_path)?
        } else {
            log::info!("{}: no groundtruth.txt, frames have no pose", dir.display());
            Vec::new()
        };

        let mut rgb_sorted = rgb;
        rgb_sorted.sort_by(|a, b| a.t.total_cmp(&b.t));
        let rgb_times: Vec<f64> = rgb_sorted.iter().map(|s| s.t).collect();
        let mut all = Vec::new();
        let mut dropped = 0usize;
        for d in depth {
            let partner = nearest(&rgb_times, d.t)
                .and_then(|j| rgb_sorted.get(j))
                .filter(|r| (r.t - d.t).abs() <= MAX_RGB_DEPTH_GAP_S + TIME_EPS);
            let Some(r) = partner else {
                dropped += 1;
                continue;
            };
            all.push(TumFrame {
                index: all.len() as u64,
                timestamp: d.t,
                rgb: r.path.clone(),
                depth: d.path,
                pose: pose_at(&gt, d.t),
            });
        }
        if dropped > 0 {
            log::info!(
                "{}: {dropped} depth frames have no rgb frame within {MAX_RGB_DEPTH_GAP_S} s and are skipped",
                dir.display()
            );
        }
        let first = all.first().ok_or_else(|| {
            IoError::malformed(
                dir.join("depth.txt"),
                0,
                format!("no depth frame has an rgb frame within {MAX_RGB_DEPTH_GAP_S} s"),
            )
        })?;
        let size = image_size(&first.depth)?;
        let intrinsics = match ["camera-intrinsics.txt", "intrinsics.txt"]
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file())
        {
            Some(k_path) => {
                let [fx, fy, cx, cy] = parse_intrinsics_text(&k_path, &read_text(&k_path)?)?;
                CameraIntrinsics {
                    fx: fx as f32,
                    fy: fy as f32,
                    cx: cx as f32,
                    cy: cy as f32,
                    width: size.0,
                    height: size.1,
                }
            }
            None => {
                let k = CameraIntrinsics::TUM_DEFAULT;
                check_size(&first.depth, size, (k.width, k.height))?;
                k
            }
        };
        let frames = selection.apply_by(all, |f| f.index);
        Ok(TumReader {
            dir: dir.to_path_buf(),
            intrinsics,
            frames,
            next: 0,
        })
    }

    /// The folder being read.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn read_frame(&self, f: &TumFrame) -> Result<RgbdFrame, IoError> {
        let expected = (self.intrinsics.width, self.intrinsics.height);
        let depth = read_depth_u16(&f.depth, TUM_DEPTH_UNITS_PER_METRE)?;
        check_size(&f.depth, (depth.width, depth.height), expected)?;
        let color = read_rgb(&f.rgb)?;
        check_size(&f.rgb, (color.width, color.height), expected)?;
        log::trace!("TUM frame {} read", f.index);
        Ok(RgbdFrame {
            index: f.index,
            timestamp: f.timestamp,
            intrinsics: self.intrinsics,
            color,
            depth,
            T_session_camera: f.pose,
        })
    }
}

impl Iterator for TumReader {
    type Item = Result<RgbdFrame, IoError>;

    fn next(&mut self) -> Option<Self::Item> {
        let f = self.frames.get(self.next)?;
        self.next += 1;
        Some(self.read_frame(f))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.frames.len().saturating_sub(self.next);
        (left, Some(left))
    }
}

impl FrameSource for TumReader {
    fn intrinsics(&self) -> CameraIntrinsics {
        self.intrinsics
    }

    fn frame_count(&self) -> usize {
        self.frames.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::image_io::tests::{write_gray16, write_rgb};
    use nalgebra::Vector3;

    const W: u32 = 640;
    const H: u32 = 480;

    /// Depth at 1.00 + 0.1 k s for k in 0..n; rgb 0.01 s later; an extra depth frame
    /// at 0.95 s whose rgb is 0.03 s away (dropped). Images are tiny (4x3) unless
    /// `full` (640x480, for the default intrinsics).
    fn write_sequence(dir: &Path, n: usize, full: bool) {
        let (w, h) = if full { (W, H) } else { (4, 3) };
        std::fs::create_dir_all(dir.join("rgb")).unwrap();
        std::fs::create_dir_all(dir.join("depth")).unwrap();
        let mut rgb = String::from("# color images\n# file: test\n# timestamp filename\n");
        let mut depth = String::from("# depth maps\n# file: test\n# timestamp filename\n");
        rgb.push_str("0.980000 rgb/0.980000.png\n");
        depth.push_str("0.950000 depth/0.950000.png\n");
        write_gray16(
            &dir.join("depth/0.950000.png"),
            w,
            h,
            &vec![1; (w * h) as usize],
        );
        write_rgb(
            &dir.join("rgb/0.980000.png"),
            w,
            h,
            &vec![1; (w * h * 3) as usize],
        );
        for k in 0..n {
            let td = 1.0 + 0.1 * k as f64;
            let tr = td + 0.01;
            rgb.push_str(&format!("{tr:.6} rgb/{tr:.6}.png\n"));
            depth.push_str(&format!("{td:.6} depth/{td:.6}.png\n"));
            let dv: Vec<u16> = (0..w * h)
                .map(|p| (k as u32 * 1000 + p % 1000) as u16)
                .collect();
            write_gray16(&dir.join(format!("depth/{td:.6}.png")), w, h, &dv);
            let cv: Vec<u8> = (0..w * h * 3)
                .map(|p| ((p + k as u32) % 251) as u8)
                .collect();
            write_rgb(&dir.join(format!("rgb/{tr:.6}.png")), w, h, &cv);
        }
        std::fs::write(dir.join("rgb.txt"), rgb).unwrap();
        std::fs::write(dir.join("depth.txt"), depth).unwrap();
        if !full {
            std::fs::write(dir.join("intrinsics.txt"), "# fx fy cx cy\n4 4.5 1.5 1\n").unwrap();
        }
    }

    #[test]
    fn associates_reads_and_interpolates() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write_sequence(d, 3, false);
        // Rotation of 60° about z, scalar last: (0, 0, sin 30°, cos 30°). Read with the
        // scalar first it would be a 180° rotation, so the test catches the order.
        let (s, c) = (0.5f64, 0.75f64.sqrt());
        let gt = format!(
            "# ground truth trajectory\n\
             0.990000 0 0 0 0 0 0 1\n\
             1.010000 2 0 0 0 0 {s} {c}\n\
             1.105000 5 6 7 0 0 {s} {c}\n\
             1.300000 1 1 1 0 0 0 1\n"
        );
        std::fs::write(d.join("groundtruth.txt"), gt).unwrap();
        let reader = TumReader::open(d, FrameSelection::ALL).unwrap();
        assert_eq!(reader.frame_count(), 3);
        let k = reader.intrinsics();
        assert_eq!(
            (k.fx, k.fy, k.cx, k.cy, k.width, k.height),
            (4.0, 4.5, 1.5, 1.0, 4, 3)
        );
        let frames: Vec<RgbdFrame> = reader.map(|f| f.unwrap()).collect();
        assert_eq!(
            frames.iter().map(|f| f.index).collect::<Vec<_>>(),
            vec![0, 1, 2]
        );
        assert!((frames[1].timestamp - 1.1).abs() < 1e-9);
        match &frames[1].depth.data {
            crate::frame::DepthData::U16 {
                raw,
                units_per_metre,
            } => {
                assert_eq!(*units_per_metre, 5000.0);
                assert_eq!(raw[..4], [1000, 1001, 1002, 1003]);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(frames[2].color.data[..3], [2, 3, 4]);

        // Frame 0 at 1.00 s: halfway between 0.99 s and 1.01 s.
        let p0 = frames[0].T_session_camera.unwrap();
        assert!((p0.translation.vector - Vector3::new(1.0, 0.0, 0.0)).norm() < 1e-5);
        let x = p0.rotation * Vector3::x();
        let thirty = 30f32.to_radians();
        assert!(
            (x - Vector3::new(thirty.cos(), thirty.sin(), 0.0)).norm() < 1e-4,
            "{x}"
        );
        // Frame 1 at 1.10 s: no pose within 0.02 s before, nearest 1.105 within 0.01 s.
        let p1 = frames[1].T_session_camera.unwrap();
        assert!((p1.translation.vector - Vector3::new(5.0, 6.0, 7.0)).norm() < 1e-6);
        let x = p1.rotation * Vector3::x();
        let sixty = 60f32.to_radians();
        assert!(
            (x - Vector3::new(sixty.cos(), sixty.sin(), 0.0)).norm() < 1e-5,
            "{x}"
        );
        // Frame 2 at 1.20 s: nothing near enough.
        assert!(frames[2].T_session_camera.is_none());
    }

    #[test]
    fn selection_uses_association_order() {
        let dir = tempfile::tempdir().unwrap();
        write_sequence(dir.path(), 6, false);
        let sel = FrameSelection::range(2, 5).with_stride(2);
        let reader = TumReader::open(dir.path(), sel).unwrap();
        let got: Vec<(u64, f64)> = reader
            .map(|f| f.unwrap())
            .map(|f| (f.index, f.timestamp))
            .collect();
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].0, got[1].0), (2, 4));
        assert!((got[0].1 - 1.2).abs() < 1e-9 && (got[1].1 - 1.4).abs() < 1e-9);
    }

    #[test]
    fn default_intrinsics_without_a_calibration_file() {
        let dir = tempfile::tempdir().unwrap();
        write_sequence(dir.path(), 1, true);
        let reader = TumReader::open(dir.path(), FrameSelection::ALL).unwrap();
        assert_eq!(reader.intrinsics(), CameraIntrinsics::TUM_DEFAULT);
        assert!(
            reader
                .map(|f| f.unwrap())
                .all(|f| f.T_session_camera.is_none())
        );
        // Tiny images contradict the default 640x480.
        let small = tempfile::tempdir().unwrap();
        write_sequence(small.path(), 1, false);
        std::fs::remove_file(small.path().join("intrinsics.txt")).unwrap();
        let e = TumReader::open(small.path(), FrameSelection::ALL).unwrap_err();
        assert!(matches!(
            e,
            IoError::SizeMismatch {
                expected_w: 640,
                found_w: 4,
                ..
            }
        ));
    }

    #[test]
    fn errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write_sequence(d, 2, false);
        std::fs::write(
            d.join("groundtruth.txt"),
            "# gt\n1.0 0 0 0 0 0 0 1\n1.1 0 0 0 0 0 1\n",
        )
        .unwrap();
        let e = TumReader::open(d, FrameSelection::ALL).unwrap_err();
        assert!(matches!(e, IoError::Malformed { line: 3, .. }), "{e}");
        std::fs::write(d.join("groundtruth.txt"), "1.0 0 0 NaN 0 0 0 1\n").unwrap();
        let e = TumReader::open(d, FrameSelection::ALL).unwrap_err();
        assert!(matches!(e, IoError::NonFinite { line: Some(1), .. }), "{e}");
        std::fs::write(d.join("groundtruth.txt"), "1.0 0 0 0 0 0 0 3\n").unwrap();
        let e = TumReader::open(d, FrameSelection::ALL).unwrap_err();
        assert!(matches!(e, IoError::NotOrthonormal { .. }), "{e}");
        std::fs::remove_file(d.join("groundtruth.txt")).unwrap();
        std::fs::write(d.join("rgb.txt"), "# c\n\n1.0 rgb/a.png extra\n").unwrap();
        let e = TumReader::open(d, FrameSelection::ALL).unwrap_err();
        assert!(matches!(e, IoError::Malformed { line: 3, .. }), "{e}");
        std::fs::remove_file(d.join("rgb.txt")).unwrap();
        let e = TumReader::open(d, FrameSelection::ALL).unwrap_err();
        assert!(matches!(e, IoError::Missing { ref path, .. } if path.ends_with("rgb.txt")));
    }

    #[test]
    fn missing_image_is_a_frame_error() {
        let dir = tempfile::tempdir().unwrap();
        write_sequence(dir.path(), 3, false);
        std::fs::remove_file(dir.path().join("rgb/1.110000.png")).unwrap();
        let results: Vec<_> = TumReader::open(dir.path(), FrameSelection::ALL)
            .unwrap()
            .collect();
        assert!(results[0].is_ok() && results[2].is_ok());
        assert!(matches!(results[1], Err(IoError::Missing { .. })));
    }

    #[test]
    fn interpolation_takes_the_short_way() {
        let a = Pose::from_parts(
            Vector3::zeros().into(),
            UnitQuaternion::from_axis_angle(&Vector3::z_axis(), 0.1),
        );
        // The same rotation as 0.3 rad, written with the opposite quaternion sign.
        let q = UnitQuaternion::from_axis_angle(&Vector3::z_axis(), 0.3);
        let b = Pose::from_parts(
            Vector3::new(2.0, 0.0, 0.0).into(),
            UnitQuaternion::new_unchecked(-q.into_inner()),
        );
        let m = interpolate_pose(&a, &b, 0.5);
        assert!((m.rotation.angle() - 0.2).abs() < 1e-5);
        assert!((m.translation.vector.x - 1.0).abs() < 1e-6);
    }
}
