//! A z-buffer triangle rasteriser producing colour, metric depth and per-pixel
//! instance ids for a pinhole camera at `T_map_camera` (camera frame x right,
//! y down, z forward).
//!
//! Guarantees: a pixel `(u, v)` (centre at integer coordinates) shows the nearest
//! triangle whose projection covers its centre; depth is the exact z (along the
//! optical axis, metres) of that triangle's plane at the pixel centre, up to f32
//! rounding, so back-projecting it with the intrinsics and pose lands on the
//! surface. Triangles are clipped against the near plane ([`NEAR_PLANE_M`]) so
//! surfaces right next to the camera render correctly. Pixels that see nothing
//! have depth 0 and instance 0; instance 0 is also the room structure. Shading is
//! deferred: texture (evaluated at perspective-correct object-frame coordinates),
//! Lambertian diffuse with the room's lights plus ambient, and a specular
//! highlight on shiny materials. Without noise the output is a pure function of
//! the inputs.

use nalgebra::{Matrix3, Point3, Vector3};

use super::mesh::Mesh;
use super::noise;
use super::objects::Material;
use super::room::{Light, Lighting, Room};
use super::texture::{Texture, luminance};
use crate::frame::{CameraIntrinsics, DepthImage, Pose, RgbImage, RgbdFrame};
use crate::rng::Rng;

/// Near clipping plane, metres.
pub const NEAR_PLANE_M: f32 = 0.05;

/// Per-pixel surface flags used by the noise model.
pub mod flags {
    /// The surface is shiny (glass, screens, steel).
    pub const SHINY: u8 = 1;
    /// The surface albedo is dark (luminance below 0.1).
    pub const DARK: u8 = 2;
}

/// One rendered view.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedFrame {
    /// Intrinsics it was rendered with.
    pub intrinsics: CameraIntrinsics,
    /// The camera pose, `T_map_camera`.
    pub T_map_camera: Pose,
    /// Colour, 8-bit RGB.
    pub color: RgbImage,
    /// Depth in metres along the optical axis (0 = invalid / nothing).
    pub depth: DepthImage,
    /// Ground-truth instance id per pixel (0 = structure or nothing); never noisy.
    pub instances: Vec<u16>,
}

impl RenderedFrame {
    /// Sorted distinct non-zero instance ids in the mask.
    pub fn visible_ids(&self) -> Vec<u32> {
        let mut seen = vec![false; u16::MAX as usize + 1];
        for &i in &self.instances {
            if let Some(s) = seen.get_mut(i as usize) {
                *s = true;
            }
        }
        seen.iter()
            .enumerate()
            .skip(1)
            .filter(|(_, s)| **s)
            .map(|(i, _)| i as u32)
            .collect()
    }

    /// Depth values in metres (0 = invalid), row-major.
    pub fn depth_metres(&self) -> Vec<f32> {
        self.depth.to_metres()
    }

    /// The view as an engine frame (pose given as the session pose).
    pub fn to_rgbd_frame(&self, index: u64) -> RgbdFrame {
        RgbdFrame {
            index,
            timestamp: index as f64 / 30.0,
            intrinsics: self.intrinsics,
            color: self.color.clone(),
            depth: self.depth.clone(),
            T_session_camera: Some(self.T_map_camera),
        }
    }
}

/// Something to draw: a mesh in a local frame with its materials.
struct Drawable<'a> {
    id: u16,
    mesh: &'a Mesh,
    materials: &'a [Material],
    T_map_local: Pose,
    centre: Point3<f32>,
    radius: f32,
}

fn drawables(room: &Room) -> Vec<Drawable<'_>> {
    let s = &room.structure;
    let (lo, hi) = s
        .mesh
        .bounds()
        .unwrap_or((Point3::origin(), Point3::origin()));
    let mut out = vec![Drawable {
        id: 0,
        mesh: &s.mesh,
        materials: &s.materials,
        T_map_local: Pose::identity(),
        centre: nalgebra::center(&lo, &hi),
        radius: (hi - lo).norm() * 0.5,
    }];
    for o in &room.objects {
        out.push(Drawable {
            id: o.id.min(u16::MAX as u32) as u16,
            mesh: &o.model.mesh,
            materials: &o.model.materials,
            T_map_local: o.T_map_object,
            centre: o.model.bound_centre,
            radius: o.model.bound_radius,
        });
    }
    out
}

const NONE: u32 = u32::MAX;

/// One pixel of the visibility buffer: the nearest surface so far.
#[derive(Debug, Clone, Copy)]
struct Hit {
    /// Depth along the optical axis, metres (infinity: nothing yet).
    z: f32,
    /// Index into the frame's triangle table ([`NONE`]: nothing).
    tri: u32,
    /// Perspective-correct barycentric weight of vertex 1.
    b1: f32,
    /// Perspective-correct barycentric weight of vertex 2.
    b2: f32,
}

const EMPTY: Hit = Hit {
    z: f32::INFINITY,
    tri: NONE,
    b1: 0.0,
    b2: 0.0,
};

/// What shading needs of one triangle, prepared once per frame: the position in
/// the object frame (for the texture) and the normal in the camera frame, each as
/// its value at vertex 0 plus the differences to vertices 1 and 2.
#[derive(Debug, Clone, Copy)]
struct TriShade {
    p0: [f32; 3],
    dp1: [f32; 3],
    dp2: [f32; 3],
    /// Vertex 0's normal; on a flat triangle the unit normal of the whole face.
    n0: [f32; 3],
    dn1: [f32; 3],
    dn2: [f32; 3],
    /// All three vertex normals are the same.
    flat: bool,
    /// On a flat triangle: ambient plus directional diffuse light for the normal
    /// `n0` (index 0) and for `-n0` (index 1).
    flat_light: [[f32; 3]; 2],
    /// Index into the frame's material list ([`NONE`]: the mesh has none).
    material: u32,
    /// Instance id.
    id: u16,
}

impl TriShade {
    fn new(
        p: [&Point3<f32>; 3],
        n: [[f32; 3]; 3],
        lights: &LightSet,
        material: u32,
        id: u16,
    ) -> TriShade {
        let v = |q: &Point3<f32>| [q.x, q.y, q.z];
        let (p0, p1, p2) = (v(p[0]), v(p[1]), v(p[2]));
        let flat = n[0] == n[1] && n[0] == n[2];
        let n0 = if flat { normalized(n[0]) } else { n[0] };
        let flat_light = if flat {
            let back = [-n0[0], -n0[1], -n0[2]];
            [lights.directional(&n0), lights.directional(&back)]
        } else {
            [[0.0; 3]; 2]
        };
        TriShade {
            p0,
            dp1: sub(&p1, &p0),
            dp2: sub(&p2, &p0),
            n0,
            dn1: sub(&n[1], &n[0]),
            dn2: sub(&n[2], &n[0]),
            flat,
            flat_light,
            material,
            id,
        }
    }

    /// The unit normal at barycentric weights `(b1, b2)` (zero when degenerate).
    #[inline(always)]
    fn normal(&self, b1: f32, b2: f32) -> [f32; 3] {
        if self.flat {
            return self.n0;
        }
        normalized([
            self.n0[0] + self.dn1[0] * b1 + self.dn2[0] * b2,
            self.n0[1] + self.dn1[1] * b1 + self.dn2[1] * b2,
            self.n0[2] + self.dn1[2] * b1 + self.dn2[2] * b2,
        ])
    }

    /// The object-frame point at barycentric weights `(b1, b2)`.
    #[inline(always)]
    fn point(&self, b1: f32, b2: f32) -> Point3<f32> {
        Point3::new(
            self.p0[0] + self.dp1[0] * b1 + self.dp2[0] * b2,
            self.p0[1] + self.dp1[1] * b1 + self.dp2[1] * b2,
            self.p0[2] + self.dp1[2] * b1 + self.dp2[2] * b2,
        )
    }
}

/// A reusable renderer (keeps its buffers between frames).
#[derive(Debug, Default)]
pub struct Renderer {
    hits: Vec<Hit>,
    tris: Vec<TriShade>,
    cam: Vec<Point3<f32>>,
    normals: Vec<[f32; 3]>,
    columns: Vec<f32>,
    albedo: Vec<[f32; 3]>,
    cos: Vec<f32>,
    flags: Vec<u8>,
    noise: noise::DepthNoiseBuffers,
}

#[derive(Clone, Copy)]
struct ClipVert {
    p: Point3<f32>,
    a: [f32; 3],
}

impl Renderer {
    /// A renderer with empty buffers.
    pub fn new() -> Renderer {
        Renderer::default()
    }

    /// Renders `room` from `T_map_camera`; with `noise`, applies the depth and
    /// colour noise models (the instance mask stays exact).
    pub fn render(
        &mut self,
        room: &Room,
        T_map_camera: &Pose,
        k: &CameraIntrinsics,
        noise: Option<&mut Rng>,
    ) -> RenderedFrame {
        let n = k.width as usize * k.height as usize;
        self.hits.clear();
        self.hits.resize(n, EMPTY);
        self.tris.clear();
        let mut materials: Vec<&Material> = Vec::new();
        let T_camera_map = T_map_camera.inverse();
        let lights = LightSet::new(&room.lighting, &T_camera_map);
        for d in drawables(room) {
            let T_cam_local = T_camera_map * d.T_map_local;
            let c = T_cam_local * d.centre;
            if !sphere_visible(&c, d.radius, k) {
                continue;
            }
            self.cam.clear();
            self.cam
                .extend(d.mesh.positions.iter().map(|p| T_cam_local * p));
            let r = mat3(&T_cam_local.rotation);
            self.normals.clear();
            self.normals.extend(d.mesh.normals.iter().map(|n| {
                [
                    r[0] * n.x + r[1] * n.y + r[2] * n.z,
                    r[3] * n.x + r[4] * n.y + r[5] * n.z,
                    r[6] * n.x + r[7] * n.y + r[8] * n.z,
                ]
            }));
            let first_material = materials.len() as u32;
            let last_slot = d.materials.len().saturating_sub(1) as u32;
            materials.extend(d.materials.iter());
            for (ti, t) in d.mesh.triangles.iter().enumerate() {
                let [i0, i1, i2] = t.map(|i| i as usize);
                let (Some(&c0), Some(&c1), Some(&c2)) =
                    (self.cam.get(i0), self.cam.get(i1), self.cam.get(i2))
                else {
                    continue;
                };
                let (Some(p0), Some(p1), Some(p2)) = (
                    d.mesh.positions.get(i0),
                    d.mesh.positions.get(i1),
                    d.mesh.positions.get(i2),
                ) else {
                    continue;
                };
                let (Some(&n0), Some(&n1), Some(&n2)) = (
                    self.normals.get(i0),
                    self.normals.get(i1),
                    self.normals.get(i2),
                ) else {
                    continue;
                };
                let slot = d.mesh.materials.get(ti).copied().unwrap_or(0) as u32;
                let material = if d.materials.is_empty() {
                    NONE
                } else {
                    first_material + slot.min(last_slot)
                };
                let tri = self.tris.len() as u32;
                self.tris.push(TriShade::new(
                    [p0, p1, p2],
                    [n0, n1, n2],
                    &lights,
                    material,
                    d.id,
                ));
                self.clip_and_raster([c0, c1, c2], k, tri);
            }
        }
        let mut frame = self.shade(&lights, &materials, T_map_camera, k);
        if let Some(rng) = noise {
            if let crate::frame::DepthData::Metres(z) = &mut frame.depth.data {
                noise::apply_depth_noise(z, &self.cos, &self.flags, k, rng, &mut self.noise);
            }
            noise::apply_color_noise(&mut frame.color, rng);
        }
        frame
    }

    fn clip_and_raster(&mut self, p: [Point3<f32>; 3], k: &CameraIntrinsics, tri: u32) {
        let inside = [
            p[0].z >= NEAR_PLANE_M,
            p[1].z >= NEAR_PLANE_M,
            p[2].z >= NEAR_PLANE_M,
        ];
        let ids = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
        if inside.iter().all(|&b| b) {
            let v = [
                ClipVert { p: p[0], a: ids[0] },
                ClipVert { p: p[1], a: ids[1] },
                ClipVert { p: p[2], a: ids[2] },
            ];
            self.raster(&v, k, tri);
            return;
        }
        if !inside.iter().any(|&b| b) {
            return;
        }
        let mut poly: [ClipVert; 4] = [ClipVert { p: p[0], a: ids[0] }; 4];
        let mut m = 0;
        for i in 0..3 {
            let j = (i + 1) % 3;
            let (a, b) = (
                ClipVert { p: p[i], a: ids[i] },
                ClipVert { p: p[j], a: ids[j] },
            );
            if inside[i] && m < 4 {
                poly[m] = a;
                m += 1;
            }
            if inside[i] != inside[j] && m < 4 {
                let t = (NEAR_PLANE_M - a.p.z) / (b.p.z - a.p.z);
                let q = a.p + (b.p - a.p) * t;
                let at = [
                    a.a[0] + (b.a[0] - a.a[0]) * t,
                    a.a[1] + (b.a[1] - a.a[1]) * t,
                    a.a[2] + (b.a[2] - a.a[2]) * t,
                ];
                poly[m] = ClipVert {
                    p: Point3::new(q.x, q.y, NEAR_PLANE_M),
                    a: at,
                };
                m += 1;
            }
        }
        for i in 1..m.saturating_sub(1) {
            let v = [poly[0], poly[i], poly[i + 1]];
            self.raster(&v, k, tri);
        }
    }

    fn raster(&mut self, v: &[ClipVert; 3], k: &CameraIntrinsics, tri: u32) {
        let (fx, fy, cx, cy) = (k.fx as f64, k.fy as f64, k.cx as f64, k.cy as f64);
        let proj = |p: &Point3<f32>| {
            let z = p.z as f64;
            (fx * p.x as f64 / z + cx, fy * p.y as f64 / z + cy, 1.0 / z)
        };
        let (u0, v0, iz0) = proj(&v[0].p);
        let (u1, v1, iz1) = proj(&v[1].p);
        let (u2, v2, iz2) = proj(&v[2].p);
        let area = (u1 - u0) * (v2 - v0) - (v1 - v0) * (u2 - u0);
        if area.abs() < 1e-12 || !area.is_finite() {
            return;
        }
        let inv_area = 1.0 / area;
        let (w, h) = (k.width as i64, k.height as i64);
        let xmin = u0.min(u1).min(u2).ceil().max(0.0) as i64;
        let xmax = (u0.max(u1).max(u2).floor() as i64).min(w - 1);
        let ymin = v0.min(v1).min(v2).ceil().max(0.0) as i64;
        let ymax = (v0.max(v1).max(v2).floor() as i64).min(h - 1);
        if xmin > xmax || ymin > ymax {
            return;
        }
        // barycentric weights as linear functions of (x, y): l_i = a_i x + b_i y + c_i
        let e = |ua: f64, va: f64, ub: f64, vb: f64| {
            let a = -(vb - va) * inv_area;
            let b = (ub - ua) * inv_area;
            let c = ((vb - va) * ua - (ub - ua) * va) * inv_area;
            (a, b, c)
        };
        let (a0, b0, c0) = e(u1, v1, u2, v2);
        let (a1, b1, c1) = e(u2, v2, u0, v0);
        let (a2, b2, c2) = e(u0, v0, u1, v1);
        // inverse depth sum_i l_i / z_i and the numerators of the perspective-correct
        // attributes, sum_i l_i a_i / z_i, are linear in (x, y) as well
        let lin = |w0: f64, w1: f64, w2: f64| {
            (
                a0 * w0 + a1 * w1 + a2 * w2,
                b0 * w0 + b1 * w1 + b2 * w2,
                c0 * w0 + c1 * w1 + c2 * w2,
            )
        };
        let (za, zb, zc) = lin(iz0, iz1, iz2);
        let attr = |j: usize| {
            lin(
                iz0 * v[0].a[j] as f64,
                iz1 * v[1].a[j] as f64,
                iz2 * v[2].a[j] as f64,
            )
        };
        let ((pa, pb, pc), (qa, qb, qc)) = (attr(1), attr(2));
        let eps = -1e-9;
        for y in ymin..=ymax {
            let yf = y as f64;
            let row = (y * w) as usize;
            let (r0, r1, r2) = (b0 * yf + c0, b1 * yf + c1, b2 * yf + c2);
            // the span of x where every weight is non-negative (widened by a pixel;
            // the exact per-pixel test below decides)
            let (mut lo, mut hi) = (xmin as f64, xmax as f64);
            for (a, r) in [(a0, r0), (a1, r1), (a2, r2)] {
                if a > 0.0 {
                    lo = lo.max((eps - r) / a);
                } else if a < 0.0 {
                    hi = hi.min((eps - r) / a);
                } else if r < eps {
                    lo = f64::INFINITY;
                }
            }
            if lo > hi || lo.is_nan() || hi.is_nan() {
                continue;
            }
            let xs = ((lo.ceil() as i64) - 1).max(xmin);
            let xe = ((hi.floor() as i64) + 1).min(xmax);
            let Some(line) = self.hits.get_mut(row + xs as usize..row + xe as usize + 1) else {
                continue;
            };
            // a pixel more than one pixel inside the span has every weight above
            // eps by far more than rounding; only the ends need the exact test
            let (inner_lo, inner_hi) = ((lo + 1.0).ceil() as i64, (hi - 1.0).floor() as i64);
            let (rz, rp, rq) = (zb * yf + zc, pb * yf + pc, qb * yf + qc);
            for (x, hit) in (xs..=xe).zip(line) {
                let xf = x as f64;
                if (x < inner_lo || x > inner_hi)
                    && (a0 * xf + r0 < eps || a1 * xf + r1 < eps || a2 * xf + r2 < eps)
                {
                    continue;
                }
                let invz = za * xf + rz;
                if invz <= 0.0 || invz.is_nan() {
                    continue;
                }
                let zd = 1.0 / invz;
                let z = zd as f32;
                if z >= hit.z {
                    continue;
                }
                *hit = Hit {
                    z,
                    tri,
                    b1: ((pa * xf + rp) * zd) as f32,
                    b2: ((qa * xf + rq) * zd) as f32,
                };
            }
        }
    }

    /// Shades the visibility buffer, in the camera frame.
    fn shade(
        &mut self,
        lights: &LightSet,
        materials: &[&Material],
        T_map_camera: &Pose,
        k: &CameraIntrinsics,
    ) -> RenderedFrame {
        let (w, h) = (k.width as usize, k.height as usize);
        let n = w * h;
        let mut color = RgbImage::new(k.width, k.height);
        let mut depth = vec![0.0f32; n];
        let mut inst = vec![0u16; n];
        self.cos.clear();
        self.cos.resize(n, 1.0);
        self.flags.clear();
        self.flags.resize(n, 0);
        let (ifx, ify) = (1.0 / k.fx, 1.0 / k.fy);
        self.columns.clear();
        self.columns.extend((0..w).map(|u| (u as f32 - k.cx) * ifx));
        for v in 0..h {
            let row = v * w;
            let (Some(hits), Some(rgb), Some(zs), Some(ids), Some(coss), Some(fls)) = (
                self.hits.get(row..row + w),
                color.data.get_mut(3 * row..3 * (row + w)),
                depth.get_mut(row..row + w),
                inst.get_mut(row..row + w),
                self.cos.get_mut(row..row + w),
                self.flags.get_mut(row..row + w),
            ) else {
                continue;
            };
            // texture first, in a pass of its own: its latency then overlaps
            // between pixels instead of stalling the lighting
            self.albedo.clear();
            self.albedo.extend(hits.iter().map(|hit| {
                let Some(t) = self.tris.get(hit.tri as usize) else {
                    return [0.0; 3];
                };
                match materials.get(t.material as usize).map(|m| &m.texture) {
                    Some(Texture::Solid(c)) => *c,
                    Some(tex) => tex.eval(&t.point(hit.b1, hit.b2)),
                    None => [0.0; 3],
                }
            }));
            let y = (v as f32 - k.cy) * ify;
            let out = rgb
                .chunks_exact_mut(3)
                .zip(zs.iter_mut())
                .zip(ids.iter_mut())
                .zip(coss.iter_mut())
                .zip(fls.iter_mut());
            for (((hit, &x), &albedo), ((((px, z_out), id_out), cos_out), flag_out)) in
                hits.iter().zip(&self.columns).zip(&self.albedo).zip(out)
            {
                let Some(t) = self.tris.get(hit.tri as usize) else {
                    continue;
                };
                let Some(mat) = materials.get(t.material as usize) else {
                    continue;
                };
                let (b1, b2, z) = (hit.b1, hit.b2, hit.z);
                // the surface point and the unit vector towards the camera
                let point = [x * z, y * z, z];
                let inv_ray = 1.0 / (x * x + y * y + 1.0).sqrt();
                let view = [-x * inv_ray, -y * inv_ray, -inv_ray];
                let mut nm = t.normal(b1, b2);
                let c = dot(&nm, &view);
                let back = c < 0.0;
                if back {
                    for v in &mut nm {
                        *v = -*v;
                    }
                }
                let flat_light = (t.flat && !mat.shiny).then_some(t.flat_light[back as usize]);
                let (light, spec) = lights.shade(&nm, &point, &view, mat.shiny, flat_light);
                for ch in 0..3 {
                    // the saturating cast clamps to 0..=255
                    px[ch] = ((albedo[ch] * light[ch] + spec) * 255.0 + 0.5) as u8;
                }
                *z_out = z;
                *id_out = t.id;
                *cos_out = c.abs();
                let mut f = 0;
                if mat.shiny {
                    f |= flags::SHINY;
                }
                if luminance(albedo) < 0.1 {
                    f |= flags::DARK;
                }
                *flag_out = f;
            }
        }
        RenderedFrame {
            intrinsics: *k,
            T_map_camera: *T_map_camera,
            color,
            depth: DepthImage::from_metres(k.width, k.height, depth),
            instances: inst,
        }
    }
}

fn mat3(q: &nalgebra::UnitQuaternion<f32>) -> [f32; 9] {
    let m: Matrix3<f32> = q.to_rotation_matrix().into_inner();
    [
        m[(0, 0)],
        m[(0, 1)],
        m[(0, 2)],
        m[(1, 0)],
        m[(1, 1)],
        m[(1, 2)],
        m[(2, 0)],
        m[(2, 1)],
        m[(2, 2)],
    ]
}

#[inline(always)]
fn sub(a: &[f32; 3], b: &[f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// `a` scaled to unit length (zero when it has almost none).
#[inline(always)]
fn normalized(a: [f32; 3]) -> [f32; 3] {
    let len2 = dot(&a, &a);
    let inv = if len2 > 1e-18 { 1.0 / len2.sqrt() } else { 0.0 };
    [a[0] * inv, a[1] * inv, a[2] * inv]
}

#[inline(always)]
fn dot(a: &[f32; 3], b: &[f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// The room's lights in a flat form for per-pixel shading, in the camera frame.
struct LightSet {
    /// Ambient light, RGB.
    ambient: [f32; 3],
    /// Direction towards the light (unit) and intensity.
    directional: Vec<([f32; 3], [f32; 3])>,
    /// Position, intensity and 1 / range².
    point: Vec<([f32; 3], [f32; 3], f32)>,
}

impl LightSet {
    fn new(lighting: &Lighting, T_camera_map: &Pose) -> LightSet {
        let mut set = LightSet {
            ambient: lighting.ambient,
            directional: Vec::new(),
            point: Vec::new(),
        };
        for l in &lighting.lights {
            match l {
                Light::Directional {
                    direction,
                    intensity,
                } => {
                    let d = T_camera_map.rotation
                        * -direction.try_normalize(1e-9).unwrap_or_else(Vector3::z);
                    set.directional.push(([d.x, d.y, d.z], *intensity));
                }
                Light::Point {
                    position,
                    intensity,
                    range,
                } => {
                    let p = T_camera_map * position;
                    set.point
                        .push(([p.x, p.y, p.z], *intensity, 1.0 / (range * range).max(1e-6)))
                }
            }
        }
        set
    }

    /// Diffuse light (RGB) from the ambient term and the directional lights on a
    /// matte surface with unit normal `n`; it does not depend on the point.
    fn directional(&self, n: &[f32; 3]) -> [f32; 3] {
        let mut light = self.ambient;
        for (l, inten) in &self.directional {
            let ndl = dot(n, l);
            if ndl > 0.0 {
                light[0] += inten[0] * ndl;
                light[1] += inten[1] * ndl;
                light[2] += inten[2] * ndl;
            }
        }
        light
    }

    /// Diffuse light (RGB, ambient included) and specular intensity at point `p`
    /// with unit normal `n` seen along unit `view` (towards the camera).
    /// `matte_directional`, when given, is [`LightSet::directional`] for `n`
    /// (never for shiny surfaces, whose directional lights add a highlight).
    #[inline(always)]
    fn shade(
        &self,
        n: &[f32; 3],
        p: &[f32; 3],
        view: &[f32; 3],
        shiny: bool,
        matte_directional: Option<[f32; 3]>,
    ) -> ([f32; 3], f32) {
        let mut light = matte_directional.unwrap_or(self.ambient);
        let mut spec = 0.0f32;
        let mut add = |l: [f32; 3], inten: &[f32; 3], atten: f32| {
            let ndl = dot(n, &l);
            if ndl > 0.0 {
                let s = ndl * atten;
                light[0] += inten[0] * s;
                light[1] += inten[1] * s;
                light[2] += inten[2] * s;
                if shiny {
                    let hv = [l[0] + view[0], l[1] + view[1], l[2] + view[2]];
                    let hn = dot(&hv, &hv);
                    if hn > 1e-12 {
                        let c = (dot(n, &hv) / hn.sqrt()).max(0.0);
                        spec += c.powi(40) * atten * 0.8;
                    }
                }
            }
        };
        if matte_directional.is_none() {
            for (d, inten) in &self.directional {
                add(*d, inten, 1.0);
            }
        }
        for (pos, inten, inv_r2) in &self.point {
            let d = [pos[0] - p[0], pos[1] - p[1], pos[2] - p[2]];
            let d2 = dot(&d, &d).max(1e-12);
            let inv = 1.0 / d2.sqrt();
            add(
                [d[0] * inv, d[1] * inv, d[2] * inv],
                inten,
                1.0 / (1.0 + d2 * inv_r2),
            );
        }
        (light, spec)
    }
}

/// Conservative test whether a sphere (camera frame) can touch the image.
fn sphere_visible(c: &Point3<f32>, r: f32, k: &CameraIntrinsics) -> bool {
    if c.z + r < NEAR_PLANE_M {
        return false;
    }
    // side planes through the optical centre and the image borders
    let planes = [
        Vector3::new(k.fx, 0.0, k.cx + 0.5),
        Vector3::new(-k.fx, 0.0, k.width as f32 - 0.5 - k.cx),
        Vector3::new(0.0, k.fy, k.cy + 0.5),
        Vector3::new(0.0, -k.fy, k.height as f32 - 0.5 - k.cy),
    ];
    planes.iter().all(|n| n.dot(&c.coords) / n.norm() >= -r)
}

/// Renders `room` from `T_map_camera` with intrinsics `k`; with `noise`, applies
/// the sensor noise models of [`super::noise`] (instance ids stay exact).
pub fn render(
    room: &Room,
    T_map_camera: &Pose,
    k: &CameraIntrinsics,
    noise: Option<&mut Rng>,
) -> RenderedFrame {
    Renderer::new().render(room, T_map_camera, k, noise)
}
