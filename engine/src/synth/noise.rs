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
fn normal_table() -> &'static [f32; NORMAL_TABLE_LEN] {
    static TABLE: std::sync::OnceLock<[f32; NORMAL_TABLE_LEN]> = std::sync::OnceLock::new();
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
        let mut table = [0.0f32; NORMAL_TABLE_LEN];
        table.copy_from_slice(&out);
        table
    })
}

/// A standard-normal sample from 12 random bits (quantile table lookup).
#[inline(always)]
fn normal_from_bits(table: &[f32; NORMAL_TABLE_LEN], bits: u64) -> f32 {
    table[(bits as usize) & (NORMAL_TABLE_LEN - 1)]
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

/// Reusable per-frame scratch buffers of [`apply_depth_noise`].
#[derive(Debug, Default)]
pub struct DepthNoiseBuffers {
    inv: Vec<f32>,
    mask: Vec<u8>,
    zeros: Vec<f32>,
    candidates: Vec<u8>,
}

/// Mask bit: the pixel borders a depth discontinuity.
const EDGE: u8 = 1;
/// Mask bit: the pixel lies in the projector's shadow.
const SHADOW: u8 = 2;
/// A discontinuity pixel drops out when 12 random bits fall below this (55 %).
const EDGE_DROP_12: u64 = 2253;

/// `SENSOR_FOCAL_PX · BASELINE_M / DISPARITY_STEP_PX`: depth × disparity in steps.
const FB_STEPS: f32 = SENSOR_FOCAL_PX * BASELINE_M / DISPARITY_STEP_PX;

/// Quantised disparities (in steps) up to this have a table entry; beyond it the
/// depth is below [`MIN_RANGE_M`].
const DISPARITY_TABLE_LEN: usize = 2048;

/// Depth of each quantised disparity `n` (in steps), 0 outside the valid range.
const DISPARITY_DEPTH: [f32; DISPARITY_TABLE_LEN] = {
    let fb = SENSOR_FOCAL_PX * BASELINE_M;
    let mut t = [0.0f32; DISPARITY_TABLE_LEN];
    let mut n = 1;
    while n < DISPARITY_TABLE_LEN {
        let z = fb / (n as f32 * DISPARITY_STEP_PX);
        if z >= MIN_RANGE_M && z <= MAX_RANGE_M {
            t[n] = z;
        }
        n += 1;
    }
    t
};

/// `x` rounded to the nearest integer (ties to even), for `0 <= x < 2^22`,
/// without a saturating float-to-integer conversion: adding 1.5 · 2^23 leaves the
/// integer in the low mantissa bits.
#[inline(always)]
fn round_small(x: f32) -> usize {
    const MAGIC: f32 = 12_582_912.0;
    ((x + MAGIC).to_bits().wrapping_sub(MAGIC.to_bits()) & 0x7F_FFFF) as usize
}

/// True when inverse depth jumps between neighbours `a` and `b`: one of them is
/// invalid (0) and the other not, or the step is large (2 %) and much larger than
/// the step beside it (towards `prev` or `next`, 0 = invalid) on at least one
/// side. Planes seen at grazing angles (large but steady steps) are no
/// discontinuities.
#[inline(always)]
fn is_jump(prev: f32, a: f32, b: f32, next: f32) -> bool {
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
    let before = if prev > 0.0 { (a - prev).abs() } else { 0.0 };
    let after = if next > 0.0 { (next - b).abs() } else { 0.0 };
    step > 3.0 * before.min(after)
}

/// Sets `out[i]` to 1 where the step from `a[i]` to `b[i]` (inverse depths, 0 =
/// invalid) may be a discontinuity, to 0 where [`is_jump`] is certainly false:
/// both invalid, or a step of at most 2 %. Branch-free, so it vectorises.
fn step_candidates(a: &[f32], b: &[f32], out: &mut [u8]) {
    for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
        let larger = if x > y { x } else { y };
        *o = ((y - x).abs() > 0.02 * larger) as u8;
    }
}

/// Calls `f` with the index of every non-zero byte of `flags`, skipping zero
/// runs eight bytes at a time.
fn for_each_set(flags: &[u8], mut f: impl FnMut(usize)) {
    let mut chunks = flags.chunks_exact(8);
    for (c, chunk) in chunks.by_ref().enumerate() {
        let word = u64::from_ne_bytes([
            chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7],
        ]);
        if word != 0 {
            for (j, &b) in chunk.iter().enumerate() {
                if b != 0 {
                    f(c * 8 + j);
                }
            }
        }
    }
    let base = flags.len() - chunks.remainder().len();
    for (j, &b) in chunks.remainder().iter().enumerate() {
        if b != 0 {
            f(base + j);
        }
    }
}

/// Marks discontinuity pixels ([`EDGE`]) and the projector shadow ([`SHADOW`])
/// left of foreground edges. `truth` is the exact depth, `inv` its inverse (0 =
/// invalid), `zeros` a row of zeros, `candidates` scratch space.
fn mark_discontinuities(
    truth: &[f32],
    inv: &[f32],
    zeros: &[f32],
    candidates: &mut Vec<u8>,
    mask: &mut [u8],
    w: usize,
    shadow_scale: f32,
) {
    candidates.clear();
    candidates.resize(w, 0);
    let rows: Vec<&[f32]> = inv.chunks_exact(w).collect();
    for (v, &line) in rows.iter().enumerate() {
        let row = v * w;
        // horizontal pairs (u, u + 1)
        let pairs = w.saturating_sub(1);
        step_candidates(&line[..pairs], &line[1..], &mut candidates[..pairs]);
        for_each_set(&candidates[..pairs], |u| {
            let (a, b) = (line[u], line[u + 1]);
            let prev = if u > 0 { line[u - 1] } else { 0.0 };
            let next = line.get(u + 2).copied().unwrap_or(0.0);
            if !is_jump(prev, a, b, next) {
                return;
            }
            mask[row + u] |= EDGE;
            mask[row + u + 1] |= EDGE;
            // far pixel at u with a nearer surface at u + 1: the projector (to the
            // right of the camera) cannot light a band of the far surface left of
            // the edge
            if a > 0.0 && b > a {
                let near = truth[row + u + 1];
                let width = (shadow_scale * (b - a)).clamp(0.0, 40.0) as usize;
                for j in (row + u + 1 - width.min(u + 1))..=row + u {
                    if truth[j] > near + 0.02 {
                        mask[j] |= SHADOW;
                    }
                }
            }
        });
        // vertical pairs (row v, row v + 1)
        let Some(&below) = rows.get(v + 1) else {
            continue;
        };
        let above = if v > 0 { rows[v - 1] } else { zeros };
        let below2 = rows.get(v + 2).copied().unwrap_or(zeros);
        step_candidates(line, below, candidates);
        for_each_set(candidates, |u| {
            if is_jump(above[u], line[u], below[u], below2[u]) {
                mask[row + u] |= EDGE;
                mask[row + w + u] |= EDGE;
            }
        });
    }
}

/// Applies the depth noise model in place. `cos` is the cosine between surface
/// normal and viewing ray per pixel, `flags` the [`flags`] bits; both have one
/// entry per pixel. `buffers` is scratch space, reusable between frames.
pub fn apply_depth_noise(
    z: &mut [f32],
    cos: &[f32],
    surface: &[u8],
    k: &CameraIntrinsics,
    rng: &mut Rng,
    buffers: &mut DepthNoiseBuffers,
) {
    let (w, h) = (k.width as usize, k.height as usize);
    if w == 0 || z.len() != w * h || cos.len() != z.len() || surface.len() != z.len() {
        log::warn!("depth noise: buffer sizes do not match the intrinsics; noise not applied");
        return;
    }
    // Discontinuities are found in inverse depth, which is linear across the image
    // on a plane.
    let DepthNoiseBuffers {
        inv,
        mask,
        zeros,
        candidates,
    } = buffers;
    inv.clear();
    inv.extend(z.iter().map(|&d| if d > 0.0 { 1.0 / d } else { 0.0 }));
    mask.clear();
    mask.resize(z.len(), 0);
    zeros.clear();
    zeros.resize(w, 0.0);
    mark_discontinuities(z, inv, zeros, candidates, mask, w, k.fx * BASELINE_M);
    let (ox, oy) = (rng.range(0.0, 1000.0), rng.range(0.0, 1000.0));
    let blob_seed = rng.next_u64() as u32;
    let blob_scale = 6.0 * (k.width as f32 / 640.0).max(0.1);
    let table = normal_table();
    for (i, (((zi, &c), &f), &m)) in z
        .iter_mut()
        .zip(cos)
        .zip(surface)
        .zip(mask.iter())
        .enumerate()
    {
        let zt = *zi;
        if zt <= 0.0 || zt.is_nan() {
            *zi = 0.0;
            continue;
        }
        // bits 0..12: discontinuity dropout, 12..28: grazing dropout, 28..44:
        // random dropout, 44..56: axial noise
        let bits = rng.next_u64();
        let mut invalid = m & SHADOW != 0 || (m & EDGE != 0 && bits & 0xFFF < EDGE_DROP_12);
        if !invalid && f & (flags::SHINY | flags::DARK) != 0 {
            let (u, v) = ((i % w) as f32, (i / w) as f32);
            let blob = value_noise2(u / blob_scale + ox, v / blob_scale + oy, blob_seed);
            if (f & flags::SHINY != 0 && blob < 0.7) || (f & flags::DARK != 0 && blob < 0.3) {
                invalid = true;
            }
        }
        if c < 0.1 || (c < 0.26 && unit_from_bits(bits >> 12) < (0.26 - c) / 0.16) {
            invalid = true;
        }
        if unit_from_bits(bits >> 28) < 0.002 {
            invalid = true;
        }
        if invalid {
            *zi = 0.0;
            continue;
        }
        let noisy = zt + axial_sigma(zt) * normal_from_bits(table, bits >> 44);
        // disparity rounded to whole steps (below 2^22: depth at least 1 mm)
        let steps = round_small(FB_STEPS / noisy.max(1e-3));
        *zi = DISPARITY_DEPTH.get(steps).copied().unwrap_or(0.0);
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
    let gain_wb = [gain * wb[0], gain * wb[1], gain * wb[2]];
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
            let g = 1.0 - rv - cu;
            let bits = rng.next_u64();
            for ch in 0..3 {
                let x = px[ch] as f32 * (g * gain_wb[ch]);
                let sigma = 1.5 + 0.012 * x;
                let nz = normal_from_bits(table, bits >> (12 * ch));
                // the saturating cast clamps to 0..=255
                px[ch] = (x + sigma * nz + 0.5) as u8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_bytes_are_all_found_in_order() {
        for len in 0..40 {
            let flags: Vec<u8> = (0..len)
                .map(|i| (i % 7 == 3 || i == len - 1) as u8)
                .collect();
            let mut found = Vec::new();
            for_each_set(&flags, |i| found.push(i));
            let want: Vec<usize> = (0..len).filter(|&i| flags[i] != 0).collect();
            assert_eq!(found, want, "length {len}");
        }
    }

    #[test]
    fn a_step_in_depth_is_an_edge_with_a_shadow_left_of_it() {
        // a far wall (4 m) with a near box (1 m) from column 20 on
        let (w, h) = (40usize, 6usize);
        let truth: Vec<f32> = (0..w * h)
            .map(|i| if i % w >= 20 { 1.0 } else { 4.0 })
            .collect();
        let inv: Vec<f32> = truth.iter().map(|z| 1.0 / z).collect();
        let (mut cand, mut mask) = (Vec::new(), vec![0u8; w * h]);
        mark_discontinuities(&truth, &inv, &vec![0.0; w], &mut cand, &mut mask, w, 10.0);
        for v in 0..h {
            let row = &mask[v * w..(v + 1) * w];
            assert_eq!(row[19] & EDGE, EDGE);
            assert_eq!(row[20] & EDGE, EDGE);
            assert!(
                row.iter()
                    .enumerate()
                    .all(|(u, m)| (m & EDGE != 0) == (u == 19 || u == 20))
            );
            // shadow: 10 · (1 − 0.25) = 7.5, so 7 columns left of the edge
            let shadow: Vec<usize> = (0..w).filter(|&u| row[u] & SHADOW != 0).collect();
            assert_eq!(shadow, (13..20).collect::<Vec<_>>());
        }
    }

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
