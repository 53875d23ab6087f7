//! Descriptor similarity.
//!
//! Descriptors are compared by cosine similarity; for the unit-norm descriptors
//! every [`InstanceEncoder`](super::InstanceEncoder) returns, that is their dot
//! product. The helper never panics and never returns NaN.

/// Cosine similarity of `a` and `b`, in `[-1, 1]`, computed in `f64`.
///
/// Returns `0.0` when the lengths differ, when either vector has zero norm, or when
/// either holds a non-finite value (nothing meaningful can be said then).
///
/// ```
/// use crossloc::encode::cosine;
/// assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
/// assert_eq!(cosine(&[1.0, 0.0], &[0.0, 3.0]), 0.0);
/// assert_eq!(cosine(&[1.0], &[1.0, 0.0]), 0.0);
/// ```
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    let denom = (na * nb).sqrt();
    if !(dot.is_finite() && denom.is_finite() && denom > 0.0) {
        return 0.0;
    }
    (dot / denom).clamp(-1.0, 1.0) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_handles_degenerate_inputs() {
        assert!((cosine(&[1.0, 1.0], &[1.0, 1.0]) - 1.0).abs() < 1e-6);
        assert!((cosine(&[1.0, 0.0], &[-1.0, 0.0]) + 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
        assert_eq!(cosine(&[f32::NAN, 0.0], &[1.0, 0.0]), 0.0);
        assert_eq!(cosine(&[], &[]), 0.0);
    }
}
