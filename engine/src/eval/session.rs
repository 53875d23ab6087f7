//! The simulated headset session: a headset tracks itself in its own session frame,
//! unknown to the engine. Evaluations draw `T_session_map` from a seed (any rotation,
//! translation up to a bound) and feed the engine
//! `T_session_camera = T_session_map · T_map_camera`.

use nalgebra::{Quaternion, Translation3, UnitQuaternion, Vector3};

use crate::frame::Pose;
use crate::rng::Rng;

/// A random rigid transform `T_session_map` drawn from `seed`: a rotation uniform over
/// SO(3) and a translation uniform in the ball of radius `max_translation_m`.
pub fn random_session_transform(seed: u64, max_translation_m: f32) -> Pose {
    let mut rng = Rng::derive(seed, 0x005E_5510);
    // Uniform random unit quaternion (Shoemake).
    let (u1, u2, u3) = (rng.f64(), rng.f64(), rng.f64());
    let tau = std::f64::consts::TAU;
    let (a, b) = ((1.0 - u1).sqrt(), u1.sqrt());
    let q = Quaternion::new(
        (b * (tau * u3).cos()) as f32,
        (a * (tau * u2).sin()) as f32,
        (a * (tau * u2).cos()) as f32,
        (b * (tau * u3).sin()) as f32,
    );
    let rotation = UnitQuaternion::from_quaternion(q);
    let t = loop {
        let v = Vector3::new(
            rng.range(-1.0, 1.0),
            rng.range(-1.0, 1.0),
            rng.range(-1.0, 1.0),
        );
        if v.norm_squared() <= 1.0 {
            break v * max_translation_m;
        }
    };
    Pose::from_parts(Translation3::from(t), rotation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_bounded_and_seed_dependent() {
        let a = random_session_transform(3, 10.0);
        let b = random_session_transform(3, 10.0);
        let c = random_session_transform(4, 10.0);
        assert_eq!(a, b);
        assert_ne!(a, c);
        for s in 0..200 {
            let t = random_session_transform(s, 10.0);
            assert!(t.translation.vector.norm() <= 10.0 + 1e-4);
            assert!((t.rotation.norm() - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn rotations_cover_large_angles() {
        let big = (0..200)
            .filter(|&s| random_session_transform(s, 1.0).rotation.angle() > 2.0)
            .count();
        // For a uniform rotation the angle density is (1 - cos θ)/π, so
        // P(angle > 2 rad) = (π - 2 + sin 2)/π ≈ 0.653.
        assert!((110..150).contains(&big), "{big}");
    }
}
