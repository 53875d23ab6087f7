//! Soft-binning helpers shared by the descriptor blocks.
//!
//! Every helper clamps its coordinate into the histogram and writes through
//! `get_mut`, so no input (NaN included) can index out of bounds: a non-finite
//! coordinate adds nothing. Coordinates are in *bin units*: bin `k` is centred at
//! coordinate `k`, so a histogram of `n` bins covers `[0, n - 1]` (clamped ends),
//! or `[0, n)` with wrap-around for circular quantities such as hue.

/// Adds `weight` to the two bins around `x` (triangle kernel, linear interpolation);
/// `x` is clamped to `[0, n - 1]`.
pub(crate) fn add_linear(hist: &mut [f32], x: f32, weight: f32) {
    let n = hist.len();
    if n == 0 || !x.is_finite() || !weight.is_finite() {
        return;
    }
    let x = x.clamp(0.0, (n - 1) as f32);
    // x ≥ 0, so truncation is the floor (and avoids a libm call).
    let i = x as usize;
    let f = x - i as f32;
    if let Some(h) = hist.get_mut(i) {
        *h += weight * (1.0 - f);
    }
    if f > 0.0
        && let Some(h) = hist.get_mut(i + 1)
    {
        *h += weight * f;
    }
}

/// Log-spaced bins from `lo` to `hi` (bin centres), with the constants of the
/// mapping precomputed for hot loops.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogBins {
    inv_lo_sq: f32,
    half_scale: f32,
    max: f32,
}

impl LogBins {
    /// `n` bins with first centre `lo` and last centre `hi` (`0 < lo < hi`).
    pub(crate) fn new(lo: f32, hi: f32, n: usize) -> LogBins {
        let span = fast_ln(hi / lo);
        let max = n.saturating_sub(1) as f32;
        let scale = if span > 0.0 { max / span } else { 0.0 };
        LogBins {
            inv_lo_sq: 1.0 / (lo * lo),
            half_scale: 0.5 * scale,
            max,
        }
    }

    /// Bin coordinate of the value whose *square* is `value_sq` (saves a square
    /// root for distances); clamped to `[0, n - 1]`.
    pub(crate) fn coord_of_squared(&self, value_sq: f32) -> f32 {
        let r = value_sq * self.inv_lo_sq;
        if r <= 1.0 {
            return 0.0;
        }
        (fast_ln(r) * self.half_scale).min(self.max)
    }
}

/// Adds `weight` to the two bins around `x` on a circle of `n` bins (`x` taken
/// modulo `n`).
pub(crate) fn add_circular(hist: &mut [f32], x: f32, weight: f32) {
    let n = hist.len();
    if n == 0 || !x.is_finite() || !weight.is_finite() {
        return;
    }
    let x = x.rem_euclid(n as f32);
    let i = (x.floor() as usize).min(n - 1);
    let f = (x - i as f32).clamp(0.0, 1.0);
    if let Some(h) = hist.get_mut(i) {
        *h += weight * (1.0 - f);
    }
    if let Some(h) = hist.get_mut((i + 1) % n) {
        *h += weight * f;
    }
}

/// Adds a Gaussian bump of standard deviation `sigma` bins centred at `x`
/// (clamped to `[0, n - 1]`), truncated at 3 σ and scaled so that it sums to
/// `weight` over the histogram.
pub(crate) fn add_gaussian(hist: &mut [f32], x: f32, sigma: f32, weight: f32) {
    let n = hist.len();
    if n == 0 || !x.is_finite() || !weight.is_finite() {
        return;
    }
    if !(sigma.is_finite() && sigma > 1e-3) {
        add_linear(hist, x, weight);
        return;
    }
    let x = x.clamp(0.0, (n - 1) as f32);
    let inv = 1.0 / (2.0 * sigma * sigma);
    let mut total = 0.0f32;
    let mut bumps = [0.0f32; 64];
    let lo = (x - 3.0 * sigma).floor().max(0.0) as usize;
    let hi = ((x + 3.0 * sigma).ceil() as usize).min(n - 1);
    for (slot, k) in bumps.iter_mut().zip(lo..=hi) {
        let d = k as f32 - x;
        *slot = (-d * d * inv).exp();
        total += *slot;
    }
    if total <= 0.0 {
        return;
    }
    for (slot, k) in bumps.iter().zip(lo..=hi) {
        if let Some(h) = hist.get_mut(k) {
            *h += weight * slot / total;
        }
    }
}

/// Adds a wrapped Gaussian bump of standard deviation `sigma` bins centred at `x`
/// on a circle of `n` bins (truncated at 3 σ, at most half the circle each side),
/// scaled so that it sums to `weight`.
pub(crate) fn add_gaussian_circular(hist: &mut [f32], x: f32, sigma: f32, weight: f32) {
    let n = hist.len();
    if n == 0 || !x.is_finite() || !weight.is_finite() {
        return;
    }
    if !(sigma.is_finite() && sigma > 1e-3) {
        add_circular(hist, x, weight);
        return;
    }
    let x = x.rem_euclid(n as f32);
    let inv = 1.0 / (2.0 * sigma * sigma);
    let reach = ((3.0 * sigma).ceil() as usize).min(n / 2).min(31);
    let centre = x.round() as i64;
    let mut bumps = [(0usize, 0.0f32); 64];
    let mut total = 0.0f32;
    let mut used = 0;
    for (slot, off) in bumps.iter_mut().zip(-(reach as i64)..=reach as i64) {
        let k = centre + off;
        let d = k as f32 - x;
        let w = (-d * d * inv).exp();
        *slot = (k.rem_euclid(n as i64) as usize, w);
        total += w;
        used += 1;
    }
    if total <= 0.0 {
        return;
    }
    for &(k, w) in bumps.iter().take(used) {
        if let Some(h) = hist.get_mut(k) {
            *h += weight * w / total;
        }
    }
}

/// Coordinate of `value` on `n` log-spaced bins from `lo` to `hi` (both > 0).
/// Values at or below `lo` map to 0, at or above `hi` to `n - 1`.
pub(crate) fn log_coord(value: f32, lo: f32, hi: f32, n: usize) -> f32 {
    let v = value.max(lo);
    let span = fast_ln(hi / lo);
    if span.is_nan() || span <= 0.0 || n < 2 {
        return 0.0;
    }
    (fast_ln(v / lo) / span * (n - 1) as f32).clamp(0.0, (n - 1) as f32)
}

/// Natural logarithm for `x ≥ 1` (finite), absolute error below 1e-5: exponent bits
/// plus an odd series of `atanh` on the mantissa. Portable and branch-light, about
/// 4× faster than `f32::ln`. Returns 0 for `x < 1` or non-finite `x`.
pub(crate) fn fast_ln(x: f32) -> f32 {
    if !(x.is_finite() && x >= 1.0) {
        return 0.0;
    }
    let bits = x.to_bits();
    let exponent = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    // m ∈ [1, 2): ln m = 2 atanh(t), t = (m − 1)/(m + 1) ∈ [0, 1/3).
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let series =
        t * (2.0 + t2 * (2.0 / 3.0 + t2 * (2.0 / 5.0 + t2 * (2.0 / 7.0 + t2 * (2.0 / 9.0)))));
    exponent as f32 * std::f32::consts::LN_2 + series
}

/// Coordinate of `value ∈ [0, 1]` on `n` evenly spaced bins (clamped).
pub(crate) fn unit_coord(value: f32, n: usize) -> f32 {
    if n < 2 {
        return 0.0;
    }
    (value.clamp(0.0, 1.0)) * (n - 1) as f32
}

/// Turns a histogram of non-negative masses into its Hellinger embedding: divided
/// by its sum, then square-rooted, so the result has unit L2 norm and the dot
/// product of two embeddings is the Bhattacharyya coefficient of the distributions.
/// An empty (zero-mass) histogram is left all-zero; returns whether it had mass.
pub(crate) fn hellinger(hist: &mut [f32]) -> bool {
    let sum: f32 = hist.iter().map(|h| h.max(0.0)).sum();
    if !(sum.is_finite() && sum > 0.0) {
        hist.iter_mut().for_each(|h| *h = 0.0);
        return false;
    }
    for h in hist.iter_mut() {
        *h = (h.max(0.0) / sum).sqrt();
    }
    true
}

/// Scales `v` to unit L2 norm; an all-zero or non-finite vector becomes all-zero.
/// Returns whether the result is a unit vector.
pub(crate) fn l2_normalise(v: &mut [f32]) -> bool {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if !(norm.is_finite() && norm > 0.0) {
        v.iter_mut().for_each(|x| *x = 0.0);
        return false;
    }
    v.iter_mut().for_each(|x| *x /= norm);
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_and_circular_split_mass_and_never_overflow() {
        let mut h = vec![0.0; 4];
        add_linear(&mut h, 1.25, 1.0);
        assert_eq!(h, vec![0.0, 0.75, 0.25, 0.0]);
        add_linear(&mut h, 99.0, 1.0);
        add_linear(&mut h, -5.0, 1.0);
        add_linear(&mut h, f32::NAN, 1.0);
        assert!((h.iter().sum::<f32>() - 3.0).abs() < 1e-6);
        assert_eq!(h[3], 1.0);
        let mut g = vec![0.0; 6];
        add_gaussian_circular(&mut g, 5.6, 0.7, 1.0);
        assert!((g.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(g[0] > g[1] && g[5] > g[4] && g[0] > g[4]);
        let mut c = vec![0.0; 4];
        add_circular(&mut c, 3.5, 1.0);
        assert_eq!(c, vec![0.5, 0.0, 0.0, 0.5]);
        add_circular(&mut c, -0.5, 1.0);
        assert_eq!(c, vec![1.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn fast_ln_matches_std() {
        let mut x = 1.0f32;
        while x < 1e6 {
            assert!((fast_ln(x) - x.ln()).abs() < 1e-5, "{x}");
            x *= 1.037;
        }
        assert_eq!(fast_ln(0.5), 0.0);
        assert_eq!(fast_ln(f32::NAN), 0.0);
    }

    #[test]
    fn gaussian_sums_to_weight_and_hellinger_is_unit() {
        let mut h = vec![0.0; 10];
        add_gaussian(&mut h, 4.3, 0.8, 2.0);
        assert!((h.iter().sum::<f32>() - 2.0).abs() < 1e-5);
        assert!(h[4] > h[2] && h[4] > h[7]);
        assert!(hellinger(&mut h));
        assert!((h.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
        let mut z = vec![0.0; 3];
        assert!(!hellinger(&mut z));
        assert!(!l2_normalise(&mut z));
        assert_eq!(log_coord(0.001, 0.01, 1.0, 3), 0.0);
        assert!((log_coord(0.1, 0.01, 1.0, 3) - 1.0).abs() < 1e-5);
        assert_eq!(log_coord(50.0, 0.01, 1.0, 3), 2.0);
        let bins = LogBins::new(0.01, 1.0, 3);
        for v in [0.005f32, 0.01, 0.03, 0.1, 0.5, 1.0, 7.0] {
            assert!((bins.coord_of_squared(v * v) - log_coord(v, 0.01, 1.0, 3)).abs() < 1e-4);
        }
    }
}
