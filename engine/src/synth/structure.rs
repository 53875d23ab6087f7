//! The fixed parts of a room: doors and windows on its walls, the structure
//! mesh (floor, walls with door holes, ceiling, door vestibules, framed windows)
//! and its lights.
//!
//! Guarantees: the structure is closed (every viewing ray from inside the floor
//! plan below the ceiling hits a surface), its normals face the room (vestibule
//! surfaces face the vestibule), openings on one wall never overlap and keep
//! 0.3 m from each other and 0.4 m from the wall's ends; in a symmetric room the
//! openings come in pairs turned by 180° about the centre. Map frame, metres,
//! z up; textures are evaluated in map coordinates.

use nalgebra::{Point2, Point3, Vector2, Vector3};

use super::mesh::Mesh;
use super::objects::Material;
use super::palette;
use super::room::{FloorPlan, Light, Lighting, Opening, OpeningKind, RoomKind, Structure};
use super::texture::{Rgb, Texture};
use crate::rng::Rng;

/// One or two doors (a pair in a symmetric room) and up to three windows (pairs
/// in a symmetric room) on the walls of `plan` with wall height `h`.
pub(super) fn make_openings(
    plan: &FloorPlan,
    h: f32,
    symmetric: bool,
    rng: &mut Rng,
) -> Vec<Opening> {
    let edges: Vec<(Point2<f32>, Point2<f32>)> = plan.edges().collect();
    let n_edges = edges.len();
    let mut out: Vec<Opening> = Vec::new();
    let free = |out: &[Opening], edge: usize, s0: f32, s1: f32| {
        out.iter()
            .filter(|o| o.edge == edge)
            .all(|o| s1 + 0.3 < o.start || s0 > o.start + o.width + 0.3)
    };
    let doors = if symmetric { 1 } else { 1 + rng.below(2) };
    let windows = rng.below(4);
    for i in 0..(doors + windows) {
        let kind = if i < doors {
            OpeningKind::Door
        } else {
            OpeningKind::Window
        };
        for _ in 0..30 {
            let edge = rng.below(n_edges);
            let Some((a, b)) = edges.get(edge) else {
                continue;
            };
            let len = (b - a).norm();
            let (width, bottom, top) = match kind {
                OpeningKind::Door => (rng.range(0.8, 1.0), 0.0, rng.range(2.0, 2.15).min(h - 0.2)),
                OpeningKind::Window => {
                    let bottom = rng.range(0.8, 1.0);
                    (
                        rng.range(0.8, 1.6),
                        bottom,
                        (bottom + rng.range(1.0, 1.4)).min(h - 0.25),
                    )
                }
            };
            if len < width + 1.0 {
                continue;
            }
            let start = rng.range(0.4, len - width - 0.4);
            if !free(&out, edge, start, start + width) {
                continue;
            }
            let o = Opening {
                kind,
                edge,
                start,
                width,
                bottom,
                top,
            };
            if symmetric {
                // the opposite edge of a rectangle, mirrored position (180° turn)
                let twin_edge = (edge + 2) % n_edges;
                let twin = Opening {
                    edge: twin_edge,
                    ..o
                };
                if !free(&out, twin_edge, start, start + width) {
                    continue;
                }
                out.push(o);
                out.push(twin);
            } else {
                out.push(o);
            }
            break;
        }
    }
    out
}

fn wall_quad(
    m: &mut Mesh,
    a: Point2<f32>,
    u: Vector2<f32>,
    n: Vector2<f32>,
    s: [f32; 2],
    z: [f32; 2],
    off: f32,
    mat: u16,
) {
    let p = |s: f32, z: f32| Point3::new(a.x + u.x * s + n.x * off, a.y + u.y * s + n.y * off, z);
    m.push_quad(
        [p(s[0], z[0]), p(s[0], z[1]), p(s[1], z[1]), p(s[1], z[0])],
        Vector3::new(n.x, n.y, 0.0),
        mat,
    );
}

/// Builds floor, ceiling, walls with door holes, door vestibules and windows.
pub(super) fn build_structure(
    plan: &FloorPlan,
    h: f32,
    openings: &[Opening],
    kind: RoomKind,
    rng: &mut Rng,
) -> Structure {
    let mut m = Mesh::new();
    for r in &plan.rects {
        let q = |x: f32, y: f32, z: f32| Point3::new(x, y, z);
        m.push_quad(
            [
                q(r[0], r[1], 0.0),
                q(r[2], r[1], 0.0),
                q(r[2], r[3], 0.0),
                q(r[0], r[3], 0.0),
            ],
            Vector3::z(),
            0,
        );
        m.push_quad(
            [
                q(r[0], r[1], h),
                q(r[0], r[3], h),
                q(r[2], r[3], h),
                q(r[2], r[1], h),
            ],
            -Vector3::z(),
            2,
        );
    }
    for (ei, (a, b)) in plan.edges().enumerate() {
        let len = (b - a).norm();
        let u = (b - a) / len.max(1e-6);
        let n = Vector2::new(-u.y, u.x);
        let mut doors: Vec<&Opening> = openings
            .iter()
            .filter(|o| o.edge == ei && o.kind == OpeningKind::Door)
            .collect();
        doors.sort_by(|x, y| x.start.total_cmp(&y.start));
        let mut cuts = vec![0.0, len];
        for d in &doors {
            cuts.push(d.start);
            cuts.push(d.start + d.width);
        }
        cuts.sort_by(f32::total_cmp);
        for w in cuts.windows(2) {
            let (s0, s1) = (w[0], w[1]);
            if s1 - s0 < 1e-4 {
                continue;
            }
            let mid = 0.5 * (s0 + s1);
            match doors
                .iter()
                .find(|d| mid > d.start && mid < d.start + d.width)
            {
                Some(d) => wall_quad(&mut m, a, u, n, [s0, s1], [d.top, h], 0.0, 1),
                None => wall_quad(&mut m, a, u, n, [s0, s1], [0.0, h], 0.0, 1),
            }
        }
        for d in &doors {
            // vestibule behind the door: side walls, back wall, floor, ceiling
            let depth = 1.0;
            let (s0, s1) = (d.start, d.start + d.width);
            let back = -depth;
            let p = |s: f32, off: f32, z: f32| {
                Point3::new(a.x + u.x * s + n.x * off, a.y + u.y * s + n.y * off, z)
            };
            wall_quad(&mut m, a, u, n, [s0, s1], [0.0, d.top], back, 1);
            let (un, uz) = (Vector3::new(u.x, u.y, 0.0), d.top);
            m.push_quad(
                [
                    p(s0, 0.0, 0.0),
                    p(s0, back, 0.0),
                    p(s0, back, uz),
                    p(s0, 0.0, uz),
                ],
                un,
                1,
            );
            m.push_quad(
                [
                    p(s1, 0.0, 0.0),
                    p(s1, 0.0, uz),
                    p(s1, back, uz),
                    p(s1, back, 0.0),
                ],
                -un,
                1,
            );
            m.push_quad(
                [
                    p(s0, 0.0, 0.0),
                    p(s1, 0.0, 0.0),
                    p(s1, back, 0.0),
                    p(s0, back, 0.0),
                ],
                Vector3::z(),
                0,
            );
            m.push_quad(
                [
                    p(s0, 0.0, uz),
                    p(s0, back, uz),
                    p(s1, back, uz),
                    p(s1, 0.0, uz),
                ],
                -Vector3::z(),
                2,
            );
        }
        for w in openings
            .iter()
            .filter(|o| o.edge == ei && o.kind == OpeningKind::Window)
        {
            let (s0, s1) = (w.start, w.start + w.width);
            wall_quad(&mut m, a, u, n, [s0, s1], [w.bottom, w.top], 0.004, 3);
            let f = 0.05;
            let frame = |m: &mut Mesh, s: [f32; 2], z: [f32; 2]| {
                let c = a + u * (0.5 * (s[0] + s[1])) + n * 0.02;
                let dir = u;
                let mut b = Mesh::block(0.0, 0.0, z[0], s[1] - s[0], 0.04, z[1], 4);
                let yaw = dir.y.atan2(dir.x);
                b.transform(&nalgebra::Isometry3::new(
                    Vector3::new(c.x, c.y, 0.0),
                    Vector3::z() * yaw,
                ));
                m.append(&b);
            };
            frame(&mut m, [s0 - f, s1 + f], [w.bottom - f, w.bottom]);
            frame(&mut m, [s0 - f, s1 + f], [w.top, w.top + f]);
            frame(&mut m, [s0 - f, s0], [w.bottom, w.top]);
            frame(&mut m, [s1, s1 + f], [w.bottom, w.top]);
            frame(
                &mut m,
                [s0 + 0.5 * w.width - 0.015, s0 + 0.5 * w.width + 0.015],
                [w.bottom, w.top],
            );
        }
    }
    let floor = match kind {
        RoomKind::Kitchen => Texture::Tiles {
            tile: palette::pick(
                rng,
                &[[0.85, 0.84, 0.8], [0.55, 0.5, 0.45], [0.3, 0.3, 0.32]],
                [0.85, 0.84, 0.8],
            ),
            grout: [0.45, 0.43, 0.4],
            size: rng.range(0.25, 0.5),
            normal_axis: 2,
            seed: rng.next_u64() as u32,
        },
        RoomKind::Office | RoomKind::MeetingRoom | RoomKind::Bedroom if rng.chance(0.5) => {
            Texture::Fabric {
                base: palette::pick(
                    rng,
                    &[
                        [0.35, 0.35, 0.38],
                        [0.5, 0.42, 0.35],
                        [0.3, 0.35, 0.45],
                        [0.6, 0.55, 0.5],
                    ],
                    [0.35, 0.35, 0.38],
                ),
                variation: 0.15,
                scale: 0.015,
                seed: rng.next_u64() as u32,
            }
        }
        RoomKind::Storage => Texture::Speckle {
            base: [0.55, 0.55, 0.53],
            speck: [0.35, 0.35, 0.35],
            density: 0.15,
            scale: 0.01,
            seed: rng.next_u64() as u32,
        },
        _ => {
            let (light, dark) = palette::pick(rng, &palette::WOODS, palette::WOODS[0]);
            Texture::Planks {
                light,
                dark,
                width: rng.range(0.1, 0.2),
                length: rng.range(0.8, 1.6),
                seed: rng.next_u64() as u32,
            }
        }
    };
    let wall_color = palette::pick(rng, &palette::WALLS, palette::WALLS[0]);
    let wall = if kind == RoomKind::Bedroom && rng.chance(0.4) {
        Texture::Stripes {
            a: wall_color,
            b: [
                wall_color[0] * 0.9,
                wall_color[1] * 0.88,
                wall_color[2] * 0.85,
            ],
            period: rng.range(0.1, 0.3),
            axis: if rng.chance(0.5) { 0 } else { 1 },
        }
    } else {
        Texture::Paint {
            color: wall_color,
            variation: 0.04,
            seed: rng.next_u64() as u32,
        }
    };
    let materials = vec![
        Material::matte(floor),
        Material::matte(wall),
        Material::matte(Texture::Solid([0.95, 0.95, 0.94])),
        Material::shiny(Texture::Solid([0.55, 0.68, 0.78])),
        Material::matte(Texture::Solid([0.92, 0.92, 0.9])),
    ];
    Structure { mesh: m, materials }
}

/// Ambient light, a sun-like and a fill directional light, and one ceiling light
/// per floor rectangle, warm or cool.
pub(super) fn make_lighting(plan: &FloorPlan, h: f32, rng: &mut Rng) -> Lighting {
    let warm = rng.chance(0.5);
    let tint: Rgb = if warm {
        [1.0, 0.95, 0.86]
    } else {
        [0.92, 0.96, 1.04]
    };
    let amb = rng.range(0.32, 0.45);
    let ambient = [amb * tint[0], amb * tint[1], amb * tint[2]];
    let az = rng.range(0.0, std::f32::consts::TAU);
    let el = rng.range(0.5, 1.1);
    let sun = Vector3::new(az.cos() * el.cos(), az.sin() * el.cos(), -el.sin());
    let s = rng.range(0.35, 0.55);
    let mut lights = vec![Light::Directional {
        direction: sun.normalize(),
        intensity: [s * tint[0], s * tint[1], s * tint[2]],
    }];
    let fill = Vector3::new(-az.cos(), -az.sin(), -0.3).normalize();
    lights.push(Light::Directional {
        direction: fill,
        intensity: [0.12, 0.12, 0.13],
    });
    for r in &plan.rects {
        let p = rng.range(0.35, 0.55);
        lights.push(Light::Point {
            position: Point3::new(0.5 * (r[0] + r[2]), 0.5 * (r[1] + r[3]), h - 0.05),
            intensity: [p * tint[0], p * tint[1], p * tint[2]],
            range: rng.range(2.0, 3.0),
        });
    }
    Lighting { ambient, lights }
}
