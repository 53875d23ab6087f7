//! Reader for Redwood / ICL-NUIM sequences in the Open3D layout.
//!
//! Layout of a sequence folder:
//! - Colour: `image/NNNNN.jpg|png` (also accepted: `rgb/`, `color/`, in that order of
//!   preference), 8-bit RGB.
//! - Depth: `depth/NNNNN.png`, 16-bit millimetres (1000 units per metre, 0 invalid),
//!   kept raw as [`DepthData::U16`](crate::frame::DepthData).
//! - `camera-intrinsics.json` (optional): Open3D `PinholeCameraIntrinsic` JSON with
//!   `width`, `height` and `intrinsic_matrix`, 9 values in **column-major** order
//!   (fx at [0], fy at [4], cx at [6], cy at [7]). Without it the PrimeSense default
//!   [`CameraIntrinsics::TUM_DEFAULT`] (fx = fy = 525, 640×480) is used, with a warning.
//! - Trajectory (optional): `trajectory.log`, else the first (by name) `*/trajectory.log`
//!   (e.g. `test_scene/trajectory.log`). Redwood `.log` format: per pose a header line
//!   `id id next` and 4 lines of a 4×4 matrix, row-major, metres. **Direction:
//!   camera-to-world** (`T_world_camera`); no quaternions. The pose of header id `i`
//!   belongs to the frame whose file-name number is `i`. Rotations are
//!   re-orthonormalised by SVD (see [`crate::io::pose_text`]). Frames without a pose
//!   get `None`.
//!
//! Guarantees: the frame index is the number in the file name; the timestamp is
//! `index / 30` s. Every image must match the intrinsics' size, else
//! [`IoError::SizeMismatch`]. The trajectory is parsed and validated at open time (an
//! error names the file and the 1-based line); images are decoded on request.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nalgebra::Matrix4;

use crate::frame::{CameraIntrinsics, Pose, RgbdFrame};
use crate::io::detect::dir_entries;
use crate::io::image_io::{check_size, extension_lower, image_size, read_depth_u16, read_rgb};
use crate::io::pose_text::{content_lines, parse_matrix_rows, parse_numbers, pose_from_matrix};
use crate::io::{FrameSelection, FrameSource, IoError};

/// Raw depth units per metre of Redwood / ICL-NUIM depth PNGs (millimetres).
pub const REDWOOD_DEPTH_UNITS_PER_METRE: f32 = 1000.0;

/// Colour folder names accepted, in order of preference.
const COLOR_FOLDERS: [&str; 3] = ["image", "rgb", "color"];

/// Frame rate assumed for timestamps (`index / 30`).
const FRAMES_PER_SECOND: f64 = 30.0;

#[derive(Debug, Clone)]
struct RedwoodFrame {
    index: u64,
    color: Option<PathBuf>,
    depth: Option<PathBuf>,
    pose: Option<Pose>,
}

/// Streaming reader of a Redwood / ICL-NUIM folder (see the module doc).
#[derive(Debug)]
pub struct RedwoodReader {
    dir: PathBuf,
    color_dir: PathBuf,
    intrinsics: CameraIntrinsics,
    trajectory: Option<PathBuf>,
    frames: Vec<RedwoodFrame>,
    next: usize,
}

/// The colour and depth folders of a Redwood layout, when both exist.
pub fn redwood_folders(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let depth = dir.join("depth");
    if !depth.is_dir() {
        return None;
    }
    COLOR_FOLDERS
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_dir())
        .map(|c| (c, depth))
}

/// Numbered image files `NNNNN.<ext>` of a folder, by number.
fn numbered_images(dir: &Path, exts: &[&str]) -> Result<BTreeMap<u64, PathBuf>, IoError> {
    let mut out: BTreeMap<u64, PathBuf> = BTreeMap::new();
    for e in dir_entries(dir)?.into_iter().filter(|e| !e.is_dir) {
        let Some(stem) = e.path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let ext_ok = extension_lower(&e.path).is_some_and(|x| exts.contains(&x.as_str()));
        if !ext_ok || stem.is_empty() || !stem.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(index) = stem.parse::<u64>() else {
            continue;
        };
        if let Some(prev) = out.get(&index) {
            log::warn!(
                "{}: two files for frame {index}, using {} and ignoring {}",
                dir.display(),
                prev.display(),
                e.path.display()
            );
            continue;
        }
        out.insert(index, e.path);
    }
    Ok(out)
}

/// The trajectory file: `trajectory.log`, else the first `*/trajectory.log` by name.
fn find_trajectory(dir: &Path) -> Result<Option<PathBuf>, IoError> {
    let direct = dir.join("trajectory.log");
    if direct.is_file() {
        return Ok(Some(direct));
    }
    let found: Vec<PathBuf> = dir_entries(dir)?
        .into_iter()
        .filter(|e| e.is_dir)
        .map(|e| e.path.join("trajectory.log"))
        .filter(|p| p.is_file())
        .collect();
    if found.len() > 1 {
        log::warn!(
            "{}: several trajectory.log files, using {}",
            dir.display(),
            found
                .first()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
    }
    Ok(found.into_iter().next())
}

/// Parses a Redwood `.log` trajectory into poses by frame id (the header's first
/// number). Direction as stored (camera-to-world for Redwood / ICL-NUIM).
pub fn read_redwood_log(path: &Path) -> Result<BTreeMap<u64, Pose>, IoError> {
    let text = std::fs::read_to_string(path).map_err(|e| IoError::os(path, e))?;
    let lines: Vec<(usize, &str)> = content_lines(&text).collect();
    let mut poses = BTreeMap::new();
    for block in lines.chunks(5) {
        let Some((&(header_line, header), rows)) = block.split_first() else {
            continue;
        };
        let header_values = parse_numbers(path, header_line, header)?;
        let id = match header_values[..] {
            [id, _, _] if id >= 0.0 && id.fract() == 0.0 => id as u64,
            _ => {
                return Err(IoError::malformed(
                    path,
                    header_line,
                    "expected a header line `id id next` of three non-negative integers",
                ));
            }
        };
        let values = parse_matrix_rows(path, rows, 4, 4)?;
        let m = Matrix4::from_row_slice(&values);
        let first_row_line = rows.first().map(|&(l, _)| l);
        let pose = pose_from_matrix(path, first_row_line, &m)?;
        if poses.insert(id, pose).is_some() {
            return Err(IoError::malformed(
                path,
                header_line,
                format!("frame id {id} appears twice"),
            ));
        }
    }
    Ok(poses)
}

fn parse_open3d_intrinsics(path: &Path) -> Result<CameraIntrinsics, IoError> {
    #[derive(serde::Deserialize)]
    struct Open3dIntrinsic {
        width: u32,
        height: u32,
        intrinsic_matrix: Vec<f64>,
    }
    let text = std::fs::read_to_string(path).map_err(|e| IoError::os(path, e))?;
    let parsed: Open3dIntrinsic = serde_json::from_str(&text)
        .map_err(|e| IoError::malformed(path, e.line(), format!("not Open3D intrinsics: {e}")))?;
    let m = &parsed.intrinsic_matrix;
    let (Some(&fx), Some(&fy), Some(&cx), Some(&cy), 9) =
        (m.first(), m.get(4), m.get(6), m.get(7), m.len())
    else {
        return Err(IoError::malformed(
            path,
            0,
            format!("intrinsic_matrix must hold 9 values, found {}", m.len()),
        ));
    };
    if m.iter().any(|v| !v.is_finite()) {
        return Err(IoError::NonFinite {
            path: path.to_path_buf(),
            line: None,
        });
    }
    let k = CameraIntrinsics {
        fx: fx as f32,
        fy: fy as f32,
        cx: cx as f32,
        cy: cy as f32,
        width: parsed.width,
        height: parsed.height,
    };
    if !k.is_valid() {
        return Err(IoError::malformed(
            path,
            0,
            format!("invalid intrinsics {k:?}"),
        ));
    }
    Ok(k)
}

impl RedwoodReader {
    /// Lists the frames, reads the intrinsics and the trajectory, and applies
    /// `selection` to the file-name indices.
    pub fn open(dir: &Path, selection: FrameSelection) -> Result<RedwoodReader, IoError> {
        if !dir.is_dir() {
            return Err(IoError::Missing {
                path: dir.to_path_buf(),
                what: "Redwood / ICL-NUIM sequence folder".into(),
            });
        }
        let (color_dir, depth_dir) = redwood_folders(dir).ok_or_else(|| IoError::Missing {
            path: dir.join(if dir.join("depth").is_dir() {
                "image"
            } else {
                "depth"
            }),
            what: "Redwood folders depth/ and image/ (or rgb/, color/)".into(),
        })?;
        let colors = numbered_images(&color_dir, &["jpg", "jpeg", "png"])?;
        let depths = numbered_images(&depth_dir, &["png"])?;

        let k_path = dir.join("camera-intrinsics.json");
        let intrinsics = if k_path.is_file() {
            parse_open3d_intrinsics(&k_path)?
        } else {
            log::warn!(
                "{}: no camera-intrinsics.json, using fx = fy = 525, cx = 319.5, cy = 239.5, 640x480",
                dir.display()
            );
            CameraIntrinsics::TUM_DEFAULT
        };
        if let Some(first) = depths.values().next() {
            check_size(
                first,
                image_size(first)?,
                (intrinsics.width, intrinsics.height),
            )?;
        } else {
            return Err(IoError::Missing {
                path: depth_dir.join("NNNNN.png"),
                what: "numbered depth images".into(),
            });
        }

        let trajectory = find_trajectory(dir)?;
        let mut poses = match &trajectory {
            Some(p) => read_redwood_log(p)?,
            None => {
                log::info!("{}: no trajectory.log, frames have no pose", dir.display());
                BTreeMap::new()
            }
        };
        let mut indices: Vec<u64> = colors.keys().chain(depths.keys()).copied().collect();
        indices.sort_unstable();
        indices.dedup();
        let all: Vec<RedwoodFrame> = indices
            .into_iter()
            .map(|index| RedwoodFrame {
                index,
                color: colors.get(&index).cloned(),
                depth: depths.get(&index).cloned(),
                pose: poses.remove(&index),
            })
            .collect();
        if !poses.is_empty() {
            log::warn!(
                "{}: {} trajectory poses have no frame",
                dir.display(),
                poses.len()
            );
        }
        let frames = selection.apply_by(all, |f| f.index);
        Ok(RedwoodReader {
            dir: dir.to_path_buf(),
            color_dir,
            intrinsics,
            trajectory,
            frames,
            next: 0,
        })
    }

    /// The folder being read.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The trajectory file used, if any.
    pub fn trajectory_path(&self) -> Option<&Path> {
        self.trajectory.as_deref()
    }

    fn read_frame(&self, f: &RedwoodFrame) -> Result<RgbdFrame, IoError> {
        let expected = (self.intrinsics.width, self.intrinsics.height);
        let depth_path = f.depth.as_ref().ok_or_else(|| IoError::Missing {
            path: self.dir.join("depth").join(format!("{:05}.png", f.index)),
            what: format!("depth image of frame {}", f.index),
        })?;
        let color_path = f.color.as_ref().ok_or_else(|| IoError::Missing {
            path: self.color_dir.join(format!("{:05}.jpg", f.index)),
            what: format!("colour image of frame {}", f.index),
        })?;
        let depth = read_depth_u16(depth_path, REDWOOD_DEPTH_UNITS_PER_METRE)?;
        check_size(depth_path, (depth.width, depth.height), expected)?;
        let color = read_rgb(color_path)?;
        check_size(color_path, (color.width, color.height), expected)?;
        log::trace!("Redwood frame {} read", f.index);
        Ok(RgbdFrame {
            index: f.index,
            timestamp: f.index as f64 / FRAMES_PER_SECOND,
            intrinsics: self.intrinsics,
            color,
            depth,
            T_session_camera: f.pose,
        })
    }
}

impl Iterator for RedwoodReader {
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

impl FrameSource for RedwoodReader {
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
    use nalgebra::{Rotation3, Vector3};

    const W: u32 = 8;
    const H: u32 = 6;

    fn intrinsics_json(w: u32, h: u32) -> String {
        // Column-major: fx, 0, 0, 0, fy, 0, cx, cy, 1.
        format!(
            "{{\n\t\"width\" : {w},\n\t\"height\" : {h},\n\t\"intrinsic_matrix\" :\n\t[\n\t\t7.0,\n\t\t0,\n\t\t0,\n\t\t0,\n\t\t8.0,\n\t\t0,\n\t\t3.5,\n\t\t2.5,\n\t\t1\n\t]\n}}"
        )
    }

    fn pose_block(id: u64) -> String {
        let r = Rotation3::from_euler_angles(0.0, 0.1 * id as f64, 0.0);
        let m = r.matrix();
        let mut s = format!("{id} {id} {}\n", id + 1);
        for row in 0..3 {
            s.push_str(&format!(
                "{:.8} {:.8} {:.8} {:.8}\n",
                m[(row, 0)],
                m[(row, 1)],
                m[(row, 2)],
                id as f64 * 0.5
            ));
        }
        s.push_str("0 0 0 1\n");
        s
    }

    /// Frames 0..n in image/ + depth/, a trajectory for frames 0..n-1 in a subfolder.
    fn write_sequence(dir: &Path, n: u64) {
        std::fs::create_dir_all(dir.join("image")).unwrap();
        std::fs::create_dir_all(dir.join("depth")).unwrap();
        std::fs::create_dir_all(dir.join("test_scene")).unwrap();
        let mut log = String::new();
        for i in 0..n {
            let dv: Vec<u16> = (0..W * H).map(|p| (i as u32 * 10 + p) as u16).collect();
            write_gray16(&dir.join(format!("depth/{i:05}.png")), W, H, &dv);
            let cv: Vec<u8> = (0..W * H * 3)
                .map(|p| ((p * 3 + i as u32) % 256) as u8)
                .collect();
            write_rgb(&dir.join(format!("image/{i:05}.png")), W, H, &cv);
            if i + 1 < n {
                log.push_str(&pose_block(i));
            }
        }
        std::fs::write(dir.join("test_scene/trajectory.log"), log).unwrap();
        std::fs::write(dir.join("camera-intrinsics.json"), intrinsics_json(W, H)).unwrap();
    }

    #[test]
    fn reads_frames_poses_and_intrinsics() {
        let dir = tempfile::tempdir().unwrap();
        write_sequence(dir.path(), 4);
        let reader = RedwoodReader::open(dir.path(), FrameSelection::ALL).unwrap();
        assert!(
            reader
                .trajectory_path()
                .unwrap()
                .ends_with("test_scene/trajectory.log")
        );
        let k = reader.intrinsics();
        assert_eq!(
            (k.fx, k.fy, k.cx, k.cy, k.width, k.height),
            (7.0, 8.0, 3.5, 2.5, W, H)
        );
        let frames: Vec<RgbdFrame> = reader.map(|f| f.unwrap()).collect();
        assert_eq!(frames.len(), 4);
        for f in &frames {
            let i = f.index as u32;
            assert_eq!(f.depth.metres_at(1, 0), Some((i * 10 + 1) as f32 / 1000.0));
            assert_eq!(
                f.color.get(0, 0),
                Some([i as u8, (3 + i) as u8, (6 + i) as u8])
            );
            if f.index == 3 {
                assert!(f.T_session_camera.is_none());
            } else {
                let p = f.T_session_camera.unwrap();
                assert!((p.translation.vector.x - 0.5 * i as f32).abs() < 1e-6);
                let want = Rotation3::from_euler_angles(0.0, 0.1 * i as f32, 0.0);
                let got = p.rotation.to_rotation_matrix();
                assert!((got.matrix() - want.matrix()).norm() < 1e-6);
                // Rotation about y: camera x axis turns towards -z.
                let x = p.rotation * Vector3::x();
                assert!(x.z <= 0.0);
            }
        }
    }

    #[test]
    fn selection_and_other_folder_names() {
        let dir = tempfile::tempdir().unwrap();
        write_sequence(dir.path(), 7);
        std::fs::rename(dir.path().join("image"), dir.path().join("color")).unwrap();
        let sel = FrameSelection::range(2, 5).with_stride(2);
        let idx: Vec<u64> = RedwoodReader::open(dir.path(), sel)
            .unwrap()
            .map(|f| f.unwrap().index)
            .collect();
        assert_eq!(idx, vec![2, 4]);
    }

    #[test]
    fn log_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        write_sequence(dir.path(), 3);
        let log = dir.path().join("trajectory.log");
        std::fs::write(&log, format!("{}1 1 2\n1 0 0 0\n0 1 0\n", pose_block(0))).unwrap();
        let e = RedwoodReader::open(dir.path(), FrameSelection::ALL).unwrap_err();
        assert!(matches!(e, IoError::Malformed { line: 8, .. }), "{e}");
        std::fs::write(&log, format!("{}{}", pose_block(1), pose_block(1))).unwrap();
        let e = RedwoodReader::open(dir.path(), FrameSelection::ALL).unwrap_err();
        assert!(matches!(e, IoError::Malformed { line: 6, .. }), "{e}");
        std::fs::write(&log, "0 0 1\n1 0 0 0\n0 1 0 0\n0 0 2 0\n0 0 0 1\n").unwrap();
        let e = RedwoodReader::open(dir.path(), FrameSelection::ALL).unwrap_err();
        assert!(
            matches!(e, IoError::NotOrthonormal { line: Some(2), .. }),
            "{e}"
        );
        std::fs::write(&log, "0 0 1\n1 0 0 0\n0 1 0 inf\n0 0 1 0\n0 0 0 1\n").unwrap();
        let e = RedwoodReader::open(dir.path(), FrameSelection::ALL).unwrap_err();
        assert!(matches!(e, IoError::NonFinite { line: Some(3), .. }), "{e}");
    }

    #[test]
    fn size_mismatch_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        write_sequence(dir.path(), 3);
        std::fs::write(
            dir.path().join("camera-intrinsics.json"),
            intrinsics_json(640, 480),
        )
        .unwrap();
        let e = RedwoodReader::open(dir.path(), FrameSelection::ALL).unwrap_err();
        assert!(matches!(
            e,
            IoError::SizeMismatch {
                expected_w: 640,
                found_w: W,
                ..
            }
        ));
        std::fs::write(
            dir.path().join("camera-intrinsics.json"),
            intrinsics_json(W, H),
        )
        .unwrap();
        write_rgb(
            &dir.path().join("image/00001.png"),
            W,
            H + 1,
            &[0; 8 * 7 * 3],
        );
        std::fs::remove_file(dir.path().join("depth/00002.png")).unwrap();
        let r: Vec<_> = RedwoodReader::open(dir.path(), FrameSelection::ALL)
            .unwrap()
            .collect();
        assert!(r[0].is_ok());
        assert!(matches!(
            r[1],
            Err(IoError::SizeMismatch { found_h: 7, .. })
        ));
        assert!(matches!(r[2], Err(IoError::Missing { .. })));
        std::fs::remove_dir_all(dir.path().join("image")).unwrap();
        let e = RedwoodReader::open(dir.path(), FrameSelection::ALL).unwrap_err();
        assert!(matches!(e, IoError::Missing { .. }));
    }
}
