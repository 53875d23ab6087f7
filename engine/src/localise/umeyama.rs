//! Closed-form least-squares rigid registration (Kabsch / Umeyama without scale).
//!
//! Given corresponding points `src[i]` (frame `b`) and `dst[i]` (frame `a`), finds
//! the rotation and translation `T_a_b` minimising `Σ wᵢ |T_a_b·srcᵢ − dstᵢ|²`.
//!
//! Guarantees:
//! - Exact (to f32 rounding of the result) for noise-free correspondences: all
//!   sums and the 3×3 SVD run in `f64`.
//! - The result is a proper rotation (`det R = +1`): a reflection that would fit
//!   mirrored data better is corrected, as in Umeyama (1991).
//! - Coincident or collinear points (fewer than three usable points, or a
//!   cross-covariance of rank < 2) give [`RegistrationError::Degenerate`] or
//!   [`RegistrationError::TooFewPoints`], never an arbitrary rotation.
//!
//! Units are whatever the inputs use (metres throughout crossloc).

use nalgebra::{Matrix3, Point3, Rotation3, Translation3, UnitQuaternion, Vector3};

use super::error::RegistrationError;
use crate::frame::Pose;

/// Smallest ratio `σ₂/σ₁` of the cross-covariance's singular values accepted as
/// non-collinear. The singular values scale with squared extents, so this is an
/// off-axis extent of about `3·10⁻⁵` of the points' span.
const COLLINEAR_RATIO: f64 = 1e-9;

/// Least-squares rigid transform `T_dst_src` mapping `src` onto `dst`.
///
/// `weights` (one per pair, non-negative, not all zero) scale each pair's
/// squared residual; `None` weighs all pairs equally. Pairs with weight 0 are
/// ignored; at least three pairs with positive weight are needed.
///
/// # Errors
/// [`RegistrationError::LengthMismatch`], [`RegistrationError::NonFinite`],
/// [`RegistrationError::InvalidWeights`], [`RegistrationError::TooFewPoints`] and
/// [`RegistrationError::Degenerate`] (coincident or collinear points).
///
/// # Example
/// ```
/// use crossloc::localise::rigid_from_correspondences;
/// use crossloc::Pose;
/// use nalgebra::{Point3, Vector3};
///
/// let T_a_b = Pose::new(Vector3::new(1.0, 2.0, 3.0), Vector3::new(0.1, -0.4, 0.7));
/// let src = [
///     Point3::new(0.0, 0.0, 0.0),
///     Point3::new(1.0, 0.0, 0.0),
///     Point3::new(0.0, 2.0, 0.0),
///     Point3::new(0.0, 0.0, 3.0),
/// ];
/// let dst: Vec<_> = src.iter().map(|p| T_a_b * p).collect();
/// let est = rigid_from_correspondences(&src, &dst, None).unwrap();
/// assert!((est.translation.vector - T_a_b.translation.vector).norm() < 1e-5);
/// assert!(est.rotation.angle_to(&T_a_b.rotation) < 1e-5);
/// ```
pub fn rigid_from_correspondences(
    src: &[Point3<f32>],
    dst: &[Point3<f32>],
    weights: Option<&[f32]>,
) -> Result<Pose, RegistrationError> {
    if src.len() != dst.len() {
        return Err(RegistrationError::LengthMismatch {
            what: "source and destination points",
            left: src.len(),
            right: dst.len(),
        });
    }
    if let Some(w) = weights
        && w.len() != src.len()
    {
        return Err(RegistrationError::LengthMismatch {
            what: "points and weights",
            left: src.len(),
            right: w.len(),
        });
    }
    for (index, (s, d)) in src.iter().zip(dst).enumerate() {
        if !s.coords.iter().all(|v| v.is_finite()) {
            return Err(RegistrationError::NonFinite {
                what: "source point",
                index,
            });
        }
        if !d.coords.iter().all(|v| v.is_finite()) {
            return Err(RegistrationError::NonFinite {
                what: "destination point",
                index,
            });
        }
    }
    if let Some(w) = weights {
        for (index, &wi) in w.iter().enumerate() {
            if !wi.is_finite() {
                return Err(RegistrationError::NonFinite {
                    what: "weight",
                    index,
                });
            }
            if wi < 0.0 {
                return Err(RegistrationError::InvalidWeights {
                    message: format!("weight {index} is negative ({wi})"),
                });
            }
        }
    }
    let weight_of = |i: usize| -> f64 { weights.and_then(|w| w.get(i)).map_or(1.0, |&w| w as f64) };
    fit_weighted(
        src.iter()
            .zip(dst)
            .enumerate()
            .map(|(i, (s, d))| (to_f64(s), to_f64(d), weight_of(i))),
    )
}

/// Converts an f32 point to an f64 vector.
pub(crate) fn to_f64(p: &Point3<f32>) -> Vector3<f64> {
    Vector3::new(p.x as f64, p.y as f64, p.z as f64)
}

/// The weighted Kabsch/Umeyama fit on already validated, finite `(src, dst,
/// weight)` triples with non-negative weights. Zero-weight pairs are ignored.
pub(crate) fn fit_weighted<I>(pairs: I) -> Result<Pose, RegistrationError>
where
    I: Iterator<Item = (Vector3<f64>, Vector3<f64>, f64)> + Clone,
{
    let mut total = 0.0f64;
    let mut used = 0usize;
    let mut c_src = Vector3::zeros();
    let mut c_dst = Vector3::zeros();
    for (s, d, w) in pairs.clone() {
        if w > 0.0 {
            total += w;
            used += 1;
            c_src += s * w;
            c_dst += d * w;
        }
    }
    if used < 3 {
        return Err(RegistrationError::TooFewPoints {
            what: "correspondences with positive weight",
            found: used,
            needed: 3,
        });
    }
    if !(total > 0.0 && total.is_finite()) {
        return Err(RegistrationError::InvalidWeights {
            message: format!("weights sum to {total}"),
        });
    }
    c_src /= total;
    c_dst /= total;

    // Cross-covariance H = Σ w (d − c_d)(s − c_s)ᵀ and the source spread.
    let mut h = Matrix3::<f64>::zeros();
    let mut spread = 0.0f64;
    for (s, d, w) in pairs {
        if w > 0.0 {
            let ds = s - c_src;
            let dd = d - c_dst;
            h += (dd * ds.transpose()) * w;
            spread += w * ds.norm_squared();
        }
    }
    h /= total;
    spread /= total;
    let scale = 1.0 + c_src.norm_squared();
    if spread <= 1e-14 * scale {
        return Err(RegistrationError::Degenerate {
            message: format!("source points coincide (mean squared spread {spread:.3e} m²)"),
        });
    }

    let svd = h.try_svd(true, true, f64::EPSILON, 10_000).ok_or_else(|| {
        RegistrationError::Numerical {
            message: "3x3 SVD did not converge".into(),
        }
    })?;
    let (Some(u), Some(v_t)) = (svd.u, svd.v_t) else {
        return Err(RegistrationError::Numerical {
            message: "3x3 SVD returned no singular vectors".into(),
        });
    };
    let sv = svd.singular_values;
    let (s1, s2) = (sv[0], sv[1]);
    if s1.is_nan() || s1 <= 0.0 || s2 <= COLLINEAR_RATIO * s1 {
        return Err(RegistrationError::Degenerate {
            message: format!(
                "points are collinear (cross-covariance singular values {s1:.3e}, {s2:.3e})"
            ),
        });
    }
    // Reflection correction: flip the axis of the smallest singular value.
    let d = if (u * v_t).determinant() < 0.0 {
        -1.0
    } else {
        1.0
    };
    let correction = Matrix3::from_diagonal(&Vector3::new(1.0, 1.0, d));
    let r = u * correction * v_t;
    let t = c_dst - r * c_src;
    Ok(pose_from_f64(&r, &t))
}

/// A pose from an f64 rotation matrix (assumed orthonormal) and translation.
pub(crate) fn pose_from_f64(r: &Matrix3<f64>, t: &Vector3<f64>) -> Pose {
    let q = UnitQuaternion::from_rotation_matrix(&Rotation3::from_matrix_unchecked(*r));
    let q32 = UnitQuaternion::new_normalize(q.into_inner().cast::<f32>());
    Pose::from_parts(Translation3::from(t.cast::<f32>()), q32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    fn random_rotation(rng: &mut Rng) -> UnitQuaternion<f32> {
        let q = nalgebra::Quaternion::new(rng.normal(), rng.normal(), rng.normal(), rng.normal());
        UnitQuaternion::new_normalize(q)
    }

    fn random_points(rng: &mut Rng, n: usize) -> Vec<Point3<f32>> {
        (0..n)
            .map(|_| {
                Point3::new(
                    rng.range(-3.0, 3.0),
                    rng.range(-3.0, 3.0),
                    rng.range(-1.0, 2.0),
                )
            })
            .collect()
    }

    fn assert_close(a: &Pose, b: &Pose, t_tol: f32, r_tol: f32) {
        let dt = (a.translation.vector - b.translation.vector).norm();
        let dr = a.rotation.angle_to(&b.rotation);
        assert!(dt < t_tol && dr < r_tol, "dt {dt} dr {dr}");
    }

    #[test]
    fn recovers_random_transforms_exactly() {
        let mut rng = Rng::new(11);
        for _ in 0..200 {
            let T = Pose::from_parts(
                Translation3::new(
                    rng.range(-10.0, 10.0),
                    rng.range(-10.0, 10.0),
                    rng.range(-3.0, 3.0),
                ),
                random_rotation(&mut rng),
            );
            let n = 3 + rng.below(20);
            let src = random_points(&mut rng, n);
            let dst: Vec<_> = src.iter().map(|p| T * p).collect();
            let est = rigid_from_correspondences(&src, &dst, None).unwrap();
            assert_close(&est, &T, 2e-5, 2e-5);
        }
    }

    #[test]
    fn recovers_half_turns_about_every_axis() {
        let mut rng = Rng::new(3);
        let src = random_points(&mut rng, 6);
        let axes = [
            Vector3::x_axis(),
            Vector3::y_axis(),
            Vector3::z_axis(),
            nalgebra::Unit::new_normalize(Vector3::new(1.0, 1.0, 1.0)),
            nalgebra::Unit::new_normalize(Vector3::new(-0.3, 0.2, 0.9)),
        ];
        for axis in axes {
            let T = Pose::from_parts(
                Translation3::new(0.5, -2.0, 1.0),
                UnitQuaternion::from_axis_angle(&axis, std::f32::consts::PI),
            );
            let dst: Vec<_> = src.iter().map(|p| T * p).collect();
            let est = rigid_from_correspondences(&src, &dst, None).unwrap();
            assert_close(&est, &T, 1e-5, 1e-5);
            for (s, d) in src.iter().zip(&dst) {
                assert!((est * s - d).norm() < 1e-5);
            }
        }
    }

    #[test]
    fn minimal_three_points_give_a_proper_rotation() {
        // Three points: the fit is exact and must not be a reflection.
        let src = [
            Point3::new(0.0, 0.0, 0.0),
            Point3::new(2.0, 0.0, 0.0),
            Point3::new(0.0, 1.0, 0.0),
        ];
        let T = Pose::new(Vector3::new(1.0, 1.0, 1.0), Vector3::new(0.0, 2.5, 0.5));
        let dst: Vec<_> = src.iter().map(|p| T * p).collect();
        let est = rigid_from_correspondences(&src, &dst, None).unwrap();
        assert!((est.rotation.to_rotation_matrix().matrix().determinant() - 1.0).abs() < 1e-5);
        assert_close(&est, &T, 1e-5, 1e-5);
    }

    #[test]
    fn mirrored_data_still_gives_a_rotation() {
        let mut rng = Rng::new(5);
        let src = random_points(&mut rng, 10);
        let dst: Vec<_> = src.iter().map(|p| Point3::new(p.x, p.y, -p.z)).collect();
        let est = rigid_from_correspondences(&src, &dst, None).unwrap();
        let det = est.rotation.to_rotation_matrix().matrix().determinant();
        assert!((det - 1.0).abs() < 1e-5, "det {det}");
    }

    #[test]
    fn noisy_fit_is_close_and_weights_suppress_an_outlier() {
        let mut rng = Rng::new(9);
        let T = Pose::new(Vector3::new(0.3, -1.2, 0.4), Vector3::new(0.2, 0.1, -1.3));
        let src = random_points(&mut rng, 200);
        let mut dst: Vec<_> = src
            .iter()
            .map(|p| T * p + Vector3::new(rng.normal(), rng.normal(), rng.normal()) * 0.01)
            .collect();
        let est = rigid_from_correspondences(&src, &dst, None).unwrap();
        assert_close(&est, &T, 5e-3, 3e-3);

        // A gross outlier biases the unweighted fit; weight 0 removes it exactly.
        dst[0] += Vector3::new(30.0, 0.0, 0.0);
        let biased = rigid_from_correspondences(&src, &dst, None).unwrap();
        assert!((biased.translation.vector - T.translation.vector).norm() > 0.05);
        let mut w = vec![1.0; src.len()];
        w[0] = 0.0;
        let est = rigid_from_correspondences(&src, &dst, Some(&w)).unwrap();
        assert_close(&est, &T, 5e-3, 3e-3);
    }

    #[test]
    fn weights_equal_duplicated_points() {
        let mut rng = Rng::new(21);
        let src = random_points(&mut rng, 8);
        let dst: Vec<_> = src
            .iter()
            .map(|p| p + Vector3::new(rng.normal(), rng.normal(), rng.normal()) * 0.2)
            .collect();
        let w: Vec<f32> = (0..8).map(|i| 1.0 + (i % 3) as f32).collect();
        let weighted = rigid_from_correspondences(&src, &dst, Some(&w)).unwrap();
        let (mut s2, mut d2) = (Vec::new(), Vec::new());
        for i in 0..8 {
            for _ in 0..(1 + i % 3) {
                s2.push(src[i]);
                d2.push(dst[i]);
            }
        }
        let duplicated = rigid_from_correspondences(&s2, &d2, None).unwrap();
        assert_close(&weighted, &duplicated, 1e-5, 1e-5);
    }

    #[test]
    fn degenerate_inputs_are_typed_errors() {
        let p = |x: f32, y: f32, z: f32| Point3::new(x, y, z);
        let two = [p(0.0, 0.0, 0.0), p(1.0, 0.0, 0.0)];
        assert!(matches!(
            rigid_from_correspondences(&two, &two, None),
            Err(RegistrationError::TooFewPoints { found: 2, .. })
        ));
        let line = [
            p(0.0, 0.0, 0.0),
            p(1.0, 1.0, 1.0),
            p(2.0, 2.0, 2.0),
            p(-3.0, -3.0, -3.0),
        ];
        assert!(matches!(
            rigid_from_correspondences(&line, &line, None),
            Err(RegistrationError::Degenerate { .. })
        ));
        let same = [p(1.0, 2.0, 3.0); 5];
        assert!(matches!(
            rigid_from_correspondences(&same, &same, None),
            Err(RegistrationError::Degenerate { .. })
        ));
        let tri = [p(0.0, 0.0, 0.0), p(1.0, 0.0, 0.0), p(0.0, 1.0, 0.0)];
        assert!(matches!(
            rigid_from_correspondences(&tri, &two, None),
            Err(RegistrationError::LengthMismatch { .. })
        ));
        let bad = [p(0.0, 0.0, 0.0), p(f32::NAN, 0.0, 0.0), p(0.0, 1.0, 0.0)];
        assert!(matches!(
            rigid_from_correspondences(&bad, &tri, None),
            Err(RegistrationError::NonFinite { index: 1, .. })
        ));
        assert!(matches!(
            rigid_from_correspondences(&tri, &tri, Some(&[1.0, -1.0, 1.0])),
            Err(RegistrationError::InvalidWeights { .. })
        ));
        // Only two pairs carry weight.
        assert!(matches!(
            rigid_from_correspondences(&tri, &tri, Some(&[1.0, 0.0, 1.0])),
            Err(RegistrationError::TooFewPoints { found: 2, .. })
        ));
    }
}
