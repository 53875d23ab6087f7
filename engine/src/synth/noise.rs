//! Kinect-like sensor noise for rendered frames.
//!
//! Depth (applied to exact rendered depth, metres along the optical axis):
//! - axial Gaussian noise with sigma [`axial_sigma`]`(z) = 0.0012 + 0.0019 (z − 0.4)²`
//!   (Nguyen et al. 2012), drawn from a 4096-entry quantile table, so a single
//!   sample never exceeds 3.67 sigma;
//! - disparity quantisation to 1/8 pixel of a structured-light sensor with focal
//!   length [`SENSOR_FOCAL_PX`] and baseline [`BASELINE_M`] (independent of the
//!   rendered resolution): the step is `z² / (8 · 43.5)` metres;
//! - dropouts (value 0): at depth discontinuities, in the projector's shadow left
//!   of foreground edges, on shiny and on dark surfaces (blob-shaped holes), at
//!   grazing angles (increasingly beyond 75°, always beyond 84°), and a few at
//!   random;
//! - the valid range [`MIN_RANGE_M`]..=[`MAX_RANGE_M`]; anything else becomes 0.
//!
//! Colour: a per-frame exposure gain and white balance, vignetting, and per-pixel
//! Gaussian noise. Everything is drawn from the generator passed in, so a frame's
//! noise is reproducible from `(seed, scan, frame)`.

use super::render::flags;
use super::texture::value_noise2;
use crate::frame::{CameraIntrinsics, RgbImage};
use crate::rng::Rng;

/// Nearest valid depth, metres.
pub const MIN_RANGE_M: f32 = 0.3;
/// Farthest valid depth, metres.
pub const MAX_RANGE_M: f32 = 6.0;
/// Focal length of the simulated IR camera, pixels (Kinect v1).
pub const SENSOR_FOCAL_PX: f32 = 580.0;
/// Projector–camera baseline, metres.
pub const BASELINE_M: f32 = 0.075;
/// Disparity resolution, pixels.
pub const DISPARITY_STEP_PX: f32 = 0.125;

/// Axial depth noise standard deviation at depth `z` (metres).
pub fn axial_sigma(z: f32) -> f32 {
    0.0012 + 0.0019 * (z - 0.4) * (z - 0.4)
}

/// Largest quantisation error at depth `z` (half a disparity step), metres.
pub fn quantisation_error(z: f32) -> f32 {
    0.5 * z * z * DISPARITY_STEP_PX / (SENSOR_FOCAL_PX * BASELINE_M)
}

/// Number of entries of the standard-normal quantile table.
const NORMAL_TABLE_LEN: usize = 4096;

/// Quantiles `Φ⁻¹((i + ½) / 4096)` of the standard normal distribution, computed
/// once by integrating the density numerically (deterministic; |value| ≤ 3.67).
fn normal_table() -> &'static [f32] {
    static TABLE: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let (lo, hi, steps) = (-6.0f64, 6.0f64, 240_000usize);
        let dx = (hi - lo) / steps as f64;
        let pdf = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let mut out = Vec::with_capacity(NORMAL_TABLE_LEN);
        let mut cdf = 0.0f64;
        let mut x = lo;
        for i in 0..NORMAL_TABLE_LEN {
            let target = (i as f64 + 0.5) / NORMAL_TABLE_LEN as f64;
            while x < hi {
                let step = 0.5 * (pdf(x) + pdf(x + dx)) * dx;
                if cdf + step >= target {
                    out.push((x + dx * (target - cdf) / step.max(1e-300)) as f32);
                    break;
                }
                cdf += step;
                x += dx;
            }
        }
        out.resize(NORMAL_TABLE_LEN, hi as f32);
        out
    })
}

/// A standard-normal sample from 12 random bits (quantile table lookup).
#[inline(always)]
fn normal_from_bits(table: &[f32], bits: u64) -> f32 {
    table.get((bits & 0xFFF) as usize).copied().unwrap_or(0.0)
}

/// A standard-normal sample (quantile table, bounded by ±3.67).
pub fn fast_normal(rng: &mut Rng) -> f32 {
    normal_from_bits(normal_table(), rng.next_u64())
}

/// A uniform in `[0, 1)` from 16 random bits.
#[inline(always)]
fn unit_from_bits(bits: u64) -> f32 {
    (bits & 0xFFFF) as f32 * (1.0 / 65536.0)
}

/// Applies the depth noise model in place. `cos` is the cosine between surface
/// normal and viewing ray per pixel, `flags` the [`flags`] bits; both have one
/// entry per pixel.
pub fn apply_depth_noise(
    z: &mut [f32],
    cos: &[f32],
    surface: &[u8],
    k: &CameraIntrinsics,
    rng: &mut Rng,
) {
    let (w, h) = (k.width as usize, k.height as usize);
    if z.len() != w * h || cos.len() != z.len() || surface.len() != z.len() {
        log::warn!("depth noise: buffer sizes do not match the intrinsics; noise not applied");
        return;
    }
    let truth = z.to_vec();
    // Discontinuities are found in inverse depth, which is linear across the image
    // on a plane: a jump between two pixels that is large (2 %) and much larger
    // than the step beside it on at least one side. Planes seen at grazing angles
    // (large but steady steps) are no discontinuities.
    let inv: Vec<f32> = truth
        .iter()
        .map(|&d| if d > 0.0 { 1.0 / d } else { 0.0 })
        .collect();
    let is_jump = |prev: Option<f32>, a: f32, b: f32, next: Option<f32>| -> bool {
        if (a > 0.0) != (b > 0.0) {
            return true;
        }
        if a <= 0.0 {
            return false;
        }
        let step = (b - a).abs();
        if step <= 0.02 * a.max(b) {
            return false;
        }
        let side = |o: Option<f32>, x: f32| match o {
            Some(o) if o > 0.0 => (x - o).abs(),
            _ => 0.0,
        };
        step > 3.0 * side(prev, a).min(side(next, b))
    };
    let at = |i: usize| inv.get(i).copied();
    let mut edge = vec![false; z.len()];
    // horizontal jumps between u and u + 1 where the far side is left get a
    // projector shadow; remember them
    let mut shadow_from: Vec<usize> = Vec::new();
    for v in 0..h {
        let row = v * w;
        for u in 0..w {
            let i = row + u;
            let a = inv[i];
            if u + 1 < w {
                let prev = if u > 0 { at(i - 1) } else { None };
                let next = if u + 2 < w { at(i + 2) } else { None };
                if is_jump(prev, a, inv[i + 1], next) {
                    edge[i] = true;
                    edge[i + 1] = true;
                    if a > 0.0 && inv[i + 1] > a {
                        shadow_from.push(i);
                    }
                }
            }
            if v + 1 < h {
                let prev = if v > 0 { at(i - w) } else { None };
                let next = if v + 2 < h { at(i + 2 * w) } else { None };
                if is_jump(prev, a, inv[i + w], next) {
                    edge[i] = true;
                    edge[i + w] = true;
                }
            }
        }
    }
    let mut drop = vec![false; z.len()];
    for i in 0..z.len() {
        if edge[i] && truth[i] > 0.0 && unit_from_bits(rng.next_u64()) < 0.55 {
            drop[i] = true;
        }
    }
    // far pixel at i with a nearer surface at i + 1: the projector (to the right of
    // the camera) cannot light a band of the far surface left of the edge
    let shadow_scale = k.fx * BASELINE_M;
    for &i in &shadow_from {
        let near = truth[i + 1];
        let width = (shadow_scale * (inv[i + 1] - inv[i])).clamp(0.0, 40.0) as usize;
        let u = i % w;
        for s in 0..width.min(u + 1) {
            let j = i - s;
            if truth[j] > near + 0.02 {
                drop[j] = true;
            }
        }
    }
    let (ox, oy) = (rng.range(0.0, 1000.0), rng.range(0.0, 1000.0));
    let blob_seed = rng.next_u64() as u32;
    let blob_scale = 6.0 * (k.width as f32 / 640.0).max(0.1);
    let fb = SENSOR_FOCAL_PX * BASELINE_M;
    let table = normal_table();
    for i in 0..z.len() {
        let zt = truth[i];
        if zt <= 0.0 {
            z[i] = 0.0;
            continue;
        }
        let bits = rng.next_u64();
        let f = surface[i];
        let mut invalid = drop[i];
        if !invalid && f & (flags::SHINY | flags::DARK) != 0 {
            let (u, v) = ((i % w) as f32, (i / w) as f32);
            let blob = value_noise2(u / blob_scale + ox, v / blob_scale + oy, blob_seed);
            if (f & flags::SHINY != 0 && blob < 0.7) || (f & flags::DARK != 0 && blob < 0.3) {
                invalid = true;
            }
        }
        let c = cos[i];
        if c < 0.1 || (c < 0.26 && unit_from_bits(bits >> 12) < (0.26 - c) / 0.16) {
            invalid = true;
        }
        if unit_from_bits(bits >> 28) < 0.002 {
            invalid = true;
        }
        if invalid {
            z[i] = 0.0;
            continue;
        }
        let noisy = zt + axial_sigma(zt) * normal_from_bits(table, bits >> 44);
        let disparity = fb / noisy.max(1e-3);
        let q = ((disparity / DISPARITY_STEP_PX + 0.5) as i64) as f32 * DISPARITY_STEP_PX;
        let zq = if q > 0.0 { fb / q } else { 0.0 };
        z[i] = if (MIN_RANGE_M..=MAX_RANGE_M).contains(&zq) {
            zq
        } else {
            0.0
        };
    }
}

/// Applies exposure, white balance, vignetting and per-pixel noise in place.
pub fn apply_color_noise(img: &mut RgbImage, rng: &mut Rng) {
    let gain = (0.1 * fast_normal(rng)).exp().clamp(0.7, 1.4);
    let wb = [
        1.0 + 0.03 * fast_normal(rng),
        1.0,
        1.0 + 0.03 * fast_normal(rng),
    ];
    let (w, h) = (img.width as usize, img.height as usize);
    let (cx, cy) = (0.5 * w as f32, 0.5 * h as f32);
    let r2max = (cx * cx + cy * cy).max(1.0);
    let vignette = rng.range(0.15, 0.3);
    let table = normal_table();
    let col: Vec<f32> = (0..w)
        .map(|u| {
            let dx = u as f32 + 0.5 - cx;
            vignette * dx * dx / r2max
        })
        .collect();
    for (v, row) in img.data.chunks_exact_mut(w * 3).enumerate().take(h) {
        let dy = v as f32 + 0.5 - cy;
        let rv = vignette * dy * dy / r2max;
        for (px, cu) in row.chunks_exact_mut(3).zip(&col) {
            let g = gain * (1.0 - rv - cu);
            let bits = rng.next_u64();
            for ch in 0..3 {
                let x = px[ch] as f32 * g * wb[ch];
                let sigma = 1.5 + 0.012 * x;
                let nz = normal_from_bits(table, bits >> (12 * ch));
                px[ch] = (x + sigma * nz + 0.5).clamp(0.0, 255.0) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_table_is_a_standard_normal() {
        let t = normal_table();
        assert_eq!(t.len(), NORMAL_TABLE_LEN);
        assert!(t.windows(2).all(|w| w[0] < w[1]), "increasing");
        let mean: f32 = t.iter().sum::<f32>() / t.len() as f32;
        let var: f32 = t.iter().map(|v| v * v).sum::<f32>() / t.len() as f32;
        assert!(
            mean.abs() < 1e-4 && (var - 1.0).abs() < 0.01,
            "mean {mean} var {var}"
        );
        assert!((t[NORMAL_TABLE_LEN - 1] - 3.67).abs() < 0.02);
        // the 84.1 % quantile is one sigma
        assert!((t[(0.8413 * NORMAL_TABLE_LEN as f32) as usize] - 1.0).abs() < 0.01);
    }
}
