//! Decoding of colour and depth images for the dataset readers.
//!
//! Guarantees:
//! - Colour comes back as 8-bit RGB ([`RgbImage`]). JPEG and PNG are decoded with the
//!   `image` crate (grey, grey+alpha and RGBA inputs are expanded / have their alpha
//!   dropped; 16-bit colour is reduced to 8 bits). Binary PPM (`P6`) is decoded by the
//!   small Netpbm parser of this module; a PPM with maxval > 255 is reduced to 8 bits
//!   by `v * 255 / maxval`.
//! - Depth comes back as the raw 16-bit samples ([`Gray16`]), exactly as stored: no
//!   scaling, whatever the maxval of a PGM. PNG depth must be 16-bit single-channel
//!   (grey); PGM depth must be `P5` with maxval > 255, whose samples are big-endian as
//!   the Netpbm specification says. 8-bit or multi-channel depth is rejected with
//!   [`IoError::DepthNot16Bit`]. Turning raw samples into metres is the reader's job
//!   (it knows the source's unit).
//! - Netpbm files are parsed here and not by the `image` crate because the crate
//!   rescales 16-bit samples to the full 0..65535 range when maxval is not 65535,
//!   which would destroy raw depth codes (e.g. Kinect disparities with maxval 2047).

use std::io::Read;
use std::path::Path;

use crate::frame::{DepthImage, RgbImage};
use crate::io::IoError;

/// A single-channel 16-bit image with its raw samples, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gray16 {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height` raw samples, rows top to bottom.
    pub data: Vec<u16>,
}

impl Gray16 {
    /// The image as a depth image whose metres are `raw / units_per_metre`.
    pub fn into_depth(self, units_per_metre: f32) -> DepthImage {
        DepthImage::from_u16(self.width, self.height, self.data, units_per_metre)
    }
}

/// True when the file name ends in a Netpbm extension (`.ppm`, `.pgm`, `.pnm`).
fn is_netpbm_path(path: &Path) -> bool {
    matches!(
        extension_lower(path).as_deref(),
        Some("ppm") | Some("pgm") | Some("pnm")
    )
}

/// The lower-case extension of a path, if any.
pub(crate) fn extension_lower(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
}

fn read_bytes(path: &Path) -> Result<Vec<u8>, IoError> {
    std::fs::read(path).map_err(|e| IoError::os(path, e))
}

fn image_error(path: &Path, message: impl std::fmt::Display) -> IoError {
    IoError::Image {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Decodes a colour image (JPEG, PNG or binary PPM) to 8-bit RGB.
pub fn read_rgb(path: &Path) -> Result<RgbImage, IoError> {
    let bytes = read_bytes(path)?;
    if is_netpbm_path(path) || bytes.starts_with(b"P6") {
        let pnm = parse_netpbm(path, &bytes)?;
        return pnm_to_rgb(path, pnm);
    }
    let img = image::load_from_memory(&bytes).map_err(|e| image_error(path, e))?;
    let rgb = img.into_rgb8();
    let (width, height) = rgb.dimensions();
    Ok(RgbImage {
        width,
        height,
        data: rgb.into_raw(),
    })
}

/// Decodes a 16-bit single-channel depth image (PNG or binary PGM) to its raw samples.
pub fn read_gray16(path: &Path) -> Result<Gray16, IoError> {
    let bytes = read_bytes(path)?;
    if is_netpbm_path(path) || bytes.starts_with(b"P5") || bytes.starts_with(b"P6") {
        let pnm = parse_netpbm(path, &bytes)?;
        if pnm.channels != 1 || pnm.maxval <= 255 {
            return Err(IoError::DepthNot16Bit {
                path: path.to_path_buf(),
                found: format!(
                    "{}-channel Netpbm with maxval {} ({}-bit)",
                    pnm.channels,
                    pnm.maxval,
                    if pnm.maxval <= 255 { 8 } else { 16 }
                ),
            });
        }
        return Ok(Gray16 {
            width: pnm.width,
            height: pnm.height,
            data: pnm.samples,
        });
    }
    let img = image::load_from_memory(&bytes).map_err(|e| image_error(path, e))?;
    match img {
        image::DynamicImage::ImageLuma16(buf) => {
            let (width, height) = buf.dimensions();
            Ok(Gray16 {
                width,
                height,
                data: buf.into_raw(),
            })
        }
        other => Err(IoError::DepthNot16Bit {
            path: path.to_path_buf(),
            found: format!("{:?}", other.color()),
        }),
    }
}

/// Reads a 16-bit depth image whose metres are `raw / units_per_metre`.
pub fn read_depth_u16(path: &Path, units_per_metre: f32) -> Result<DepthImage, IoError> {
    read_gray16(path).map(|g| g.into_depth(units_per_metre))
}

/// Reads only the size of an image file (cheap: the header is parsed, the pixels are
/// not decoded).
pub fn image_size(path: &Path) -> Result<(u32, u32), IoError> {
    if is_netpbm_path(path) {
        let mut head = Vec::new();
        let file = std::fs::File::open(path).map_err(|e| IoError::os(path, e))?;
        file.take(4096)
            .read_to_end(&mut head)
            .map_err(|e| IoError::os(path, e))?;
        let header = parse_netpbm_header(path, &head)?;
        return Ok((header.width, header.height));
    }
    image::image_dimensions(path).map_err(|e| match e {
        image::ImageError::IoError(io) => IoError::os(path, io),
        other => image_error(path, other),
    })
}

/// Checks that an image has the expected size, else [`IoError::SizeMismatch`].
pub fn check_size(path: &Path, found: (u32, u32), expected: (u32, u32)) -> Result<(), IoError> {
    if found == expected {
        Ok(())
    } else {
        Err(IoError::SizeMismatch {
            path: path.to_path_buf(),
            expected_w: expected.0,
            expected_h: expected.1,
            found_w: found.0,
            found_h: found.1,
        })
    }
}

/// A decoded binary Netpbm image: raw samples, interleaved channels.
struct Netpbm {
    width: u32,
    height: u32,
    channels: usize,
    maxval: u16,
    samples: Vec<u16>,
}

struct NetpbmHeader {
    width: u32,
    height: u32,
    channels: usize,
    maxval: u16,
    data_offset: usize,
}

/// Parses the header of a binary PGM (`P5`) or PPM (`P6`): magic, width, height and
/// maxval separated by whitespace, `#` comments allowed, then exactly one whitespace
/// byte before the samples.
fn parse_netpbm_header(path: &Path, bytes: &[u8]) -> Result<NetpbmHeader, IoError> {
    let bad = |msg: &str| image_error(path, format!("Netpbm header: {msg}"));
    let channels = match bytes.get(..2) {
        Some(b"P5") => 1,
        Some(b"P6") => 3,
        Some(b"P2") | Some(b"P3") => {
            return Err(bad(
                "ASCII Netpbm (P2/P3) is not supported, only binary P5/P6",
            ));
        }
        _ => return Err(bad("not a binary PGM (P5) or PPM (P6) file")),
    };
    let mut pos = 2usize;
    let mut fields = [0u32; 3];
    for field in &mut fields {
        // Skip whitespace and comments.
        loop {
            match bytes.get(pos) {
                Some(b) if b.is_ascii_whitespace() => pos += 1,
                Some(b'#') => {
                    while let Some(&b) = bytes.get(pos) {
                        pos += 1;
                        if b == b'\n' || b == b'\r' {
                            break;
                        }
                    }
                }
                Some(_) => break,
                None => return Err(bad("truncated")),
            }
        }
        let start = pos;
        while bytes.get(pos).is_some_and(|b| b.is_ascii_digit()) {
            pos += 1;
        }
        let text = bytes
            .get(start..pos)
            .and_then(|t| std::str::from_utf8(t).ok())
            .unwrap_or("");
        *field = text
            .parse::<u32>()
            .map_err(|_| bad("width, height and maxval must be positive integers"))?;
    }
    // Exactly one whitespace byte separates the header from the samples.
    if !bytes.get(pos).is_some_and(|b| b.is_ascii_whitespace()) {
        return Err(bad("no whitespace after maxval"));
    }
    let [width, height, maxval] = fields;
    if width == 0 || height == 0 {
        return Err(bad("empty image"));
    }
    let maxval = u16::try_from(maxval)
        .ok()
        .filter(|&m| m > 0)
        .ok_or_else(|| bad("maxval must be in 1..=65535"))?;
    Ok(NetpbmHeader {
        width,
        height,
        channels,
        maxval,
        data_offset: pos + 1,
    })
}

/// Parses a binary PGM/PPM. Samples wider than 8 bits are big-endian (Netpbm spec).
fn parse_netpbm(path: &Path, bytes: &[u8]) -> Result<Netpbm, IoError> {
    let h = parse_netpbm_header(path, bytes)?;
    let bytes_per_sample = if h.maxval > 255 { 2 } else { 1 };
    let count = h.width as usize * h.height as usize * h.channels;
    let needed = count * bytes_per_sample;
    let data = bytes
        .get(h.data_offset..)
        .filter(|d| d.len() >= needed)
        .and_then(|d| d.get(..needed))
        .ok_or_else(|| {
            image_error(
                path,
                format!(
                    "Netpbm data truncated: {} bytes of samples expected, {} present",
                    needed,
                    bytes.len().saturating_sub(h.data_offset)
                ),
            )
        })?;
    let samples: Vec<u16> = if bytes_per_sample == 2 {
        data.chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect()
    } else {
        data.iter().map(|&b| u16::from(b)).collect()
    };
    Ok(Netpbm {
        width: h.width,
        height: h.height,
        channels: h.channels,
        maxval: h.maxval,
        samples,
    })
}

fn pnm_to_rgb(path: &Path, pnm: Netpbm) -> Result<RgbImage, IoError> {
    let maxval = u32::from(pnm.maxval);
    let scale = |v: u16| -> u8 {
        if maxval == 255 {
            v.min(255) as u8
        } else {
            ((u32::from(v).min(maxval) * 255 + maxval / 2) / maxval) as u8
        }
    };
    let data: Vec<u8> = match pnm.channels {
        3 => pnm.samples.iter().map(|&v| scale(v)).collect(),
        1 => pnm
            .samples
            .iter()
            .flat_map(|&v| {
                let g = scale(v);
                [g, g, g]
            })
            .collect(),
        n => {
            return Err(image_error(
                path,
                format!("{n}-channel Netpbm cannot be colour"),
            ));
        }
    };
    Ok(RgbImage {
        width: pnm.width,
        height: pnm.height,
        data,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes an RGB8 PNG (or JPEG, by extension) through the `image` crate.
    pub(crate) fn write_rgb(path: &Path, w: u32, h: u32, data: &[u8]) {
        image::RgbImage::from_raw(w, h, data.to_vec())
            .unwrap()
            .save(path)
            .unwrap();
    }

    /// Writes a 16-bit grey PNG.
    pub(crate) fn write_gray16(path: &Path, w: u32, h: u32, data: &[u16]) {
        image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::from_raw(w, h, data.to_vec())
            .unwrap()
            .save(path)
            .unwrap();
    }

    /// Writes an 8-bit grey PNG.
    pub(crate) fn write_gray8(path: &Path, w: u32, h: u32, data: &[u8]) {
        image::GrayImage::from_raw(w, h, data.to_vec())
            .unwrap()
            .save(path)
            .unwrap();
    }

    /// Binary PGM bytes with big-endian 16-bit samples, with a comment in the header.
    pub(crate) fn pgm16_bytes(w: u32, h: u32, maxval: u16, data: &[u16]) -> Vec<u8> {
        let mut out = format!("P5\n# written by a test\n{w} {h}\n{maxval}\n").into_bytes();
        for v in data {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out
    }

    /// Binary PPM bytes (maxval 255).
    pub(crate) fn ppm_bytes(w: u32, h: u32, data: &[u8]) -> Vec<u8> {
        let mut out = format!("P6 {w} {h} 255\n").into_bytes();
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn png_depth_and_colour_round_trip_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let depth: Vec<u16> = (0..48).map(|i| i * 1000 + 7).collect();
        let dp = dir.path().join("d.png");
        write_gray16(&dp, 8, 6, &depth);
        let g = read_gray16(&dp).unwrap();
        assert_eq!((g.width, g.height), (8, 6));
        assert_eq!(g.data, depth);
        assert_eq!(image_size(&dp).unwrap(), (8, 6));

        let rgb: Vec<u8> = (0..144).map(|i| (i * 5 % 256) as u8).collect();
        let cp = dir.path().join("c.png");
        write_rgb(&cp, 8, 6, &rgb);
        let c = read_rgb(&cp).unwrap();
        assert_eq!(c.data, rgb);
    }

    #[test]
    fn eight_bit_or_colour_depth_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let p8 = dir.path().join("d8.png");
        write_gray8(&p8, 4, 3, &[1; 12]);
        assert!(matches!(
            read_gray16(&p8),
            Err(IoError::DepthNot16Bit { .. })
        ));
        let prgb = dir.path().join("rgb.png");
        write_rgb(&prgb, 4, 3, &[9; 36]);
        assert!(matches!(
            read_gray16(&prgb),
            Err(IoError::DepthNot16Bit { .. })
        ));
        let pgm8 = dir.path().join("d8.pgm");
        std::fs::write(&pgm8, b"P5 2 1 255\n\x01\x02").unwrap();
        assert!(matches!(
            read_gray16(&pgm8),
            Err(IoError::DepthNot16Bit { .. })
        ));
    }

    #[test]
    fn netpbm_samples_are_big_endian_and_not_rescaled() {
        let dir = tempfile::tempdir().unwrap();
        let data = [0u16, 1, 2047, 258, 1000, 65535 / 40];
        let p = dir.path().join("d.pgm");
        std::fs::write(&p, pgm16_bytes(3, 2, 2047, &data)).unwrap();
        let g = read_gray16(&p).unwrap();
        assert_eq!(g.data, data.to_vec());
        assert_eq!(image_size(&p).unwrap(), (3, 2));

        let rgb = [1u8, 2, 3, 250, 251, 252];
        let pp = dir.path().join("c.ppm");
        std::fs::write(&pp, ppm_bytes(2, 1, &rgb)).unwrap();
        assert_eq!(read_rgb(&pp).unwrap().data, rgb.to_vec());
    }

    #[test]
    fn truncated_or_foreign_netpbm_is_an_image_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.pgm");
        std::fs::write(&p, b"P5 4 4 65535\n\x00\x01").unwrap();
        assert!(matches!(read_gray16(&p), Err(IoError::Image { .. })));
        std::fs::write(&p, b"P2 1 1 65535\n7").unwrap();
        assert!(matches!(read_gray16(&p), Err(IoError::Image { .. })));
        let missing = dir.path().join("none.png");
        assert!(matches!(
            read_gray16(&missing),
            Err(IoError::Missing { .. })
        ));
    }

    #[test]
    fn size_check_reports_both_sizes() {
        let e = check_size(Path::new("x.png"), (8, 6), (640, 480)).unwrap_err();
        match e {
            IoError::SizeMismatch {
                expected_w,
                found_w,
                ..
            } => assert_eq!((expected_w, found_w), (640, 8)),
            other => panic!("unexpected {other}"),
        }
    }
}
