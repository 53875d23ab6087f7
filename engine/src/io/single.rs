//! Single RGB-D frames from TUM RGB-D, NYU Depth v2 and SUN RGB-D, and a
//! [`FrameSource`] over a folder of such frames.
//!
//! None of these sources has poses: every frame's `T_session_camera` is `None`, its
//! timestamp 0 and its index its position among the pairs found (sorted by name).
//! Colour is taken as registered to depth (true for TUM and SUN RGB-D; for the raw NYU
//! dump it is only approximately so). The image size must match the kind's intrinsics
//! (else [`IoError::SizeMismatch`]).
//!
//! Per kind:
//! - **TUM** ([`SingleFrameKind::Tum`]): colour PNG/JPEG; depth 16-bit PNG with 5000
//!   units per metre (0 invalid), kept raw; intrinsics
//!   [`CameraIntrinsics::TUM_DEFAULT`] (525, 525, 319.5, 239.5; 640×480).
//! - **NYU Depth v2** ([`SingleFrameKind::Nyu`]): colour binary PPM (`P6`), depth
//!   binary PGM (`P5`, maxval > 255, 16-bit big-endian per the Netpbm spec, parsed by
//!   [`crate::io::image_io`] without rescaling). The raw NYU dump stores Kinect
//!   **disparity** codes (0..2047, 2047 = no reading) with the two bytes swapped
//!   (little-endian), which is why the NYU toolbox calls `swapbytes` after `imread`.
//!   Measured on the real `NYU_depth.pgm` (640×480, maxval 65535): read big-endian the
//!   values are 4..65287 with 65287 (= 0xFF07, i.e. 2047 swapped) the most common, which
//!   is no plausible millimetre image; byte-swapped they are 839..2047, 92.8 % below
//!   2047, median 985, and the toolbox formula `metres = 351.3 / (1092.5 - d)` gives
//!   1.39 m (min), 3.27 m (median), 6.69 m (max): a plausible room. The rule applied
//!   (see [`NyuDepthEncoding`]): when the big-endian maximum exceeds 2047 but every
//!   byte-swapped value is at most 2047, the bytes are swapped; samples that are all at
//!   most 2047 are disparities converted with that formula (2047, 0, and results
//!   outside (0, 10] m are invalid; the toolbox clamps to 10 m instead); otherwise the
//!   samples are millimetres (1000 per metre). Depth is [`DepthData::Metres`] for
//!   disparities, raw `U16` for millimetres. Intrinsics: fx = 518.86, fy = 519.47,
//!   cx = 325.58, cy = 253.74 (the NYU toolbox's colour camera), 640×480.
//! - **SUN RGB-D** ([`SingleFrameKind::SunRgbd`]): colour JPEG/PNG, depth 16-bit PNG
//!   whose bits are rotated: `millimetres = (d >> 3) | (d << 13)` (as `u16`), kept raw
//!   at 1000 per metre. Measured on the real `SUN_depth.png` (640×480): raw values reach
//!   64152 (64 m, implausible), rotated they span 1.06–9.87 m, median 2.72 m, 81.8 %
//!   valid. Intrinsics by image size: 561×427 → fx = fy = 518.857, cx = 284.58,
//!   cy = 208.14; 640×480 → fx = fy = 525, cx = 319.5, cy = 239.5; any other size is
//!   [`IoError::SizeMismatch`] (against 640×480).
//!
//! [`DepthData::Metres`]: crate::frame::DepthData::Metres

use std::path::{Path, PathBuf};

use crate::frame::{CameraIntrinsics, DepthImage, RgbdFrame};
use crate::io::detect::dir_entries;
use crate::io::image_io::{Gray16, check_size, extension_lower, image_size, read_gray16, read_rgb};
use crate::io::{FrameSelection, FrameSource, IoError};

/// Raw TUM depth units per metre.
const TUM_UNITS_PER_METRE: f32 = 5000.0;

/// The NYU Depth v2 colour-camera intrinsics (640×480), from the NYU toolbox.
pub const NYU_INTRINSICS: CameraIntrinsics = CameraIntrinsics {
    fx: 518.86,
    fy: 519.47,
    cx: 325.58,
    cy: 253.74,
    width: 640,
    height: 480,
};

/// SUN RGB-D intrinsics for its 561×427 (cropped Kinect v1) images.
pub const SUN_561X427_INTRINSICS: CameraIntrinsics = CameraIntrinsics {
    fx: 518.857,
    fy: 518.857,
    cx: 284.58,
    cy: 208.14,
    width: 561,
    height: 427,
};

/// The largest raw Kinect v1 disparity code (means "no reading").
const KINECT_DISPARITY_INVALID: u16 = 2047;

/// Depth beyond which a converted NYU disparity is treated as invalid (m).
const NYU_MAX_DEPTH_M: f32 = 10.0;

/// Which dataset a single frame comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SingleFrameKind {
    /// TUM RGB-D.
    Tum,
    /// NYU Depth v2 (raw PPM/PGM dump).
    Nyu,
    /// SUN RGB-D.
    SunRgbd,
}

impl SingleFrameKind {
    /// Short name: `tum`, `nyu`, `sun`.
    pub fn name(self) -> &'static str {
        match self {
            SingleFrameKind::Tum => "tum",
            SingleFrameKind::Nyu => "nyu",
            SingleFrameKind::SunRgbd => "sun",
        }
    }

    /// The intrinsics for a depth image of `size` (width, height), or
    /// [`IoError::SizeMismatch`] naming `path` when the size does not fit the kind.
    pub fn intrinsics_for(
        self,
        path: &Path,
        size: (u32, u32),
    ) -> Result<CameraIntrinsics, IoError> {
        let k = match self {
            SingleFrameKind::Tum => CameraIntrinsics::TUM_DEFAULT,
            SingleFrameKind::Nyu => NYU_INTRINSICS,
            SingleFrameKind::SunRgbd if size == (561, 427) => SUN_561X427_INTRINSICS,
            SingleFrameKind::SunRgbd => CameraIntrinsics::TUM_DEFAULT,
        };
        check_size(path, size, (k.width, k.height))?;
        Ok(k)
    }
}

/// How the samples of an NYU depth PGM were interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NyuDepthEncoding {
    /// Kinect disparity codes (≤ 2047), converted with `351.3 / (1092.5 - d)` metres.
    KinectDisparity {
        /// True when the file's bytes were swapped (little-endian despite the spec).
        byte_swapped: bool,
    },
    /// Millimetres.
    Millimetres,
}

/// Interprets the samples of an NYU depth PGM (see the module doc for the rule).
pub fn decode_nyu_depth(gray: Gray16) -> (DepthImage, NyuDepthEncoding) {
    let be_max = gray.data.iter().copied().max().unwrap_or(0);
    let swapped_max = gray.data.iter().map(|v| v.swap_bytes()).max().unwrap_or(0);
    let byte_swapped = be_max > KINECT_DISPARITY_INVALID && swapped_max <= KINECT_DISPARITY_INVALID;
    let Gray16 {
        width,
        height,
        mut data,
    } = gray;
    if byte_swapped {
        for v in &mut data {
            *v = v.swap_bytes();
        }
    }
    if data.iter().all(|&v| v <= KINECT_DISPARITY_INVALID) {
        let metres = data.iter().map(|&d| nyu_disparity_to_metres(d)).collect();
        (
            DepthImage::from_metres(width, height, metres),
            NyuDepthEncoding::KinectDisparity { byte_swapped },
        )
    } else {
        (
            DepthImage::from_u16(width, height, data, 1000.0),
            NyuDepthEncoding::Millimetres,
        )
    }
}

/// NYU toolbox conversion of a raw Kinect disparity code to metres; 0.0 (invalid) for
/// the codes 0 and 2047 and for results outside (0, 10] m.
pub fn nyu_disparity_to_metres(d: u16) -> f32 {
    if d == 0 || d >= KINECT_DISPARITY_INVALID {
        return 0.0;
    }
    let z = 351.3 / (1092.5 - f32::from(d));
    if z > 0.0 && z <= NYU_MAX_DEPTH_M {
        z
    } else {
        0.0
    }
}

/// Reads an NYU depth PGM and reports how its samples were interpreted.
pub fn read_nyu_depth(path: &Path) -> Result<(DepthImage, NyuDepthEncoding), IoError> {
    let gray = read_gray16(path)?;
    let (depth, encoding) = decode_nyu_depth(gray);
    log::debug!("{}: NYU depth read as {encoding:?}", path.display());
    Ok((depth, encoding))
}

/// Reads SUN RGB-D depth: 16-bit PNG with bits rotated right by 3, millimetres.
pub fn read_sun_depth(path: &Path) -> Result<DepthImage, IoError> {
    let mut gray = read_gray16(path)?;
    for v in &mut gray.data {
        *v = v.rotate_right(3);
    }
    Ok(gray.into_depth(1000.0))
}

/// Reads one RGB-D frame of the given kind (see the module doc). The frame has index
/// 0, timestamp 0 and no pose.
pub fn read_single_frame(
    color_path: &Path,
    depth_path: &Path,
    kind: SingleFrameKind,
) -> Result<RgbdFrame, IoError> {
    let depth = match kind {
        SingleFrameKind::Tum => read_gray16(depth_path)?.into_depth(TUM_UNITS_PER_METRE),
        SingleFrameKind::Nyu => read_nyu_depth(depth_path)?.0,
        SingleFrameKind::SunRgbd => read_sun_depth(depth_path)?,
    };
    let intrinsics = kind.intrinsics_for(depth_path, (depth.width, depth.height))?;
    let color = read_rgb(color_path)?;
    check_size(
        color_path,
        (color.width, color.height),
        (depth.width, depth.height),
    )?;
    Ok(RgbdFrame {
        index: 0,
        timestamp: 0.0,
        intrinsics,
        color,
        depth,
        T_session_camera: None,
    })
}

/// A found pair: `(name, kind, colour path, depth path)`; `name` is the file-name
/// prefix before `_color` / `_depth`.
pub type SingleFramePair = (String, SingleFrameKind, PathBuf, PathBuf);

/// Guesses the kind of a pair from its prefix (`TUM…`, `NYU…`, `SUN…`, any case),
/// else from the depth file type (`.pgm` → NYU, anything else → TUM).
pub fn guess_kind(prefix: &str, depth_path: &Path) -> SingleFrameKind {
    let upper = prefix.to_ascii_uppercase();
    if upper.starts_with("TUM") {
        SingleFrameKind::Tum
    } else if upper.starts_with("NYU") {
        SingleFrameKind::Nyu
    } else if upper.starts_with("SUN") {
        SingleFrameKind::SunRgbd
    } else if extension_lower(depth_path).as_deref() == Some("pgm") {
        SingleFrameKind::Nyu
    } else {
        SingleFrameKind::Tum
    }
}

/// Finds the `<PREFIX>_color.<ext>` / `<PREFIX>_depth.<ext>` pairs of a folder, sorted
/// by prefix. A colour or depth file without its partner is skipped (logged).
pub fn find_single_frames(dir: &Path) -> Result<Vec<SingleFramePair>, IoError> {
    let entries = dir_entries(dir)?;
    let with_suffix = |suffix: &str| -> Vec<(String, PathBuf)> {
        entries
            .iter()
            .filter(|e| !e.is_dir)
            .filter_map(|e| {
                let stem = e.path.file_stem()?.to_str()?;
                let prefix = stem.strip_suffix(suffix)?;
                (!prefix.is_empty()).then(|| (prefix.to_string(), e.path.clone()))
            })
            .collect()
    };
    let colors = with_suffix("_color");
    let depths = with_suffix("_depth");
    let mut pairs: Vec<SingleFramePair> = Vec::new();
    for (prefix, color) in &colors {
        if pairs.iter().any(|p| &p.0 == prefix) {
            log::warn!(
                "{}: several colour files for {prefix}, using the first",
                dir.display()
            );
            continue;
        }
        match depths.iter().find(|(p, _)| p == prefix) {
            Some((_, depth)) => {
                let kind = guess_kind(prefix, depth);
                pairs.push((prefix.clone(), kind, color.clone(), depth.clone()));
            }
            None => log::warn!(
                "{}: {} has no depth partner",
                dir.display(),
                color.display()
            ),
        }
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(pairs)
}

/// A [`FrameSource`] over the single-frame pairs of a folder. Each frame carries its
/// own kind's intrinsics; [`FrameSource::intrinsics`] gives those of the first
/// selected frame (frames of different kinds may differ).
#[derive(Debug)]
pub struct SingleFrameSource {
    pairs: Vec<(u64, SingleFramePair)>,
    intrinsics: CameraIntrinsics,
    next: usize,
}

impl SingleFrameSource {
    /// Finds the pairs of `dir` (see [`find_single_frames`]); indices are positions in
    /// the sorted list, and `selection` applies to them.
    pub fn open(dir: &Path, selection: FrameSelection) -> Result<SingleFrameSource, IoError> {
        let all: Vec<(u64, SingleFramePair)> = find_single_frames(dir)?
            .into_iter()
            .enumerate()
            .map(|(i, p)| (i as u64, p))
            .collect();
        let first = all
            .first()
            .map(|(_, p)| p.clone())
            .ok_or_else(|| IoError::Missing {
                path: dir.join("PREFIX_color.png"),
                what: "single-frame pairs <PREFIX>_color.<ext> + <PREFIX>_depth.<ext>".into(),
            })?;
        let pairs = selection.apply_by(all, |(i, _)| *i);
        let (_, kind, _, depth) = pairs.first().map(|(_, p)| p.clone()).unwrap_or(first);
        let intrinsics = kind.intrinsics_for(&depth, image_size(&depth)?)?;
        Ok(SingleFrameSource {
            pairs,
            intrinsics,
            next: 0,
        })
    }

    /// The selected pairs with their indices.
    pub fn pairs(&self) -> &[(u64, SingleFramePair)] {
        &self.pairs
    }
}

impl Iterator for SingleFrameSource {
    type Item = Result<RgbdFrame, IoError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (index, (_, kind, color, depth)) = self.pairs.get(self.next)?;
        self.next += 1;
        Some(read_single_frame(color, depth, *kind).map(|mut f| {
            f.index = *index;
            f
        }))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.pairs.len().saturating_sub(self.next);
        (left, Some(left))
    }
}

impl FrameSource for SingleFrameSource {
    fn intrinsics(&self) -> CameraIntrinsics {
        self.intrinsics
    }

    fn frame_count(&self) -> usize {
        self.pairs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::DepthData;
    use crate::io::image_io::tests::{
        pgm16_bytes, ppm_bytes, write_gray8, write_gray16, write_rgb,
    };

    const W: u32 = 640;
    const H: u32 = 480;
    const N: usize = (W * H) as usize;

    fn colour() -> Vec<u8> {
        (0..N * 3).map(|i| (i % 253) as u8).collect()
    }

    #[test]
    fn tum_pair_is_read_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let (c, d) = (
            dir.path().join("TUM_color.png"),
            dir.path().join("TUM_depth.png"),
        );
        let depth: Vec<u16> = (0..N).map(|i| (i % 40000) as u16).collect();
        write_rgb(&c, W, H, &colour());
        write_gray16(&d, W, H, &depth);
        let f = read_single_frame(&c, &d, SingleFrameKind::Tum).unwrap();
        assert_eq!(f.intrinsics, CameraIntrinsics::TUM_DEFAULT);
        assert_eq!(f.color.data, colour());
        assert_eq!(
            f.depth.data,
            DepthData::U16 {
                raw: depth,
                units_per_metre: 5000.0
            }
        );
        assert_eq!(f.depth.metres_at(1, 0), Some(1.0 / 5000.0));
        assert!(f.T_session_camera.is_none());
    }

    #[test]
    fn nyu_big_endian_millimetres_are_read_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let (c, d) = (
            dir.path().join("NYU_color.ppm"),
            dir.path().join("NYU_depth.pgm"),
        );
        // Millimetres, big-endian as the Netpbm spec says; values above 2047 exist.
        let depth: Vec<u16> = (0..N).map(|i| 500 + (i % 5000) as u16).collect();
        std::fs::write(&c, ppm_bytes(W, H, &colour())).unwrap();
        std::fs::write(&d, pgm16_bytes(W, H, 65535, &depth)).unwrap();
        let f = read_single_frame(&c, &d, SingleFrameKind::Nyu).unwrap();
        assert_eq!(f.intrinsics, NYU_INTRINSICS);
        assert_eq!(f.color.data, colour());
        assert_eq!(f.depth.metres_at(0, 0), Some(0.5));
        assert_eq!(f.depth.metres_at(3, 0), Some(0.503));
        let (_, enc) = read_nyu_depth(&d).unwrap();
        assert_eq!(enc, NyuDepthEncoding::Millimetres);
    }

    #[test]
    fn nyu_disparities_swapped_or_not_become_metres() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("d.pgm");
        let disp: Vec<u16> = (0..N).map(|i| [985, 2047, 839, 1037][i % 4]).collect();
        let expected = [351.3 / (1092.5 - 985.0), 0.0, 351.3 / (1092.5 - 839.0)];
        // Little-endian on disk (the raw NYU dump): written big-endian after swapping.
        let swapped: Vec<u16> = disp.iter().map(|v| v.swap_bytes()).collect();
        std::fs::write(&d, pgm16_bytes(W, H, 65535, &swapped)).unwrap();
        let (depth, enc) = read_nyu_depth(&d).unwrap();
        assert_eq!(
            enc,
            NyuDepthEncoding::KinectDisparity { byte_swapped: true }
        );
        let m = depth.to_metres();
        for (got, want) in m.iter().zip(expected) {
            assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        }
        // Big-endian disparities with maxval 2047.
        std::fs::write(&d, pgm16_bytes(W, H, 2047, &disp)).unwrap();
        let (depth, enc) = read_nyu_depth(&d).unwrap();
        assert_eq!(
            enc,
            NyuDepthEncoding::KinectDisparity {
                byte_swapped: false
            }
        );
        assert!((depth.to_metres()[0] - expected[0]).abs() < 1e-5);
        // Beyond 10 m (d close to 1092.5) and d > 1092.5 are invalid.
        assert_eq!(nyu_disparity_to_metres(1090), 0.0);
        assert_eq!(nyu_disparity_to_metres(1500), 0.0);
        assert_eq!(nyu_disparity_to_metres(0), 0.0);
    }

    #[test]
    fn sun_depth_bits_are_rotated() {
        let dir = tempfile::tempdir().unwrap();
        let (c, d) = (
            dir.path().join("SUN_color.png"),
            dir.path().join("SUN_depth.png"),
        );
        let mm: Vec<u16> = (0..561 * 427).map(|i| 1000 + (i % 8000) as u16).collect();
        let stored: Vec<u16> = mm.iter().map(|v| v.rotate_left(3)).collect();
        write_rgb(&c, 561, 427, &vec![7; 561 * 427 * 3]);
        write_gray16(&d, 561, 427, &stored);
        let f = read_single_frame(&c, &d, SingleFrameKind::SunRgbd).unwrap();
        assert_eq!(f.intrinsics, SUN_561X427_INTRINSICS);
        assert_eq!(
            f.depth.data,
            DepthData::U16 {
                raw: mm,
                units_per_metre: 1000.0
            }
        );
        // The formula of the SUN RGB-D toolbox, for one value.
        let v = stored[5];
        // Written out as in the toolbox on purpose, to check `rotate_right` against it.
        #[allow(clippy::manual_rotate)]
        let toolbox = ((v >> 3) | (v << 13)) as f32 / 1000.0;
        assert_eq!(f.depth.metres_at(5, 0), Some(toolbox));
    }

    #[test]
    fn errors_for_bad_pairs() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        // Depth size contradicting the TUM intrinsics.
        write_gray16(&p.join("a_depth.png"), 8, 6, &[1; 48]);
        write_rgb(&p.join("a_color.png"), 8, 6, &[1; 144]);
        let e = read_single_frame(
            &p.join("a_color.png"),
            &p.join("a_depth.png"),
            SingleFrameKind::Tum,
        )
        .unwrap_err();
        assert!(matches!(
            e,
            IoError::SizeMismatch {
                expected_w: 640,
                found_w: 8,
                ..
            }
        ));
        // SUN with an unknown size.
        let e = read_single_frame(
            &p.join("a_color.png"),
            &p.join("a_depth.png"),
            SingleFrameKind::SunRgbd,
        )
        .unwrap_err();
        assert!(matches!(e, IoError::SizeMismatch { .. }));
        // 8-bit depth.
        write_gray8(&p.join("b_depth.png"), W, H, &vec![1; N]);
        let e = read_single_frame(
            &p.join("a_color.png"),
            &p.join("b_depth.png"),
            SingleFrameKind::Tum,
        )
        .unwrap_err();
        assert!(matches!(e, IoError::DepthNot16Bit { .. }));
        // Colour of another size than depth.
        write_gray16(&p.join("c_depth.png"), W, H, &vec![1; N]);
        let e = read_single_frame(
            &p.join("a_color.png"),
            &p.join("c_depth.png"),
            SingleFrameKind::Tum,
        )
        .unwrap_err();
        assert!(matches!(e, IoError::SizeMismatch { found_w: 8, .. }));
        // Missing file.
        let e = read_single_frame(
            &p.join("zz_color.png"),
            &p.join("c_depth.png"),
            SingleFrameKind::Tum,
        )
        .unwrap_err();
        assert!(matches!(e, IoError::Missing { ref path, .. } if path.ends_with("zz_color.png")));
    }

    #[test]
    fn finds_pairs_and_streams_them() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let depth = vec![5000u16; N];
        for prefix in ["TUM", "kitchen", "tum2", "zz"] {
            write_rgb(&p.join(format!("{prefix}_color.png")), W, H, &colour());
            write_gray16(&p.join(format!("{prefix}_depth.png")), W, H, &depth);
        }
        std::fs::remove_file(p.join("zz_depth.png")).unwrap();
        std::fs::write(p.join("NYU_color.ppm"), ppm_bytes(W, H, &colour())).unwrap();
        let mm: Vec<u16> = vec![3000; N];
        std::fs::write(p.join("NYU_depth.pgm"), pgm16_bytes(W, H, 65535, &mm)).unwrap();
        std::fs::write(p.join("room_depth.pgm"), pgm16_bytes(W, H, 65535, &mm)).unwrap();
        std::fs::write(p.join("room_color.ppm"), ppm_bytes(W, H, &colour())).unwrap();
        let pairs = find_single_frames(p).unwrap();
        let names: Vec<(&str, SingleFrameKind)> =
            pairs.iter().map(|(n, k, _, _)| (n.as_str(), *k)).collect();
        assert_eq!(
            names,
            vec![
                ("NYU", SingleFrameKind::Nyu),
                ("TUM", SingleFrameKind::Tum),
                ("kitchen", SingleFrameKind::Tum),
                ("room", SingleFrameKind::Nyu),
                ("tum2", SingleFrameKind::Tum),
            ]
        );
        let sel = FrameSelection::range(1, 5).with_stride(2);
        let src = SingleFrameSource::open(p, sel).unwrap();
        assert_eq!(src.frame_count(), 2);
        assert_eq!(src.intrinsics(), CameraIntrinsics::TUM_DEFAULT);
        let frames: Vec<RgbdFrame> = src.map(|f| f.unwrap()).collect();
        assert_eq!(frames[0].index, 1);
        assert_eq!(frames[0].depth.metres_at(0, 0), Some(1.0));
        assert_eq!(frames[1].index, 3);
        assert_eq!(frames[1].intrinsics, NYU_INTRINSICS);
        assert_eq!(frames[1].depth.metres_at(0, 0), Some(3.0));
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            SingleFrameSource::open(empty.path(), FrameSelection::ALL),
            Err(IoError::Missing { .. })
        ));
    }
}
