//! Kinect-like sensor noise for rendered frames.
//!
//! Depth (applied to exact rendered depth, metres along the optical axis):
//! - axial Gaussian noise with sigma [`axial_sigma`]`(z) = 0.0012 + 0.0019 (z − 0.4)²`
//!   (Nguyen et al. 2012), drawn from a 4-term Irwin–Hall approximation, so a
//!   single sample never exceeds 3.47 sigma;
//! - disparity quantisation to 1/8 pixel of a structured-light sensor with focal
//!   length [`SENSOR_FOCAL_PX`] and baseline [`BASELINE_M`] (independent of the
//!   rendered resolution): the step is `z² / (8 · 43.5)` metres;
//! - dropouts (value 0): at depth discontinuities, in the projector's shadow left
//!   of foreground edges, on shiny and on dark surfaces (blob-shaped holes), at
//!   grazing angles (beyond ~70°), and a few at random;
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

/// A cheap approximately standard-normal sample (sum of four uniforms, scaled to
/// unit variance; bounded by ±3.47).
pub fn fast_normal(rng: &mut Rng) -> f32 {
    let x = rng.next_u64();
    let s = (x & 0xFFFF) + ((x >> 16) & 0xFFFF) + ((x >> 32) & 0xFFFF) + (x >> 48);
    (s as f32 / 65536.0 - 2.0) * 1.732_050_8
}

/// Applies the depth noise model in place. `cos` is the cosine between surface
/// normal and viewing ray per pixel, `flags` the [`flags`] bits; both have one
/// entry per pixel.
pub fn apply_depth_noise(z: &mut [f32], cos: &[f32], surface: &[u8], k: &CameraIntrinsics, rng: &mut Rng) {
    let (w, h) = (k.width as usize, k.height as usize);
    if z.len() != w * h || cos.len() != z.len() || surface.len() != z.len() {
        log::warn!("depth noise: buffer sizes do not match the intrinsics; noise not applied");
        return;
    }
    let truth = z.to_vec();
    let jump = |a: f32, b: f32| (a - b).abs() > 0.04 * a.min(b).max(0.3) || (a > 0.0) != (b > 0.0);
    let mut drop = vec![false; z.len()];
    // discontinuities and the projector shadow
    let shadow_scale = k.fx * BASELINE_M;
    for v in 0..h {
        let row = v * w;
        for u in 0..w {
            let i = row + u;
            let zi = truth[i];
            if zi <= 0.0 {
                continue;
            }
            let mut edge = false;
            if u + 1 < w && jump(zi, truth[i + 1]) {
                edge = true;
            }
            if u > 0 && jump(zi, truth[i - 1]) {
                edge = true;
            }
            if v + 1 < h && jump(zi, truth[i + w]) {
                edge = true;
            }
            if v > 0 && jump(zi, truth[i - w]) {
                edge = true;
            }
            if edge && rng.chance(0.55) {
                drop[i] = true;
            }
            // far pixel at u with a nearer surface at u + 1: shadow to the left
            if u + 1 < w {
                let near = truth[i + 1];
                if near > 0.0 && zi > near && jump(zi, near) {
                    let width = (shadow_scale * (1.0 / near - 1.0 / zi)).clamp(0.0, 40.0) as usize;
                    for s in 0..width.min(u + 1) {
                        let j = i - s;
                        if truth[j] > near + 0.02 {
                            drop[j] = true;
                        }
                    }
                }
            }
        }
    }
    let (ox, oy) = (rng.range(0.0, 1000.0), rng.range(0.0, 1000.0));
    let blob_seed = rng.next_u64() as u32;
    let blob_scale = 6.0 * (k.width as f32 / 640.0).max(0.1);
    let fb = SENSOR_FOCAL_PX * BASELINE_M;
    for i in 0..z.len() {
        let zt = truth[i];
        if zt <= 0.0 {
            z[i] = 0.0;
            continue;
        }
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
        if c < 0.17 || (c < 0.34 && rng.chance((0.34 - c) / 0.17)) {
            invalid = true;
        }
        if rng.chance(0.002) {
            invalid = true;
        }
        if invalid {
            z[i] = 0.0;
            continue;
        }
        let noisy = zt + axial_sigma(zt) * fast_normal(rng);
        let disparity = fb / noisy.max(1e-3);
        let q = ((disparity / DISPARITY_STEP_PX + 0.5) as i64) as f32 * DISPARITY_STEP_PX;
        let zq = if q > 0.0 { fb / q } else { 0.0 };
        z[i] = if (MIN_RANGE_M..=MAX_RANGE_M).contains(&zq) { zq } else { 0.0 };
    }
}

/// Applies exposure, white balance, vignetting and per-pixel noise in place.
pub fn apply_color_noise(img: &mut RgbImage, rng: &mut Rng) {
    let gain = (0.1 * fast_normal(rng)).exp().clamp(0.7, 1.4);
    let wb = [1.0 + 0.03 * fast_normal(rng), 1.0, 1.0 + 0.03 * fast_normal(rng)];
    let (w, h) = (img.width as usize, img.height as usize);
    let (cx, cy) = (0.5 * w as f32, 0.5 * h as f32);
    let r2max = (cx * cx + cy * cy).max(1.0);
    let vignette = rng.range(0.15, 0.3);
    for v in 0..h {
        for u in 0..w {
            let (dx, dy) = (u as f32 + 0.5 - cx, v as f32 + 0.5 - cy);
            let g = gain * (1.0 - vignette * (dx * dx + dy * dy) / r2max);
            let i = (v * w + u) * 3;
            let Some(px) = img.data.get_mut(i..i + 3) else { continue };
            for ch in 0..3 {
                let x = px[ch] as f32 * g * wb[ch];
                let sigma = 1.5 + 0.012 * x;
                px[ch] = (x + sigma * fast_normal(rng) + 0.5).clamp(0.0, 255.0) as u8;
            }
        }
    }
}
