//! Synthetic segments for the fusion tests: points sampled on the camera-facing
//! faces of axis-aligned boxes, expressed in the camera frame of a look-at pose.

use nalgebra::{Matrix3, Point3, Rotation3, Translation3, UnitQuaternion, Vector3};

use crate::frame::Pose;
use crate::rng::Rng;
use crate::segment::Segment;

/// An axis-aligned box in the session frame.
#[derive(Debug, Clone, Copy)]
pub struct SynthBox {
    pub center: Point3<f32>,
    pub half: Vector3<f32>,
    pub color: [u8; 3],
}

/// `T_session_camera` of a camera at `eye` looking at `target` (z up in session).
pub fn look_at(eye: Point3<f32>, target: Point3<f32>) -> Pose {
    let z = (target - eye).normalize();
    let up = if z.cross(&Vector3::z()).norm() < 1e-3 {
        Vector3::x()
    } else {
        Vector3::z()
    };
    let x = z.cross(&up).normalize();
    let y = z.cross(&x);
    let r = Rotation3::from_matrix_unchecked(Matrix3::from_columns(&[x, y, z]));
    Pose::from_parts(
        Translation3::from(eye.coords),
        UnitQuaternion::from_rotation_matrix(&r),
    )
}

/// A camera on a ring of `radius` around `target` at azimuth `az` and elevation
/// `el` (radians).
pub fn ring_pose(target: Point3<f32>, radius: f32, az: f32, el: f32) -> Pose {
    let eye = target + Vector3::new(az.cos() * el.cos(), az.sin() * el.cos(), el.sin()) * radius;
    look_at(eye, target)
}

/// Session-frame points with normals on the faces of `b` that face `eye`
/// (`n` points, area-weighted, Gaussian noise `sigma`).
pub fn sample_visible(
    b: &SynthBox,
    eye: Point3<f32>,
    n: usize,
    sigma: f32,
    rng: &mut Rng,
) -> Vec<(Point3<f32>, Vector3<f32>)> {
    let mut faces = Vec::new();
    for axis in 0..3 {
        for sign in [-1.0f32, 1.0] {
            let mut normal = Vector3::zeros();
            normal[axis] = sign;
            let fc = b.center + normal.component_mul(&b.half);
            if normal.dot(&(eye - fc)) <= 0.0 {
                continue;
            }
            let (u, v) = ((axis + 1) % 3, (axis + 2) % 3);
            faces.push((axis, sign, u, v, 4.0 * b.half[u] * b.half[v]));
        }
    }
    let total: f32 = faces.iter().map(|f| f.4).sum();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut pick = rng.range(0.0, total);
        let mut face = faces[0];
        for f in &faces {
            face = *f;
            if pick < f.4 {
                break;
            }
            pick -= f.4;
        }
        let (axis, sign, u, v, _) = face;
        let mut p = b.center;
        p[axis] += sign * b.half[axis];
        p[u] += rng.range(-b.half[u], b.half[u]);
        p[v] += rng.range(-b.half[v], b.half[v]);
        let noise = Vector3::new(rng.normal(), rng.normal(), rng.normal()) * sigma;
        let mut normal = Vector3::zeros();
        normal[axis] = sign;
        out.push((p + noise, normal));
    }
    out
}

/// A camera-frame segment made from session-frame samples.
pub fn segment_from(
    T_session_camera: &Pose,
    samples: &[(Point3<f32>, Vector3<f32>)],
    color: [u8; 3],
) -> Segment {
    let T_camera_session = T_session_camera.inverse();
    let points: Vec<Point3<f32>> = samples.iter().map(|(p, _)| T_camera_session * p).collect();
    let normals = samples
        .iter()
        .map(|(_, n)| T_camera_session.rotation * n)
        .collect();
    let sum = points.iter().fold(Vector3::zeros(), |a, p| a + p.coords);
    Segment {
        label: 1,
        centroid: Point3::from(sum / points.len().max(1) as f32),
        colors: vec![color; points.len()],
        pixels: Vec::new(),
        points,
        normals,
        touches_border: false,
    }
}

/// The segment of box `b` seen from `T_session_camera` (visible faces only).
pub fn box_segment(b: &SynthBox, T_session_camera: &Pose, n: usize, rng: &mut Rng) -> Segment {
    let eye = Point3::from(T_session_camera.translation.vector);
    let s = sample_visible(b, eye, n, 0.002, rng);
    segment_from(T_session_camera, &s, b.color)
}
