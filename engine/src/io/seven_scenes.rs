//! Reader for sequences in the Microsoft 7-Scenes layout (also the layout of the
//! synthetic scans written by `crossloc synth`).
//!
//! Layout of a sequence folder:
//! - `frame-XXXXXX.color.jpg` or `.png`: colour, 8-bit RGB.
//! - `frame-XXXXXX.depth.png`: 16-bit depth in millimetres; 0 and 65535 are invalid.
//!   Kept raw as [`DepthData::U16`](crate::frame::DepthData) with 1000 units per metre.
//! - `frame-XXXXXX.pose.txt` (optional per frame): 4×4 matrix, row-major, metres.
//!   **Direction: camera-to-world** (`T_world_camera`); it becomes the frame's
//!   `T_session_camera`. No quaternions are involved. A frame without a pose file gets
//!   `None`. Rotations are re-orthonormalised by SVD (7-Scenes rotations are
//!   orthonormal only to ~1e-4); see [`crate::io::pose_text`] for what is rejected.
//! - `camera-intrinsics.txt` (optional): 3×3 `K`. Without it the Kinect default
//!   [`CameraIntrinsics::KINECT_7SCENES`] is used (and a warning logged), including its
//!   640×480 size.
//! - Any other file (`*.instances.png`, `scene.json`, …) is ignored.
//!
//! Guarantees: the frame index is the number in the file name; the timestamp is
//! `index / 30` s. The image size is taken from the first depth image on disk; every
//! colour and depth image must have that size, else [`IoError::SizeMismatch`] (7-Scenes
//! colour is not registered to depth, the engine treats it as approximately aligned,
//! but it never resamples). Files are listed at open time; images are decoded only
//! when a frame is requested. A frame that cannot be read yields an `Err` and the
//! stream goes on with the next one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::frame::{CameraIntrinsics, RgbdFrame};
use crate::io::detect::dir_entries;
use crate::io::image_io::{check_size, image_size, read_depth_u16, read_rgb};
use crate::io::pose_text::{parse_intrinsics_text, read_pose_matrix_file};
use crate::io::{FrameSelection, FrameSource, IoError};

/// Raw depth units per metre of 7-Scenes depth (millimetres).
pub const SEVEN_SCENES_DEPTH_UNITS_PER_METRE: f32 = 1000.0;

/// Frame rate assumed for timestamps (`index / 30`).
const FRAMES_PER_SECOND: f64 = 30.0;

/// The files of one frame found on disk.
#[derive(Debug, Clone)]
struct FrameFiles {
    index: u64,
    color: Option<PathBuf>,
    depth: Option<PathBuf>,
    pose: Option<PathBuf>,
}

/// Streaming reader of a 7-Scenes-layout folder (see the module doc).
#[derive(Debug)]
pub struct SevenScenesReader {
    dir: PathBuf,
    intrinsics: CameraIntrinsics,
    frames: Vec<FrameFiles>,
    next: usize,
}

/// Splits a 7-Scenes file name `frame-XXXXXX.<kind>.<ext>` into index, kind and
/// extension.
fn parse_frame_name(name: &str) -> Option<(u64, &str, &str)> {
    let rest = name.strip_prefix("frame-")?;
    let mut parts = rest.split('.');
    let digits = parts.next()?;
    let kind = parts.next()?;
    let ext = parts.next()?;
    if parts.next().is_some() || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((digits.parse().ok()?, kind, ext))
}

/// True when a folder holds at least one `frame-XXXXXX.color.*` file.
pub fn has_seven_scenes_frames(dir: &Path) -> bool {
    dir_entries(dir).is_ok_and(|entries| {
        entries.iter().any(|e| {
            !e.is_dir && parse_frame_name(&e.name).is_some_and(|(_, kind, _)| kind == "color")
        })
    })
}

impl SevenScenesReader {
    /// Lists the frames of `dir` (cheap: no image is decoded except the first depth
    /// image's header for the size) and applies `selection` to the file-name indices.
    pub fn open(dir: &Path, selection: FrameSelection) -> Result<SevenScenesReader, IoError> {
        let entries = dir_entries(dir)?;
        let mut by_index: BTreeMap<u64, FrameFiles> = BTreeMap::new();
        for e in entries.iter().filter(|e| !e.is_dir) {
            let Some((index, kind, ext)) = parse_frame_name(&e.name) else {
                continue;
            };
            let ext = ext.to_ascii_lowercase();
            let slot = match (kind, ext.as_str()) {
                ("color", "jpg" | "jpeg" | "png") => 0,
                ("depth", "png") => 1,
                ("pose", "txt") => 2,
                _ => continue,
            };
            let f = by_index.entry(index).or_insert(FrameFiles {
                index,
                color: None,
                depth: None,
                pose: None,
            });
            let target = match slot {
                0 => &mut f.color,
                1 => &mut f.depth,
                _ => &mut f.pose,
            };
            if let Some(previous) = target {
                log::warn!(
                    "{}: frame {index} has two {kind} files, using {} and ignoring {}",
                    dir.display(),
                    previous.display(),
                    e.path.display()
                );
            } else {
                *target = Some(e.path.clone());
            }
        }
        // Only frames with colour or depth are frames; a lone pose file is not.
        let all: Vec<FrameFiles> = by_index
            .into_values()
            .filter(|f| f.color.is_some() || f.depth.is_some())
            .collect();
        let first_depth =
            all.iter()
                .find_map(|f| f.depth.clone())
                .ok_or_else(|| IoError::Missing {
                    path: dir.join("frame-XXXXXX.depth.png"),
                    what: "7-Scenes depth frames (frame-XXXXXX.depth.png)".into(),
                })?;
        let size = image_size(&first_depth)?;
        let k_path = dir.join("camera-intrinsics.txt");
        let intrinsics = if k_path.is_file() {
            let text = std::fs::read_to_string(&k_path).map_err(|e| IoError::os(&k_path, e))?;
            let [fx, fy, cx, cy] = parse_intrinsics_text(&k_path, &text)?;
            CameraIntrinsics {
                fx: fx as f32,
                fy: fy as f32,
                cx: cx as f32,
                cy: cy as f32,
                width: size.0,
                height: size.1,
            }
        } else {
            log::warn!(
                "{}: no camera-intrinsics.txt, using the Kinect default (fx = fy = 585, 640x480)",
                dir.display()
            );
            let k = CameraIntrinsics::KINECT_7SCENES;
            check_size(&first_depth, size, (k.width, k.height))?;
            k
        };
        let frames = selection.apply_by(all, |f| f.index);
        log::debug!(
            "{}: 7-Scenes sequence, {} frames selected, {}x{}",
            dir.display(),
            frames.len(),
            intrinsics.width,
            intrinsics.height
        );
        Ok(SevenScenesReader {
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

    /// The file-name indices of the selected frames, in reading order.
    pub fn indices(&self) -> Vec<u64> {
        self.frames.iter().map(|f| f.index).collect()
    }

    fn read_frame(&self, f: &FrameFiles) -> Result<RgbdFrame, IoError> {
        let expected = (self.intrinsics.width, self.intrinsics.height);
        let missing = |kind: &str, ext: &str| IoError::Missing {
            path: self.dir.join(format!("frame-{:06}.{kind}.{ext}", f.index)),
            what: format!("{kind} image of frame {}", f.index),
        };
        let depth_path = f.depth.as_ref().ok_or_else(|| missing("depth", "png"))?;
        let color_path = f.color.as_ref().ok_or_else(|| missing("color", "jpg"))?;
        let depth = read_depth_u16(depth_path, SEVEN_SCENES_DEPTH_UNITS_PER_METRE)?;
        check_size(depth_path, (depth.width, depth.height), expected)?;
        let color = read_rgb(color_path)?;
        check_size(color_path, (color.width, color.height), expected)?;
        let pose = f.pose.as_deref().map(read_pose_matrix_file).transpose()?;
        log::trace!("7-Scenes frame {} read", f.index);
        Ok(RgbdFrame {
            index: f.index,
            timestamp: f.index as f64 / FRAMES_PER_SECOND,
            intrinsics: self.intrinsics,
            color,
            depth,
            T_session_camera: pose,
        })
    }
}

impl Iterator for SevenScenesReader {
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

impl FrameSource for SevenScenesReader {
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
    use crate::io::image_io::tests::{write_gray8, write_gray16, write_rgb};
    use nalgebra::{Matrix4, Rotation3};

    const W: u32 = 8;
    const H: u32 = 6;

    fn depth_of(i: u64) -> Vec<u16> {
        (0..W * H).map(|p| (i as u32 * 100 + p) as u16).collect()
    }

    fn color_of(i: u64) -> Vec<u8> {
        (0..W * H * 3)
            .map(|p| ((i as u32 * 7 + p) % 256) as u8)
            .collect()
    }

    fn pose_matrix(i: u64, scale: f64) -> Matrix4<f64> {
        let r = Rotation3::from_euler_angles(0.1 * i as f64, 0.2, -0.3);
        let mut m = Matrix4::identity();
        m.fixed_view_mut::<3, 3>(0, 0)
            .copy_from(&(r.matrix() * scale));
        m[(0, 3)] = i as f64;
        m[(1, 3)] = 0.5;
        m[(2, 3)] = -2.0;
        m
    }

    fn matrix_text(m: &Matrix4<f64>) -> String {
        let mut s = String::new();
        for r in 0..4 {
            let row: Vec<String> = (0..4).map(|c| format!("{:.18e}", m[(r, c)])).collect();
            s.push_str(&row.join(" "));
            s.push('\n');
        }
        s
    }

    /// Frames 0..n with colour PNG, depth, pose (except frame 1), K, plus files the
    /// reader must ignore.
    fn write_sequence(dir: &Path, n: u64) {
        for i in 0..n {
            write_gray16(
                &dir.join(format!("frame-{i:06}.depth.png")),
                W,
                H,
                &depth_of(i),
            );
            write_rgb(
                &dir.join(format!("frame-{i:06}.color.png")),
                W,
                H,
                &color_of(i),
            );
            write_gray16(
                &dir.join(format!("frame-{i:06}.instances.png")),
                W,
                H,
                &[3; 48],
            );
            if i != 1 {
                std::fs::write(
                    dir.join(format!("frame-{i:06}.pose.txt")),
                    matrix_text(&pose_matrix(i, 1.0)),
                )
                .unwrap();
            }
        }
        std::fs::write(dir.join("scene.json"), "{}").unwrap();
        std::fs::write(
            dir.join("camera-intrinsics.txt"),
            "5.0e+00 0 3.5\n0 6.0 2.5\n0 0 1\n",
        )
        .unwrap();
    }

    #[test]
    fn reads_frames_exactly() {
        let dir = tempfile::tempdir().unwrap();
        write_sequence(dir.path(), 4);
        let reader = SevenScenesReader::open(dir.path(), FrameSelection::ALL).unwrap();
        assert_eq!(reader.frame_count(), 4);
        let k = reader.intrinsics();
        assert_eq!(
            (k.fx, k.fy, k.cx, k.cy, k.width, k.height),
            (5.0, 6.0, 3.5, 2.5, W, H)
        );
        let frames: Vec<RgbdFrame> = reader.map(|f| f.unwrap()).collect();
        assert_eq!(
            frames.iter().map(|f| f.index).collect::<Vec<_>>(),
            vec![0, 1, 2, 3]
        );
        for f in &frames {
            match &f.depth.data {
                crate::frame::DepthData::U16 {
                    raw,
                    units_per_metre,
                } => {
                    assert_eq!(raw, &depth_of(f.index));
                    assert_eq!(*units_per_metre, 1000.0);
                }
                other => panic!("unexpected depth {other:?}"),
            }
            assert_eq!(f.color.data, color_of(f.index));
            assert!((f.timestamp - f.index as f64 / 30.0).abs() < 1e-12);
            if f.index == 1 {
                assert!(f.T_session_camera.is_none());
            } else {
                let got = f.T_session_camera.unwrap().to_homogeneous();
                let want = pose_matrix(f.index, 1.0);
                for r in 0..4 {
                    for c in 0..4 {
                        assert!((f64::from(got[(r, c)]) - want[(r, c)]).abs() < 1e-6);
                    }
                }
            }
        }
        assert_eq!(frames[2].depth.metres_at(1, 0), Some(0.201));
    }

    #[test]
    fn selection_applies_to_file_indices() {
        let dir = tempfile::tempdir().unwrap();
        write_sequence(dir.path(), 7);
        let sel = FrameSelection::range(2, 5).with_stride(2);
        let reader = SevenScenesReader::open(dir.path(), sel).unwrap();
        assert_eq!(reader.frame_count(), 2);
        let idx: Vec<u64> = reader.map(|f| f.unwrap().index).collect();
        assert_eq!(idx, vec![2, 4]);
    }

    #[test]
    fn default_intrinsics_need_kinect_size() {
        let dir = tempfile::tempdir().unwrap();
        write_sequence(dir.path(), 1);
        std::fs::remove_file(dir.path().join("camera-intrinsics.txt")).unwrap();
        let e = SevenScenesReader::open(dir.path(), FrameSelection::ALL).unwrap_err();
        assert!(matches!(
            e,
            IoError::SizeMismatch {
                expected_w: 640,
                found_w: W,
                ..
            }
        ));
    }

    #[test]
    fn bad_frames_are_errors_and_the_stream_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write_sequence(d, 6);
        // 0: colour of the wrong size.
        write_rgb(&d.join("frame-000000.color.png"), W + 1, H, &[0; 27 * 6]);
        // 1: 8-bit depth.
        write_gray8(&d.join("frame-000001.depth.png"), W, H, &[1; 48]);
        // 2: grossly non-orthonormal pose.
        std::fs::write(
            d.join("frame-000002.pose.txt"),
            matrix_text(&pose_matrix(2, 1.3)),
        )
        .unwrap();
        // 3: NaN in the pose.
        std::fs::write(
            d.join("frame-000003.pose.txt"),
            "1 0 0 0\n0 1 0 NaN\n0 0 1 0\n0 0 0 1\n",
        )
        .unwrap();
        // 4: a row with 3 values on line 3.
        std::fs::write(
            d.join("frame-000004.pose.txt"),
            "1 0 0 0\n0 1 0 0\n0 0 1\n0 0 0 1\n",
        )
        .unwrap();
        // 5: the colour image is missing.
        std::fs::remove_file(d.join("frame-000005.color.png")).unwrap();
        // 6: fine, with a pose orthonormal only to 1e-4.
        write_gray16(&d.join("frame-000006.depth.png"), W, H, &depth_of(6));
        write_rgb(&d.join("frame-000006.color.jpg"), W, H, &color_of(6));
        std::fs::write(
            d.join("frame-000006.pose.txt"),
            matrix_text(&pose_matrix(6, 0.9999)),
        )
        .unwrap();

        let results: Vec<_> = SevenScenesReader::open(d, FrameSelection::ALL)
            .unwrap()
            .collect();
        assert_eq!(results.len(), 7);
        assert!(matches!(
            results[0],
            Err(IoError::SizeMismatch { found_w: 9, .. })
        ));
        assert!(matches!(results[1], Err(IoError::DepthNot16Bit { .. })));
        assert!(matches!(results[2], Err(IoError::NotOrthonormal { .. })));
        assert!(matches!(
            results[3],
            Err(IoError::NonFinite { line: Some(2), .. })
        ));
        assert!(matches!(
            results[4],
            Err(IoError::Malformed { line: 3, .. })
        ));
        match &results[5] {
            Err(IoError::Missing { path, .. }) => {
                assert!(path.ends_with("frame-000005.color.jpg"));
            }
            other => panic!("expected a missing colour image, got {other:?}"),
        }
        let f6 = results[6].as_ref().unwrap();
        let r = f6.T_session_camera.unwrap().rotation.to_rotation_matrix();
        let ortho = (r.matrix().transpose() * r.matrix() - nalgebra::Matrix3::identity()).norm();
        assert!(ortho < 1e-6);
        let want = Rotation3::from_euler_angles(0.6f32, 0.2, -0.3);
        assert!((r.matrix() - want.matrix()).norm() < 1e-5);
    }

    #[test]
    fn missing_folder_or_frames_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let e = SevenScenesReader::open(&dir.path().join("nope"), FrameSelection::ALL).unwrap_err();
        assert!(matches!(e, IoError::Missing { .. }));
        let e = SevenScenesReader::open(dir.path(), FrameSelection::ALL).unwrap_err();
        assert!(matches!(e, IoError::Missing { .. }));
        assert!(!has_seven_scenes_frames(dir.path()));
        write_sequence(dir.path(), 1);
        assert!(has_seven_scenes_frames(dir.path()));
    }
}
