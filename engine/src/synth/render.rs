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
use super::room::{Light, Room};
use super::texture::luminance;
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

/// A reusable renderer (keeps its buffers between frames).
#[derive(Debug, Default)]
pub struct Renderer {
    zbuf: Vec<f32>,
    draw: Vec<u32>,
    tri: Vec<u32>,
    b1: Vec<f32>,
    b2: Vec<f32>,
    cam: Vec<Point3<f32>>,
    cos: Vec<f32>,
    flags: Vec<u8>,
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
        let (w, h) = (k.width as usize, k.height as usize);
        let n = w * h;
        self.zbuf.clear();
        self.zbuf.resize(n, f32::INFINITY);
        self.draw.clear();
        self.draw.resize(n, NONE);
        self.tri.clear();
        self.tri.resize(n, 0);
        self.b1.clear();
        self.b1.resize(n, 0.0);
        self.b2.clear();
        self.b2.resize(n, 0.0);
        let T_camera_map = T_map_camera.inverse();
        let items = drawables(room);
        for (di, d) in items.iter().enumerate() {
            let T_cam_local = T_camera_map * d.T_map_local;
            let c = T_cam_local * d.centre;
            if !sphere_visible(&c, d.radius, k) {
                continue;
            }
            self.cam.clear();
            self.cam
                .extend(d.mesh.positions.iter().map(|p| T_cam_local * p));
            for (ti, t) in d.mesh.triangles.iter().enumerate() {
                let (Some(&p0), Some(&p1), Some(&p2)) = (
                    self.cam.get(t[0] as usize),
                    self.cam.get(t[1] as usize),
                    self.cam.get(t[2] as usize),
                ) else {
                    continue;
                };
                self.clip_and_raster([p0, p1, p2], k, di as u32, ti as u32);
            }
        }
        let mut frame = self.shade(room, &items, T_map_camera, k);
        if let Some(rng) = noise {
            if let crate::frame::DepthData::Metres(z) = &mut frame.depth.data {
                noise::apply_depth_noise(z, &self.cos, &self.flags, k, rng);
            }
            noise::apply_color_noise(&mut frame.color, rng);
        }
        frame
    }

    fn clip_and_raster(&mut self, p: [Point3<f32>; 3], k: &CameraIntrinsics, draw: u32, tri: u32) {
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
            self.raster(&v, k, draw, tri);
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
            self.raster(&v, k, draw, tri);
        }
    }

    fn raster(&mut self, v: &[ClipVert; 3], k: &CameraIntrinsics, draw: u32, tri: u32) {
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
        let (at0, at1, at2) = (v[0].a, v[1].a, v[2].a);
        let eps = -1e-9;
        for y in ymin..=ymax {
            let yf = y as f64;
            let row = (y * w) as usize;
            // the span of x where every weight is non-negative (widened by a pixel;
            // the exact per-pixel test below decides)
            let (mut lo, mut hi) = (xmin as f64, xmax as f64);
            for (a, r) in [(a0, b0 * yf + c0), (a1, b1 * yf + c1), (a2, b2 * yf + c2)] {
                if a > 0.0 {
                    lo = lo.max((eps - r) / a);
                } else if a < 0.0 {
                    hi = hi.min((eps - r) / a);
                } else if r < eps {
                    lo = f64::INFINITY;
                }
            }
            if lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less)
                && lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Equal)
            {
                continue;
            }
            let xs = ((lo.ceil() as i64) - 1).max(xmin);
            let xe = ((hi.floor() as i64) + 1).min(xmax);
            for x in xs..=xe {
                let xf = x as f64;
                let l0 = a0 * xf + b0 * yf + c0;
                let l1 = a1 * xf + b1 * yf + c1;
                let l2 = a2 * xf + b2 * yf + c2;
                if l0 < eps || l1 < eps || l2 < eps {
                    continue;
                }
                let invz = l0 * iz0 + l1 * iz1 + l2 * iz2;
                if invz <= 0.0 {
                    continue;
                }
                let z = (1.0 / invz) as f32;
                let idx = row + x as usize;
                let Some(zb) = self.zbuf.get_mut(idx) else {
                    continue;
                };
                if z >= *zb {
                    continue;
                }
                *zb = z;
                let (q0, q1, q2) = (l0 * iz0 / invz, l1 * iz1 / invz, l2 * iz2 / invz);
                let bb1 = q0 * at0[1] as f64 + q1 * at1[1] as f64 + q2 * at2[1] as f64;
                let bb2 = q0 * at0[2] as f64 + q1 * at1[2] as f64 + q2 * at2[2] as f64;
                if let (Some(d), Some(t), Some(s1), Some(s2)) = (
                    self.draw.get_mut(idx),
                    self.tri.get_mut(idx),
                    self.b1.get_mut(idx),
                    self.b2.get_mut(idx),
                ) {
                    *d = draw;
                    *t = tri;
                    *s1 = bb1 as f32;
                    *s2 = bb2 as f32;
                }
            }
        }
    }

    fn shade(
        &mut self,
        room: &Room,
        items: &[Drawable],
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
        let rots: Vec<[f32; 9]> = items
            .iter()
            .map(|d| mat3(&d.T_map_local.rotation))
            .collect();
        let cam = T_map_camera.translation.vector;
        let cam = [cam.x, cam.y, cam.z];
        let rc = mat3(&T_map_camera.rotation);
        let lights = LightSet::new(&room.lighting.lights);
        let ambient = room.lighting.ambient;
        let (ifx, ify) = (1.0 / k.fx, 1.0 / k.fy);
        let pixels = (0..h).flat_map(|v| (0..w).map(move |u| (u, v)));
        for (idx, (pu, pv)) in pixels.enumerate() {
            let di = self.draw[idx];
            if di == NONE {
                continue;
            }
            let (Some(d), Some(r)) = (items.get(di as usize), rots.get(di as usize)) else {
                continue;
            };
            let ti = self.tri[idx] as usize;
            let Some(t) = d.mesh.triangles.get(ti) else {
                continue;
            };
            let slot = d.mesh.materials.get(ti).copied().unwrap_or(0);
            let (b1, b2) = (self.b1[idx], self.b2[idx]);
            let b0 = 1.0 - b1 - b2;
            let (Some(p0), Some(p1), Some(p2)) = (
                d.mesh.positions.get(t[0] as usize),
                d.mesh.positions.get(t[1] as usize),
                d.mesh.positions.get(t[2] as usize),
            ) else {
                continue;
            };
            let (Some(n0), Some(n1), Some(n2)) = (
                d.mesh.normals.get(t[0] as usize),
                d.mesh.normals.get(t[1] as usize),
                d.mesh.normals.get(t[2] as usize),
            ) else {
                continue;
            };
            let pl = Point3::new(
                p0.x * b0 + p1.x * b1 + p2.x * b2,
                p0.y * b0 + p1.y * b1 + p2.y * b2,
                p0.z * b0 + p1.z * b1 + p2.z * b2,
            );
            let nl = [
                n0.x * b0 + n1.x * b1 + n2.x * b2,
                n0.y * b0 + n1.y * b1 + n2.y * b2,
                n0.z * b0 + n1.z * b1 + n2.z * b2,
            ];
            let Some(mat) = d
                .materials
                .get(slot as usize)
                .or_else(|| d.materials.last())
            else {
                continue;
            };
            let albedo = mat.texture.eval(&pl);
            let z = self.zbuf[idx];
            // viewing ray in the map frame, and the surface point
            let (x, y) = ((pu as f32 - k.cx) * ifx, (pv as f32 - k.cy) * ify);
            let ray = [
                rc[0] * x + rc[1] * y + rc[2],
                rc[3] * x + rc[4] * y + rc[5],
                rc[6] * x + rc[7] * y + rc[8],
            ];
            let world = [
                cam[0] + ray[0] * z,
                cam[1] + ray[1] * z,
                cam[2] + ray[2] * z,
            ];
            let inv_ray = 1.0 / dot(&ray, &ray).sqrt();
            let view = [-ray[0] * inv_ray, -ray[1] * inv_ray, -ray[2] * inv_ray];
            let mut nm = [
                r[0] * nl[0] + r[1] * nl[1] + r[2] * nl[2],
                r[3] * nl[0] + r[4] * nl[1] + r[5] * nl[2],
                r[6] * nl[0] + r[7] * nl[1] + r[8] * nl[2],
            ];
            let len2 = dot(&nm, &nm);
            let inv = if len2 > 1e-18 { 1.0 / len2.sqrt() } else { 0.0 };
            let mut c = dot(&nm, &view) * inv;
            let sign = if c < 0.0 { -inv } else { inv };
            c = c.abs();
            for v in &mut nm {
                *v *= sign;
            }
            let (light, spec) = lights.shade(&nm, &world, &view, ambient, mat.shiny);
            let px = idx * 3;
            if let Some(out) = color.data.get_mut(px..px + 3) {
                for ch in 0..3 {
                    let val = albedo[ch] * light[ch] + spec;
                    out[ch] = (val.clamp(0.0, 1.0) * 255.0 + 0.5) as u8;
                }
            }
            depth[idx] = z;
            inst[idx] = d.id;
            self.cos[idx] = c;
            let mut f = 0;
            if mat.shiny {
                f |= flags::SHINY;
            }
            if luminance(albedo) < 0.1 {
                f |= flags::DARK;
            }
            self.flags[idx] = f;
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
fn dot(a: &[f32; 3], b: &[f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// The room's lights in a flat form for per-pixel shading.
struct LightSet {
    /// Direction towards the light (unit) and intensity.
    directional: Vec<([f32; 3], [f32; 3])>,
    /// Position, intensity and 1 / range².
    point: Vec<([f32; 3], [f32; 3], f32)>,
}

impl LightSet {
    fn new(lights: &[Light]) -> LightSet {
        let mut set = LightSet {
            directional: Vec::new(),
            point: Vec::new(),
        };
        for l in lights {
            match l {
                Light::Directional {
                    direction,
                    intensity,
                } => {
                    let d = -direction.try_normalize(1e-9).unwrap_or_else(Vector3::z);
                    set.directional.push(([d.x, d.y, d.z], *intensity));
                }
                Light::Point {
                    position,
                    intensity,
                    range,
                } => set.point.push((
                    [position.x, position.y, position.z],
                    *intensity,
                    1.0 / (range * range).max(1e-6),
                )),
            }
        }
        set
    }

    /// Diffuse light (RGB, ambient included) and specular intensity at a point
    /// with unit normal `n` seen along unit `view` (towards the camera).
    #[inline(always)]
    fn shade(
        &self,
        n: &[f32; 3],
        p: &[f32; 3],
        view: &[f32; 3],
        ambient: [f32; 3],
        shiny: bool,
    ) -> ([f32; 3], f32) {
        let mut light = ambient;
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
        for (d, inten) in &self.directional {
            add(*d, inten, 1.0);
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
