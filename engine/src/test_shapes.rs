//! Hand-made shapes shared by the unit tests: box surfaces and database
//! instances made of them.

use nalgebra::{Point3, UnitQuaternion, Vector3};

use crate::db::{DbInstance, Descriptor, OrientedBox};
use crate::encode::Modality;

/// Points and outward normals on the surface of an axis-aligned box, on a grid of
/// about 3 cm (every face has its edges).
pub fn box_surface(c: Point3<f32>, size: Vector3<f32>) -> (Vec<Point3<f32>>, Vec<Vector3<f32>>) {
    let (mut pts, mut normals) = (Vec::new(), Vec::new());
    let h = size / 2.0;
    let n = |l: f32| ((l / 0.03).ceil() as i32).max(1);
    for axis in 0..3 {
        let (a, b) = ((axis + 1) % 3, (axis + 2) % 3);
        for s in [-1.0f32, 1.0] {
            for i in 0..=n(size[a]) {
                for j in 0..=n(size[b]) {
                    let mut v = Vector3::zeros();
                    v[axis] = s * h[axis];
                    v[a] = -h[a] + size[a] * i as f32 / n(size[a]) as f32;
                    v[b] = -h[b] + size[b] * j as f32 / n(size[b]) as f32;
                    let mut nrm = Vector3::zeros();
                    nrm[axis] = s;
                    pts.push(c + v);
                    normals.push(nrm);
                }
            }
        }
    }
    (pts, normals)
}

/// The points of [`box_surface`].
pub fn box_points(c: Point3<f32>, size: Vector3<f32>) -> Vec<Point3<f32>> {
    box_surface(c, size).0
}

/// A database instance that is an axis-aligned box (surface points, normals, one
/// colour) with the given point descriptor.
pub fn box_instance(
    id: u32,
    c: Point3<f32>,
    size: Vector3<f32>,
    descriptor: Vec<f32>,
) -> DbInstance {
    let (points, normals) = box_surface(c, size);
    DbInstance {
        id,
        label: String::new(),
        centroid: c,
        bbox: OrientedBox {
            center: c,
            half_extents: size / 2.0,
            rotation: UnitQuaternion::identity(),
        },
        descriptors: vec![Descriptor {
            modality: Modality::Point,
            values: descriptor,
        }],
        colors: vec![[120, 80, 40]; points.len()],
        points,
        normals,
        observations: 5,
    }
}
