//! Triangle meshes for the synthetic world: a small primitive kit (box, frustum,
//! ellipsoid, torus, quad), rigid/scale transforms, merging, and seeded
//! area-weighted surface sampling.
//!
//! Units are metres; coordinates are in the frame the mesh is built in (an object's
//! own frame for furniture, the map frame for room structure). Every triangle
//! carries a material slot that indexes the owning model's material list. Normals
//! are per vertex and unit length; flat faces get their own (unshared) vertices, so
//! interpolated normals are exact on planar parts.

use nalgebra::{Isometry3, Point3, UnitQuaternion, Vector3};

use crate::rng::Rng;

/// An indexed triangle mesh with per-vertex normals and per-triangle material slots.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mesh {
    /// Vertex positions, metres.
    pub positions: Vec<Point3<f32>>,
    /// Unit vertex normals, one per position.
    pub normals: Vec<Vector3<f32>>,
    /// Triangles as vertex indices (counter-clockwise seen from the normal side).
    pub triangles: Vec<[u32; 3]>,
    /// Material slot of each triangle.
    pub materials: Vec<u16>,
}

/// One surface sample: a point, its unit normal and the material slot it lies on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurfaceSample {
    /// Position in the mesh's frame, metres.
    pub position: Point3<f32>,
    /// Unit normal (interpolated vertex normal).
    pub normal: Vector3<f32>,
    /// Material slot of the triangle it lies on.
    pub material: u16,
}

impl Mesh {
    /// An empty mesh.
    pub fn new() -> Mesh {
        Mesh::default()
    }

    /// Number of triangles.
    pub fn triangle_count(&self) -> usize {
        self.triangles.len()
    }

    /// Appends a planar quad `a b c d` (counter-clockwise seen from the front) facing
    /// `normal` (flat-shaded).
    pub fn push_quad(&mut self, q: [Point3<f32>; 4], normal: Vector3<f32>, material: u16) {
        let n = normal.try_normalize(1e-9).unwrap_or_else(Vector3::z);
        let base = self.positions.len() as u32;
        for p in q {
            self.positions.push(p);
            self.normals.push(n);
        }
        self.triangles.push([base, base + 1, base + 2]);
        self.triangles.push([base, base + 2, base + 3]);
        self.materials.extend([material, material]);
    }

    /// An axis-aligned box between `min` and `max` (24 vertices, flat faces).
    pub fn cuboid(min: Point3<f32>, max: Point3<f32>, material: u16) -> Mesh {
        let (a, b) = (min, max);
        let p = |x: f32, y: f32, z: f32| Point3::new(x, y, z);
        let mut m = Mesh::new();
        // -x, +x
        m.push_quad(
            [
                p(a.x, a.y, a.z),
                p(a.x, a.y, b.z),
                p(a.x, b.y, b.z),
                p(a.x, b.y, a.z),
            ],
            -Vector3::x(),
            material,
        );
        m.push_quad(
            [
                p(b.x, a.y, a.z),
                p(b.x, b.y, a.z),
                p(b.x, b.y, b.z),
                p(b.x, a.y, b.z),
            ],
            Vector3::x(),
            material,
        );
        // -y, +y
        m.push_quad(
            [
                p(a.x, a.y, a.z),
                p(b.x, a.y, a.z),
                p(b.x, a.y, b.z),
                p(a.x, a.y, b.z),
            ],
            -Vector3::y(),
            material,
        );
        m.push_quad(
            [
                p(a.x, b.y, a.z),
                p(a.x, b.y, b.z),
                p(b.x, b.y, b.z),
                p(b.x, b.y, a.z),
            ],
            Vector3::y(),
            material,
        );
        // -z, +z
        m.push_quad(
            [
                p(a.x, a.y, a.z),
                p(a.x, b.y, a.z),
                p(b.x, b.y, a.z),
                p(b.x, a.y, a.z),
            ],
            -Vector3::z(),
            material,
        );
        m.push_quad(
            [
                p(a.x, a.y, b.z),
                p(b.x, a.y, b.z),
                p(b.x, b.y, b.z),
                p(a.x, b.y, b.z),
            ],
            Vector3::z(),
            material,
        );
        m
    }

    /// A box centred at `(cx, cy)` horizontally, from height `z0` to `z1`, with full
    /// sizes `sx` × `sy`.
    pub fn block(cx: f32, cy: f32, z0: f32, sx: f32, sy: f32, z1: f32, material: u16) -> Mesh {
        Mesh::cuboid(
            Point3::new(cx - sx * 0.5, cy - sy * 0.5, z0),
            Point3::new(cx + sx * 0.5, cy + sy * 0.5, z1),
            material,
        )
    }

    /// A frustum (cylinder when the radii are equal, cone when `r_top` is 0) around
    /// the z axis from `z = 0` to `z = height`, with smooth sides and flat caps.
    pub fn frustum(r_bottom: f32, r_top: f32, height: f32, segments: usize, material: u16) -> Mesh {
        let seg = segments.max(3);
        let mut m = Mesh::new();
        let slope = (r_bottom - r_top) / height.max(1e-6);
        for i in 0..=seg {
            let a = i as f32 / seg as f32 * std::f32::consts::TAU;
            let (s, c) = a.sin_cos();
            let n = Vector3::new(c, s, slope).normalize();
            m.positions
                .push(Point3::new(r_bottom * c, r_bottom * s, 0.0));
            m.normals.push(n);
            m.positions.push(Point3::new(r_top * c, r_top * s, height));
            m.normals.push(n);
        }
        for i in 0..seg as u32 {
            let (b0, t0, b1, t1) = (2 * i, 2 * i + 1, 2 * i + 2, 2 * i + 3);
            m.triangles.push([b0, b1, t1]);
            m.triangles.push([b0, t1, t0]);
            m.materials.extend([material, material]);
        }
        for (z, r, up) in [(0.0, r_bottom, false), (height, r_top, true)] {
            if r <= 1e-6 {
                continue;
            }
            let n = if up { Vector3::z() } else { -Vector3::z() };
            let centre = m.positions.len() as u32;
            m.positions.push(Point3::new(0.0, 0.0, z));
            m.normals.push(n);
            for i in 0..seg {
                let a = i as f32 / seg as f32 * std::f32::consts::TAU;
                m.positions.push(Point3::new(r * a.cos(), r * a.sin(), z));
                m.normals.push(n);
            }
            for i in 0..seg as u32 {
                let j = (i + 1) % seg as u32;
                if up {
                    m.triangles.push([centre, centre + 1 + i, centre + 1 + j]);
                } else {
                    m.triangles.push([centre, centre + 1 + j, centre + 1 + i]);
                }
                m.materials.push(material);
            }
        }
        m
    }

    /// An ellipsoid centred at the origin with semi-axes `radii` (smooth normals).
    pub fn ellipsoid(radii: Vector3<f32>, rings: usize, segments: usize, material: u16) -> Mesh {
        let (rings, seg) = (rings.max(2), segments.max(3));
        let mut m = Mesh::new();
        for i in 0..=rings {
            let th = i as f32 / rings as f32 * std::f32::consts::PI;
            let (st, ct) = th.sin_cos();
            for j in 0..=seg {
                let ph = j as f32 / seg as f32 * std::f32::consts::TAU;
                let (sp, cp) = ph.sin_cos();
                let u = Vector3::new(st * cp, st * sp, ct);
                m.positions
                    .push(Point3::new(radii.x * u.x, radii.y * u.y, radii.z * u.z));
                let n = Vector3::new(
                    u.x / radii.x.max(1e-6),
                    u.y / radii.y.max(1e-6),
                    u.z / radii.z.max(1e-6),
                );
                m.normals.push(n.try_normalize(1e-12).unwrap_or(u));
            }
        }
        let row = (seg + 1) as u32;
        for i in 0..rings as u32 {
            for j in 0..seg as u32 {
                let a = i * row + j;
                let b = a + row;
                m.triangles.push([a, b, b + 1]);
                m.triangles.push([a, b + 1, a + 1]);
                m.materials.extend([material, material]);
            }
        }
        m
    }

    /// A torus around the z axis centred at the origin (ring radius `major`, tube
    /// radius `minor`).
    pub fn torus(
        major: f32,
        minor: f32,
        seg_major: usize,
        seg_minor: usize,
        material: u16,
    ) -> Mesh {
        let (sm, sn) = (seg_major.max(3), seg_minor.max(3));
        let mut m = Mesh::new();
        for i in 0..=sm {
            let a = i as f32 / sm as f32 * std::f32::consts::TAU;
            let (sa, ca) = a.sin_cos();
            for j in 0..=sn {
                let b = j as f32 / sn as f32 * std::f32::consts::TAU;
                let (sb, cb) = b.sin_cos();
                let n = Vector3::new(ca * cb, sa * cb, sb);
                m.positions.push(Point3::new(
                    (major + minor * cb) * ca,
                    (major + minor * cb) * sa,
                    minor * sb,
                ));
                m.normals.push(n);
            }
        }
        let row = (sn + 1) as u32;
        for i in 0..sm as u32 {
            for j in 0..sn as u32 {
                let a = i * row + j;
                let b = a + row;
                m.triangles.push([a, b, b + 1]);
                m.triangles.push([a, b + 1, a + 1]);
                m.materials.extend([material, material]);
            }
        }
        m
    }

    /// Applies a rigid transform to positions and normals.
    pub fn transform(&mut self, iso: &Isometry3<f32>) {
        for p in &mut self.positions {
            *p = iso * *p;
        }
        for n in &mut self.normals {
            *n = iso.rotation * *n;
        }
    }

    /// This mesh translated by `t`.
    pub fn translated(mut self, t: Vector3<f32>) -> Mesh {
        for p in &mut self.positions {
            *p += t;
        }
        self
    }

    /// This mesh rotated about the origin.
    pub fn rotated(mut self, r: UnitQuaternion<f32>) -> Mesh {
        self.transform(&Isometry3::from_parts(Vector3::zeros().into(), r));
        self
    }

    /// This mesh scaled per axis about the origin (normals transformed by the inverse
    /// scale and renormalised). Scales must be positive.
    pub fn scaled(mut self, s: Vector3<f32>) -> Mesh {
        for p in &mut self.positions {
            *p = Point3::new(p.x * s.x, p.y * s.y, p.z * s.z);
        }
        for n in &mut self.normals {
            let m = Vector3::new(n.x / s.x, n.y / s.y, n.z / s.z);
            *n = m.try_normalize(1e-12).unwrap_or(*n);
        }
        self
    }

    /// Appends another mesh (its indices are rebased).
    pub fn append(&mut self, other: &Mesh) {
        let base = self.positions.len() as u32;
        self.positions.extend_from_slice(&other.positions);
        self.normals.extend_from_slice(&other.normals);
        self.triangles.extend(
            other
                .triangles
                .iter()
                .map(|t| [t[0] + base, t[1] + base, t[2] + base]),
        );
        self.materials.extend_from_slice(&other.materials);
    }

    /// The axis-aligned bounds `(min, max)`, `None` for an empty mesh.
    pub fn bounds(&self) -> Option<(Point3<f32>, Point3<f32>)> {
        let first = *self.positions.first()?;
        let (mut lo, mut hi) = (first, first);
        for p in &self.positions {
            lo = lo.inf(p);
            hi = hi.sup(p);
        }
        Some((lo, hi))
    }

    /// The three corners of triangle `t`, `None` when an index is out of range.
    pub fn triangle(&self, t: usize) -> Option<[Point3<f32>; 3]> {
        let tri = self.triangles.get(t)?;
        Some([
            *self.positions.get(tri[0] as usize)?,
            *self.positions.get(tri[1] as usize)?,
            *self.positions.get(tri[2] as usize)?,
        ])
    }

    /// Total surface area, square metres.
    pub fn area(&self) -> f32 {
        (0..self.triangles.len())
            .filter_map(|t| self.triangle(t))
            .map(|[a, b, c]| (b - a).cross(&(c - a)).norm() * 0.5)
            .sum()
    }

    /// Samples the surface with `density` points per square metre on average,
    /// uniformly by area: each triangle gets `floor(area * density)` points plus
    /// one more with probability equal to the fractional part. Deterministic for a
    /// given generator state; samples come in triangle order.
    pub fn sample_surface(&self, density: f32, rng: &mut Rng) -> Vec<SurfaceSample> {
        let mut out = Vec::with_capacity((self.area() * density.max(0.0)) as usize + 16);
        for (t, tri) in self.triangles.iter().enumerate() {
            let (Some([a, b, c]), Some(&mat)) = (self.triangle(t), self.materials.get(t)) else {
                continue;
            };
            let area = (b - a).cross(&(c - a)).norm() * 0.5;
            let expected = area * density.max(0.0);
            let mut n = expected.floor() as usize;
            if rng.chance(expected - expected.floor()) {
                n += 1;
            }
            let normal_at = |i: u32| {
                self.normals
                    .get(i as usize)
                    .copied()
                    .unwrap_or_else(Vector3::z)
            };
            let (na, nb, nc) = (normal_at(tri[0]), normal_at(tri[1]), normal_at(tri[2]));
            for _ in 0..n {
                let r1 = rng.f32().sqrt();
                let r2 = rng.f32();
                let (wa, wb, wc) = (1.0 - r1, r1 * (1.0 - r2), r1 * r2);
                let position = Point3::from(a.coords * wa + b.coords * wb + c.coords * wc);
                let normal = (na * wa + nb * wb + nc * wc)
                    .try_normalize(1e-9)
                    .unwrap_or(na);
                out.push(SurfaceSample {
                    position,
                    normal,
                    material: mat,
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_have_expected_areas_and_outward_normals() {
        let b = Mesh::cuboid(Point3::new(0.0, 0.0, 0.0), Point3::new(1.0, 2.0, 3.0), 0);
        assert!((b.area() - 22.0).abs() < 1e-4);
        for t in 0..b.triangle_count() {
            let [p0, p1, p2] = b.triangle(t).unwrap();
            let face_n = (p1 - p0).cross(&(p2 - p0)).normalize();
            let n = b.normals[b.triangles[t][0] as usize];
            assert!((face_n - n).norm() < 1e-5, "winding matches normal");
            let centre = Point3::new(0.5, 1.0, 1.5);
            assert!(n.dot(&(p0 - centre)) > 0.0, "outward");
        }
        let c = Mesh::frustum(1.0, 1.0, 1.0, 256, 0);
        let expected = 2.0 * std::f32::consts::PI + 2.0 * std::f32::consts::PI;
        assert!((c.area() - expected).abs() / expected < 0.01);
        let s = Mesh::ellipsoid(Vector3::new(1.0, 1.0, 1.0), 64, 128, 0);
        let sphere = 4.0 * std::f32::consts::PI;
        assert!((s.area() - sphere).abs() / sphere < 0.01);
    }

    #[test]
    fn sampling_is_area_weighted_and_seeded() {
        let b = Mesh::cuboid(Point3::new(0.0, 0.0, 0.0), Point3::new(1.0, 1.0, 1.0), 3);
        let s1 = b.sample_surface(5000.0, &mut Rng::new(1));
        let s2 = b.sample_surface(5000.0, &mut Rng::new(1));
        assert_eq!(s1, s2);
        assert!((s1.len() as f32 - 30000.0).abs() < 300.0);
        let top = s1.iter().filter(|s| s.position.z > 0.9999).count();
        assert!((top as f32 / s1.len() as f32 - 1.0 / 6.0).abs() < 0.02);
        assert!(s1.iter().all(|s| s.material == 3));
    }
}
