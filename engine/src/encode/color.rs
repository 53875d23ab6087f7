//! Colour block of the [`GeometricColorEncoder`](super::GeometricColorEncoder)
//! descriptor: a lighting-robust colour histogram.
//!
//! Each colour is converted to HSV. Its mass is split softly between
//! - a *chromatic* part, a 2-D hue × saturation histogram (hue: wrapped Gaussian
//!   soft binning; saturation: linear), weighted by `smoothstep` ramps on saturation
//!   ([`CHROMA_SATURATION`]) and on value ([`CHROMA_VALUE`]): grey, white, black and
//!   very dark pixels have no reliable hue;
//! - a *grey* part, a coarse histogram of the pixel's value divided by the mean value
//!   of the whole instance (soft binned on `[0, 2]`).
//!
//! Guarantees: hue, saturation and the normalised value are unchanged when every
//! colour is multiplied by one factor (exposure), up to 8-bit rounding and clipping;
//! a moderate per-channel gain (white balance) moves hues by a few degrees only,
//! which the soft binning absorbs. Pure function of the colours (no randomness).

use super::geometric::GeometricColorConfig;
use super::histogram::{add_gaussian_circular, add_linear, unit_coord};

/// Saturation ramp `(start, end)`: below `start` a pixel is grey, above `end`
/// chromatic, in between both in proportion.
pub const CHROMA_SATURATION: (f32, f32) = (0.12, 0.30);
/// Value (brightness, `[0, 1]`) ramp `(start, end)` under which a pixel's hue is
/// considered unreliable and its mass goes to the grey part.
pub const CHROMA_VALUE: (f32, f32) = (0.06, 0.16);
/// Saturations at and below this map to the first saturation bin.
const SATURATION_FLOOR: f32 = 0.2;
/// Normalised values (value / instance mean) at and above this map to the last
/// grey bin.
const GREY_RATIO_MAX: f32 = 2.0;

fn smoothstep(edge0: f32, edge1: f32, x: f32) -> f32 {
    let t = ((x - edge0) / (edge1 - edge0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Hue in `[0, 6)` sextants, saturation and value in `[0, 1]`.
fn hsv(c: [u8; 3]) -> (f32, f32, f32) {
    let [r, g, b] = c.map(|x| f32::from(x) / 255.0);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let delta = max - min;
    let s = if max > 0.0 { delta / max } else { 0.0 };
    let h = if delta <= 0.0 {
        0.0
    } else if max == r {
        ((g - b) / delta).rem_euclid(6.0)
    } else if max == g {
        (b - r) / delta + 2.0
    } else {
        (r - g) / delta + 4.0
    };
    (h, s, max)
}

/// Sub-bins per hue bin of the fine histogram that is later smoothed.
const FINE: usize = 8;

/// Writes the unnormalised colour histogram of `colors` into `out`, laid out as
/// `hue_bins × saturation_bins` (hue-major: index `h * saturation_bins + s`)
/// followed by `grey_bins`. Every colour contributes a total mass of 1.
///
/// The hue Gaussian is applied after accumulation: colours are first binned
/// linearly into `FINE` sub-bins per hue bin, and each sub-bin is then spread over
/// the hue bins with the Gaussian centred on it (exact up to the 1/8-bin
/// interpolation, and linear in the number of colours with a tiny constant).
pub(crate) fn write_color_block(colors: &[[u8; 3]], cfg: &GeometricColorConfig, out: &mut [f32]) {
    if colors.is_empty() {
        return;
    }
    let hb = cfg.hue_bins.max(1);
    let sb = cfg.saturation_bins.max(1);
    let gb = cfg.grey_bins;
    let (chroma, grey) = out.split_at_mut((hb * sb).min(out.len()));
    let hsvs: Vec<(f32, f32, f32)> = colors.iter().map(|&c| hsv(c)).collect();
    let mean_v = hsvs.iter().map(|c| c.2).sum::<f32>() / hsvs.len() as f32;
    let fine_bins = hb * FINE;
    // Fine hue × saturation histogram, hue-major.
    let mut fine = vec![0.0f32; fine_bins * sb];
    let mut kernel = vec![0.0f32; hb];
    for &(h, s, v) in &hsvs {
        let w = smoothstep(CHROMA_SATURATION.0, CHROMA_SATURATION.1, s)
            * smoothstep(CHROMA_VALUE.0, CHROMA_VALUE.1, v);
        if w > 0.0 {
            let x = h / 6.0 * fine_bins as f32;
            let i = (x.floor().max(0.0) as usize) % fine_bins;
            let f = (x - x.floor()).clamp(0.0, 1.0);
            let sat_x = unit_coord((s - SATURATION_FLOOR) / (1.0 - SATURATION_FLOOR), sb);
            for (k, mass) in [(i, w * (1.0 - f)), ((i + 1) % fine_bins, w * f)] {
                if let Some(row) = fine.get_mut(k * sb..(k + 1) * sb) {
                    add_linear(row, sat_x, mass);
                }
            }
        }
        if w < 1.0 {
            let ratio = if mean_v > 0.0 { v / mean_v } else { 0.0 };
            add_linear(grey, unit_coord(ratio / GREY_RATIO_MAX, gb), 1.0 - w);
        }
    }
    // Spread each fine sub-bin over the hue bins: the kernel of phase `p` (centre
    // at `p / FINE` bins) shifted by the sub-bin's whole hue bin.
    for p in 0..FINE {
        kernel.iter_mut().for_each(|x| *x = 0.0);
        add_gaussian_circular(&mut kernel, p as f32 / FINE as f32, cfg.hue_sigma_bins, 1.0);
        for k0 in 0..hb {
            let Some(src) = fine.get((k0 * FINE + p) * sb..(k0 * FINE + p + 1) * sb) else {
                continue;
            };
            if src.iter().all(|&m| m == 0.0) {
                continue;
            }
            for (off, &kw) in kernel.iter().enumerate() {
                if kw == 0.0 {
                    continue;
                }
                let k = (k0 + off) % hb;
                if let Some(dst) = chroma.get_mut(k * sb..(k + 1) * sb) {
                    dst.iter_mut().zip(src).for_each(|(d, &m)| *d += kw * m);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsv_of_primaries_and_greys() {
        assert_eq!(hsv([255, 0, 0]), (0.0, 1.0, 1.0));
        let (h, s, _) = hsv([0, 255, 0]);
        assert!((h - 2.0).abs() < 1e-6 && s == 1.0);
        let (h, _, _) = hsv([0, 0, 255]);
        assert!((h - 4.0).abs() < 1e-6);
        let (_, s, v) = hsv([128, 128, 128]);
        assert!(s == 0.0 && (v - 128.0 / 255.0).abs() < 1e-6);
        assert_eq!(hsv([0, 0, 0]), (0.0, 0.0, 0.0));
    }

    #[test]
    fn red_goes_to_chroma_grey_goes_to_grey_block() {
        let cfg = GeometricColorConfig::default();
        let len = cfg.hue_bins * cfg.saturation_bins + cfg.grey_bins;
        let mut out = vec![0.0; len];
        write_color_block(&[[200, 20, 20], [120, 120, 120]], &cfg, &mut out);
        let (chroma, grey) = out.split_at(cfg.hue_bins * cfg.saturation_bins);
        assert!((chroma.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!((grey.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        // Red sits at hue bin 0, spread over its neighbours only (wrapping).
        let sb = cfg.saturation_bins;
        let row = |k: usize| chroma[k * sb..(k + 1) * sb].iter().sum::<f32>();
        assert!(row(0) > 0.5);
        assert!(row(0) + row(1) + row(cfg.hue_bins - 1) > 0.95);
        assert!((row(1) - row(cfg.hue_bins - 1)).abs() < 1e-5);
    }
}
