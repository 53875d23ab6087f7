//! Colour frames as JPEG: quality [`JPEG_QUALITY`], 4:2:0 chroma subsampling with
//! the chroma of each 2×2 block taken from the block's mean colour (a box filter,
//! as libjpeg does), encoded by the portable, non-SIMD `jpeg-encoder`, so the
//! bytes do not depend on the CPU.

use jpeg_encoder::{Encoder, ImageBuffer, JpegColorType, SamplingFactor, rgb_to_ycbcr};

/// JPEG quality of the colour images.
pub const JPEG_QUALITY: u8 = 90;

/// An RGB8 image with its chroma box-filtered over 2×2 blocks in advance (one
/// row of full width per pair of image rows), so the encoder's subsampling (the
/// top-left sample of each block) keeps each block's mean.
struct BoxFilteredRgb<'a> {
    data: &'a [u8],
    width: u16,
    height: u16,
    cb: Vec<u8>,
    cr: Vec<u8>,
}

impl<'a> BoxFilteredRgb<'a> {
    /// `data` must hold `width * height * 3` bytes.
    fn new(data: &'a [u8], width: u16, height: u16) -> BoxFilteredRgb<'a> {
        let w = width as usize;
        let rows: Vec<&[u8]> = data.chunks_exact(w * 3).collect();
        let pairs = rows.len().div_ceil(2);
        let (mut cb, mut cr) = (vec![0u8; w * pairs], vec![0u8; w * pairs]);
        let out = cb.chunks_exact_mut(w).zip(cr.chunks_exact_mut(w));
        for (pair, (cb_row, cr_row)) in rows.chunks(2).zip(out) {
            let (top, bottom) = (pair[0], pair.get(1).copied().unwrap_or(pair[0]));
            let blocks = top.chunks(6).zip(bottom.chunks(6));
            for ((a, b), (u, v)) in blocks.zip(cb_row.chunks_mut(2).zip(cr_row.chunks_mut(2))) {
                let (bu, bv) = block_chroma(a, b);
                u.fill(bu);
                v.fill(bv);
            }
        }
        BoxFilteredRgb {
            data,
            width,
            height,
            cb,
            cr,
        }
    }
}

impl ImageBuffer for BoxFilteredRgb<'_> {
    fn get_jpeg_color_type(&self) -> JpegColorType {
        JpegColorType::Ycbcr
    }

    fn width(&self) -> u16 {
        self.width
    }

    fn height(&self) -> u16 {
        self.height
    }

    fn fill_buffers(&self, y: u16, buffers: &mut [Vec<u8>; 4]) {
        let w = self.width as usize;
        let (y, pair) = (y as usize, y as usize / 2);
        let row = self.data.get(y * w * 3..(y + 1) * w * 3).unwrap_or(&[]);
        let [luma, cb, cr, _] = buffers;
        luma.extend(
            row.chunks_exact(3)
                .map(|p| rgb_to_ycbcr(p[0], p[1], p[2]).0),
        );
        cb.extend_from_slice(self.cb.get(pair * w..(pair + 1) * w).unwrap_or(&[]));
        cr.extend_from_slice(self.cr.get(pair * w..(pair + 1) * w).unwrap_or(&[]));
    }
}

/// Chroma (Cb, Cr) of the mean colour of two vertically adjacent runs of RGB
/// pixels (two pixels each, one at an odd right edge).
#[inline]
fn block_chroma(a: &[u8], b: &[u8]) -> (u8, u8) {
    let mean = |c: usize| -> u8 {
        match (a, b) {
            ([_, _, _, _, _, _], [_, _, _, _, _, _]) => {
                let sum = a[c] as u16 + a[c + 3] as u16 + b[c] as u16 + b[c + 3] as u16;
                ((sum + 2) >> 2) as u8
            }
            _ => {
                let (x, y) = (a.get(c).copied(), b.get(c).copied());
                let (x, y) = (x.unwrap_or(0) as u16, y.or(x).unwrap_or(0) as u16);
                ((x + y + 1) >> 1) as u8
            }
        }
    };
    let (_, u, v) = rgb_to_ycbcr(mean(0), mean(1), mean(2));
    (u, v)
}

/// Encodes an RGB8 image (`width * height * 3` bytes, rows top to bottom).
pub fn encode_rgb(data: &[u8], width: u16, height: u16) -> Result<Vec<u8>, String> {
    if data.len() != width as usize * height as usize * 3 || width == 0 || height == 0 {
        return Err(format!(
            "{} bytes do not hold a {width}x{height} RGB image",
            data.len()
        ));
    }
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, JPEG_QUALITY);
    encoder.set_sampling_factor(SamplingFactor::R_4_2_0);
    encoder
        .encode_image(BoxFilteredRgb::new(data, width, height))
        .map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Columns alternating red and green (the mean of a pair is a dull yellow).
    fn stripes(w: u16, h: u16) -> Vec<u8> {
        let mut img = vec![0u8; w as usize * h as usize * 3];
        for (i, px) in img.chunks_exact_mut(3).enumerate() {
            let red = (i % w as usize).is_multiple_of(2);
            px.copy_from_slice(if red { &[200, 40, 40] } else { &[40, 200, 40] });
        }
        img
    }

    #[test]
    fn luma_is_kept_and_chroma_is_the_block_mean() {
        // an odd height: the last row pairs with itself
        let (w, h) = (48u16, 21u16);
        let img = stripes(w, h);
        let bytes = encode_rgb(&img, w, h).unwrap();
        let decoded = image::load_from_memory(&bytes).unwrap().to_rgb8();
        assert_eq!((decoded.width(), decoded.height()), (w as u32, h as u32));
        let luma = |p: &[u8]| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32;
        let mut worst = 0.0f32;
        for (a, b) in img.chunks_exact(3).zip(decoded.as_raw().chunks_exact(3)) {
            worst = worst.max((luma(a) - luma(b)).abs());
        }
        assert!(worst < 12.0, "luma error {worst}");
        // the chroma of every pixel is that of the mean colour, whose red equals
        // its green (keeping the top-left pixel's chroma instead would turn every
        // green pixel red)
        let worst_hue = decoded
            .as_raw()
            .chunks_exact(3)
            .map(|p| (p[0] as i32 - p[1] as i32).abs())
            .max()
            .unwrap();
        assert!(worst_hue < 25, "red - green up to {worst_hue}");
    }

    #[test]
    fn odd_sizes_encode_and_wrong_sizes_are_refused() {
        let (w, h) = (37u16, 21u16);
        let img = stripes(w, h);
        let decoded = image::load_from_memory(&encode_rgb(&img, w, h).unwrap())
            .unwrap()
            .to_rgb8();
        assert_eq!((decoded.width(), decoded.height()), (w as u32, h as u32));
        // the lone last column keeps its own (red) colour
        let last = decoded.get_pixel(w as u32 - 1, 5);
        assert!(last[0] as i32 - last[1] as i32 > 60, "{last:?}");
        assert!(encode_rgb(&img[3..], w, h).is_err());
        assert!(encode_rgb(&[], 0, 0).is_err());
    }
}
