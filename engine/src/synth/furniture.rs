//! Parametric builders of large furniture: tables, desks and storage (seating and
//! beds are in [`super::seating`]).
//!
//! Every builder follows the object frame convention of [`super::objects`]: origin
//! at the bottom centre, z up, front +y. Sizes are drawn from realistic ranges
//! (metres) with the given generator, so one seed always gives the same model.

use nalgebra::Vector3;

use super::mesh::Mesh;
use super::objects::{Material, ObjectKind, ObjectModel};
use super::palette::{self, METAL_DARK, STEEL};
use super::texture::{Rgb, Texture};
use crate::rng::Rng;

/// Size class of a model (e.g. a meeting table is `Large`, a potted herb `Small`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeClass {
    /// Smaller than usual (small plants on supports, single beds).
    Small,
    /// The usual size range.
    Normal,
    /// Larger than usual (meeting tables, large plants).
    Large,
}

/// A matte solid-colour material.
pub(super) fn solid(c: Rgb) -> Material {
    Material::matte(Texture::Solid(c))
}

/// Four legs of square section `s` under a `w` × `d` top, inset by `inset`.
pub(super) fn legs(m: &mut Mesh, w: f32, d: f32, inset: f32, s: f32, h: f32, mat: u16) {
    for sx in [-1.0, 1.0] {
        for sy in [-1.0, 1.0] {
            let x = sx * (w * 0.5 - inset - s * 0.5);
            let y = sy * (d * 0.5 - inset - s * 0.5);
            m.append(&Mesh::block(x, y, 0.0, s, s, h, mat));
        }
    }
}

/// Dining/meeting table (`Large` = meeting table). Slots: 0 top, 1 legs.
pub fn table(rng: &mut Rng, size: SizeClass) -> ObjectModel {
    let (w, d) = match size {
        SizeClass::Large => (rng.range(2.0, 3.0), rng.range(1.0, 1.25)),
        SizeClass::Small => (rng.range(0.7, 0.9), rng.range(0.7, 0.8)),
        SizeClass::Normal => (rng.range(1.1, 1.7), rng.range(0.75, 0.95)),
    };
    let h = rng.range(0.72, 0.77);
    let t = rng.range(0.025, 0.045);
    let top = palette::wood_or_paint(rng, 0.6, 0);
    let leg_mat = if rng.chance(0.5) {
        solid(METAL_DARK)
    } else {
        Material::matte(top.clone())
    };
    let mut m = Mesh::new();
    if size != SizeClass::Large && rng.chance(0.25) {
        let r = w.min(d) * 0.5 + 0.1;
        m.append(&Mesh::frustum(r, r, t, 40, 0).translated(Vector3::new(0.0, 0.0, h - t)));
        m.append(&Mesh::frustum(0.04, 0.04, h - t, 12, 1));
        m.append(&Mesh::frustum(0.25, 0.22, 0.03, 24, 1));
        let half = r * std::f32::consts::FRAC_1_SQRT_2 - 0.04;
        return ObjectModel::new(ObjectKind::Table, m, vec![Material::matte(top), leg_mat], 0)
            .with_support(h, [half, half]);
    }
    m.append(&Mesh::block(0.0, 0.0, h - t, w, d, h, 0));
    let apron = 0.08;
    let inset = 0.04;
    for sy in [-1.0, 1.0] {
        let y = sy * (d * 0.5 - inset - 0.01);
        m.append(&Mesh::block(
            0.0,
            y,
            h - t - apron,
            w - 2.0 * inset,
            0.02,
            h - t,
            0,
        ));
    }
    legs(&mut m, w, d, inset, rng.range(0.04, 0.07), h - t, 1);
    ObjectModel::new(ObjectKind::Table, m, vec![Material::matte(top), leg_mat], 0)
        .with_support(h, [w * 0.5 - 0.05, d * 0.5 - 0.05])
}

/// Low living-room table. Slots: 0 top, 1 legs.
pub fn coffee_table(rng: &mut Rng) -> ObjectModel {
    let (w, d, h) = (
        rng.range(0.8, 1.3),
        rng.range(0.5, 0.7),
        rng.range(0.38, 0.46),
    );
    let top = palette::wood_or_paint(rng, 0.7, 0);
    let mut m = Mesh::new();
    m.append(&Mesh::block(0.0, 0.0, h - 0.04, w, d, h, 0));
    legs(&mut m, w, d, 0.03, 0.05, h - 0.04, 1);
    if rng.chance(0.5) {
        m.append(&Mesh::block(0.0, 0.0, 0.1, w - 0.08, d - 0.08, 0.12, 0));
    }
    let legs_mat = Material::matte(palette::wood(rng, 2));
    ObjectModel::new(
        ObjectKind::CoffeeTable,
        m,
        vec![Material::matte(top), legs_mat],
        0,
    )
    .with_support(h, [w * 0.5 - 0.05, d * 0.5 - 0.05])
}

/// Desk with a drawer block on its right (+x) side. Slots: 0 top, 1 body, 2 handles.
pub fn desk(rng: &mut Rng) -> ObjectModel {
    let (w, d, h) = (
        rng.range(1.2, 1.6),
        rng.range(0.6, 0.8),
        rng.range(0.73, 0.76),
    );
    let t = 0.03;
    let top = palette::wood_or_paint(rng, 0.5, 0);
    let body = palette::paint(rng);
    let mut m = Mesh::new();
    m.append(&Mesh::block(0.0, 0.0, h - t, w, d, h, 0));
    // left panel, modesty panel, drawer block
    m.append(&Mesh::block(
        -w * 0.5 + 0.015,
        0.0,
        0.0,
        0.03,
        d - 0.02,
        h - t,
        1,
    ));
    m.append(&Mesh::block(
        0.0,
        -d * 0.5 + 0.05,
        0.3,
        w - 0.06,
        0.015,
        h - t,
        1,
    ));
    let bw = rng.range(0.38, 0.45);
    let bx = w * 0.5 - bw * 0.5 - 0.01;
    m.append(&Mesh::block(bx, -0.01, 0.0, bw, d - 0.04, h - t, 1));
    let drawers = 3;
    let dh = (h - t - 0.04) / drawers as f32;
    for i in 0..drawers {
        let z0 = 0.03 + i as f32 * dh;
        let yf = d * 0.5 - 0.03;
        m.append(&Mesh::block(
            bx,
            yf,
            z0 + 0.005,
            bw - 0.02,
            0.012,
            z0 + dh - 0.005,
            1,
        ));
        m.append(&Mesh::block(
            bx,
            yf + 0.012,
            z0 + dh * 0.5 - 0.008,
            0.1,
            0.015,
            z0 + dh * 0.5 + 0.008,
            2,
        ));
    }
    ObjectModel::new(
        ObjectKind::Desk,
        m,
        vec![
            Material::matte(top),
            Material::matte(body),
            Material::shiny(Texture::Solid(STEEL)),
        ],
        0,
    )
    .with_support(h, [w * 0.5 - 0.05, d * 0.5 - 0.05])
}

/// Bookcase with shelves of books. Slots: 0 carcass, 1.. book colours.
pub fn bookshelf(rng: &mut Rng) -> ObjectModel {
    let (w, d, h) = (
        rng.range(0.8, 1.2),
        rng.range(0.3, 0.38),
        rng.range(1.6, 2.0),
    );
    let t = 0.02;
    let carcass = palette::wood_or_paint(rng, 0.6, 2);
    let mut m = Mesh::new();
    for sx in [-1.0, 1.0] {
        m.append(&Mesh::block(sx * (w * 0.5 - t * 0.5), 0.0, 0.0, t, d, h, 0));
    }
    m.append(&Mesh::block(
        0.0,
        -d * 0.5 + 0.005,
        0.0,
        w - 2.0 * t,
        0.01,
        h,
        0,
    ));
    m.append(&Mesh::block(0.0, 0.0, h - t, w - 2.0 * t, d, h, 0));
    m.append(&Mesh::block(0.0, 0.01, 0.0, w - 2.0 * t, d - 0.02, 0.08, 0));
    let levels = 4 + rng.below(2);
    let pitch = (h - 0.08 - t) / levels as f32;
    let n_colours = 6;
    let mut materials = vec![Material::matte(carcass)];
    for _ in 0..n_colours {
        materials.push(Material::matte(Texture::Solid(palette::pick(
            rng,
            &palette::BOOKS,
            palette::BOOKS[0],
        ))));
    }
    for i in 0..levels {
        let z0 = 0.08 + i as f32 * pitch;
        if i > 0 {
            m.append(&Mesh::block(0.0, 0.0, z0 - t, w - 2.0 * t, d - 0.01, z0, 0));
        }
        let fill = rng.range(0.3, 1.0);
        let x_end = -w * 0.5 + t + (w - 2.0 * t) * fill;
        let mut x = -w * 0.5 + t + 0.005;
        while x < x_end - 0.02 {
            if rng.chance(0.08) {
                x += rng.range(0.04, 0.12);
                continue;
            }
            let bw = rng.range(0.018, 0.05);
            if x + bw > w * 0.5 - t {
                break;
            }
            let bh = (pitch - t) * rng.range(0.6, 0.92);
            let bd = rng.range(0.15, (d - 0.03).max(0.16));
            let slot = 1 + rng.below(n_colours) as u16;
            let y0 = -d * 0.5 + 0.012;
            m.append(&Mesh::cuboid(
                nalgebra::Point3::new(x, y0, z0),
                nalgebra::Point3::new(x + bw, y0 + bd, z0 + bh),
                slot,
            ));
            x += bw + 0.002;
        }
    }
    ObjectModel::new(ObjectKind::Bookshelf, m, materials, 0)
}

/// Doors with handles on the front face (y = `yf`) between `x0` and `x1`.
fn doors(
    m: &mut Mesh,
    x0: f32,
    x1: f32,
    z0: f32,
    z1: f32,
    yf: f32,
    n: usize,
    door_mat: u16,
    handle_mat: u16,
) {
    let n = n.max(1);
    let dw = (x1 - x0) / n as f32;
    for i in 0..n {
        let a = x0 + i as f32 * dw;
        m.append(&Mesh::cuboid(
            nalgebra::Point3::new(a + 0.004, yf, z0 + 0.004),
            nalgebra::Point3::new(a + dw - 0.004, yf + 0.015, z1 - 0.004),
            door_mat,
        ));
        let hx = if i % 2 == 0 { a + dw - 0.05 } else { a + 0.05 };
        let hz = if z1 - z0 > 1.2 {
            z0 + (z1 - z0) * 0.5
        } else {
            z1 - 0.1
        };
        m.append(&Mesh::block(
            hx,
            yf + 0.025,
            hz - 0.06,
            0.015,
            0.02,
            hz + 0.06,
            handle_mat,
        ));
    }
}

/// Low cabinet with doors. Slots: 0 body, 1 top, 2 handles.
pub fn cabinet(rng: &mut Rng) -> ObjectModel {
    let (w, d, h) = (
        rng.range(0.6, 1.2),
        rng.range(0.4, 0.5),
        rng.range(0.7, 1.05),
    );
    let body = palette::wood_or_paint(rng, 0.4, 2);
    let top = if rng.chance(0.5) {
        palette::wood(rng, 0)
    } else {
        body.clone()
    };
    let mut m = Mesh::new();
    m.append(&Mesh::block(0.0, 0.0, 0.0, w - 0.02, d - 0.03, 0.06, 2));
    m.append(&Mesh::block(0.0, -0.015, 0.06, w, d - 0.03, h - 0.025, 0));
    m.append(&Mesh::block(0.0, 0.0, h - 0.025, w + 0.02, d, h, 1));
    let n = if w > 0.8 { 2 } else { 1 + rng.below(2) };
    doors(
        &mut m,
        -w * 0.5,
        w * 0.5,
        0.07,
        h - 0.03,
        d * 0.5 - 0.03,
        n,
        0,
        2,
    );
    ObjectModel::new(
        ObjectKind::Cabinet,
        m,
        vec![
            Material::matte(body),
            Material::matte(top),
            Material::shiny(Texture::Solid(STEEL)),
        ],
        0,
    )
    .with_support(h, [w * 0.5 - 0.04, d * 0.5 - 0.04])
}

/// Bedside table with a drawer. Slots: 0 body, 1 knob.
pub fn nightstand(rng: &mut Rng) -> ObjectModel {
    let (w, d, h) = (
        rng.range(0.4, 0.52),
        rng.range(0.35, 0.45),
        rng.range(0.48, 0.62),
    );
    let body = palette::wood_or_paint(rng, 0.6, 0);
    let mut m = Mesh::new();
    legs(&mut m, w, d, 0.0, 0.035, 0.1, 0);
    m.append(&Mesh::block(0.0, 0.0, 0.1, w, d, h, 0));
    m.append(&Mesh::block(
        0.0,
        d * 0.5 + 0.006,
        h - 0.17,
        w - 0.03,
        0.012,
        h - 0.03,
        0,
    ));
    m.append(
        &Mesh::ellipsoid(Vector3::new(0.015, 0.015, 0.015), 6, 10, 1).translated(Vector3::new(
            0.0,
            d * 0.5 + 0.02,
            h - 0.1,
        )),
    );
    ObjectModel::new(
        ObjectKind::Nightstand,
        m,
        vec![Material::matte(body), solid([0.75, 0.65, 0.35])],
        0,
    )
    .with_support(h, [w * 0.5 - 0.03, d * 0.5 - 0.03])
}

/// Tall wardrobe with two doors. Slots: 0 body, 1 handles.
pub fn wardrobe(rng: &mut Rng) -> ObjectModel {
    let (w, d, h) = (
        rng.range(1.0, 1.6),
        rng.range(0.55, 0.62),
        rng.range(1.9, 2.1),
    );
    let body = palette::wood_or_paint(rng, 0.5, 2);
    let mut m = Mesh::new();
    m.append(&Mesh::block(0.0, -0.01, 0.0, w, d - 0.02, h, 0));
    let n = if w > 1.3 { 3 } else { 2 };
    doors(
        &mut m,
        -w * 0.5,
        w * 0.5,
        0.08,
        h - 0.04,
        d * 0.5 - 0.02,
        n,
        0,
        1,
    );
    ObjectModel::new(
        ObjectKind::Wardrobe,
        m,
        vec![
            Material::matte(body),
            Material::shiny(Texture::Solid(STEEL)),
        ],
        0,
    )
}

/// Kitchen counter with a stone worktop. Slots: 0 body, 1 worktop, 2 handles, 3 plinth.
pub fn counter(rng: &mut Rng) -> ObjectModel {
    let n = 2 + rng.below(3);
    let w = n as f32 * 0.6;
    let (d, h) = (0.6, rng.range(0.88, 0.92));
    let body = palette::paint(rng);
    let top = Texture::Speckle {
        base: palette::pick(
            rng,
            &[[0.2, 0.2, 0.22], [0.85, 0.84, 0.8], [0.5, 0.45, 0.4]],
            [0.5, 0.5, 0.5],
        ),
        speck: palette::pick(
            rng,
            &[[0.9, 0.9, 0.9], [0.1, 0.1, 0.1], [0.6, 0.5, 0.4]],
            [0.9, 0.9, 0.9],
        ),
        density: rng.range(0.08, 0.2),
        scale: rng.range(0.004, 0.01),
        seed: rng.next_u64() as u32,
    };
    let mut m = Mesh::new();
    m.append(&Mesh::block(0.0, -0.04, 0.0, w, d - 0.1, 0.1, 3));
    m.append(&Mesh::block(0.0, -0.01, 0.1, w, d - 0.04, h - 0.04, 0));
    m.append(&Mesh::block(0.0, 0.0, h - 0.04, w, d, h, 1));
    doors(
        &mut m,
        -w * 0.5,
        w * 0.5,
        0.1,
        h - 0.05,
        d * 0.5 - 0.03,
        n,
        0,
        2,
    );
    ObjectModel::new(
        ObjectKind::Counter,
        m,
        vec![
            Material::matte(body),
            Material::matte(top),
            Material::shiny(Texture::Solid(STEEL)),
            solid(METAL_DARK),
        ],
        0,
    )
    .with_support(h, [w * 0.5 - 0.04, d * 0.5 - 0.06])
}

/// Fridge (white or steel). Slots: 0 body, 1 handles, 2 door gap.
pub fn fridge(rng: &mut Rng) -> ObjectModel {
    let (w, d, h) = (
        rng.range(0.6, 0.75),
        rng.range(0.62, 0.7),
        rng.range(1.7, 1.86),
    );
    let steel = rng.chance(0.4);
    let body = if steel {
        Material::shiny(Texture::Solid(STEEL))
    } else {
        Material::matte(Texture::Solid(palette::pick(
            rng,
            &[[0.93, 0.93, 0.92], [0.15, 0.15, 0.16]],
            [0.93, 0.93, 0.92],
        )))
    };
    let split = rng.range(0.55, 0.7);
    let mut m = Mesh::new();
    m.append(&Mesh::block(0.0, -0.02, 0.0, w, d - 0.04, h, 0));
    m.append(&Mesh::block(
        0.0,
        d * 0.5 - 0.03,
        0.01,
        w - 0.01,
        0.03,
        split - 0.006,
        0,
    ));
    m.append(&Mesh::block(
        0.0,
        d * 0.5 - 0.03,
        split + 0.006,
        w - 0.01,
        0.03,
        h - 0.01,
        0,
    ));
    m.append(&Mesh::block(
        0.0,
        d * 0.5 - 0.035,
        split - 0.006,
        w - 0.02,
        0.02,
        split + 0.006,
        2,
    ));
    let hx = w * 0.5 - 0.06;
    m.append(&Mesh::block(
        hx,
        d * 0.5 + 0.02,
        split - 0.3,
        0.02,
        0.03,
        split - 0.05,
        1,
    ));
    m.append(&Mesh::block(
        hx,
        d * 0.5 + 0.02,
        split + 0.05,
        0.02,
        0.03,
        split + 0.5,
        1,
    ));
    ObjectModel::new(
        ObjectKind::Fridge,
        m,
        vec![
            body,
            Material::matte(Texture::Solid([0.55, 0.55, 0.57])),
            solid(METAL_DARK),
        ],
        0,
    )
}
