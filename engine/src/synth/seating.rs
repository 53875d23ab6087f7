//! Parametric builders of seating and beds: chairs, stools, armchairs, sofas,
//! beds.
//!
//! Same conventions as [`super::furniture`]: origin at the bottom centre, z up,
//! front +y (a seat's backrest and a bed's headboard at -y), metres, sizes drawn
//! from realistic ranges with the given generator.

use nalgebra::Vector3;

use super::furniture::{SizeClass, legs};
use super::mesh::Mesh;
use super::objects::{Material, ObjectKind, ObjectModel};
use super::palette::{self, METAL_DARK};
use super::texture::Texture;
use crate::rng::Rng;

/// Chair with four legs and a backrest at -y. Slots: 0 frame, 1 seat.
pub fn chair(rng: &mut Rng) -> ObjectModel {
    let (w, d) = (rng.range(0.42, 0.5), rng.range(0.4, 0.48));
    let sh = rng.range(0.44, 0.48);
    let top = rng.range(0.82, 0.95);
    let leg = rng.range(0.03, 0.04);
    let frame = palette::wood_or_paint(rng, 0.45, 2);
    let seat = if rng.chance(0.5) {
        palette::fabric(rng)
    } else {
        frame.clone()
    };
    let mut m = Mesh::new();
    m.append(&Mesh::block(0.0, 0.0, sh - 0.04, w, d, sh, 1));
    legs(&mut m, w, d, 0.01, leg, sh - 0.04, 0);
    // back uprights continue from the back legs, with a back panel between them
    for sx in [-1.0, 1.0] {
        let x = sx * (w * 0.5 - 0.01 - leg * 0.5);
        m.append(&Mesh::block(
            x,
            -d * 0.5 + 0.01 + leg * 0.5,
            sh,
            leg,
            leg,
            top,
            0,
        ));
    }
    let panel_bottom = sh + rng.range(0.15, 0.25);
    m.append(&Mesh::block(
        0.0,
        -d * 0.5 + 0.01 + leg * 0.5,
        panel_bottom,
        w - 0.02,
        0.025,
        top - 0.01,
        1,
    ));
    ObjectModel::new(
        ObjectKind::Chair,
        m,
        vec![Material::matte(frame), Material::matte(seat)],
        1,
    )
}

/// Round stool. Slots: 0 seat, 1 legs.
pub fn stool(rng: &mut Rng) -> ObjectModel {
    let r = rng.range(0.15, 0.2);
    let h = if rng.chance(0.5) {
        rng.range(0.44, 0.5)
    } else {
        rng.range(0.62, 0.75)
    };
    let seat = palette::wood_or_paint(rng, 0.5, 0);
    let mut m = Mesh::new();
    m.append(&Mesh::frustum(r, r, 0.04, 28, 0).translated(Vector3::new(0.0, 0.0, h - 0.04)));
    let n = 3 + rng.below(2);
    for i in 0..n {
        let a = i as f32 / n as f32 * std::f32::consts::TAU;
        let (x, y) = (0.72 * r * a.cos(), 0.72 * r * a.sin());
        m.append(&Mesh::frustum(0.016, 0.016, h - 0.04, 8, 1).translated(Vector3::new(x, y, 0.0)));
    }
    if h > 0.6 {
        let ring = Mesh::torus(0.72 * r, 0.008, 24, 6, 1);
        m.append(&ring.translated(Vector3::new(0.0, 0.0, 0.25)));
    }
    let legs = if rng.chance(0.5) {
        Texture::Solid(METAL_DARK)
    } else {
        seat.clone()
    };
    ObjectModel::new(
        ObjectKind::Stool,
        m,
        vec![Material::matte(seat), Material::matte(legs)],
        0,
    )
}

/// Upholstered seat (armchair or sofa) of width `w` with `seats` cushions.
/// Slots: 0 upholstery, 1 feet, 2 cushions.
fn upholstered(rng: &mut Rng, kind: ObjectKind, w: f32, seats: usize) -> ObjectModel {
    let d = rng.range(0.8, 0.95);
    let h = rng.range(0.78, 0.92);
    let arm_w = rng.range(0.12, 0.2);
    let arm_h = rng.range(0.55, 0.65);
    let back_t = rng.range(0.16, 0.22);
    let up = palette::fabric(rng);
    let cushion = if rng.chance(0.3) {
        palette::textile(rng)
    } else {
        up.clone()
    };
    let mut m = Mesh::new();
    let foot = 0.08;
    for sx in [-1.0, 1.0] {
        for sy in [-1.0, 1.0] {
            let (x, y) = (sx * (w * 0.5 - 0.06), sy * (d * 0.5 - 0.06));
            m.append(&Mesh::frustum(0.025, 0.02, foot, 8, 1).translated(Vector3::new(x, y, 0.0)));
        }
    }
    m.append(&Mesh::block(0.0, 0.0, foot, w, d, 0.4, 0));
    m.append(&Mesh::block(
        0.0,
        -d * 0.5 + back_t * 0.5,
        0.4,
        w,
        back_t,
        h,
        0,
    ));
    for sx in [-1.0, 1.0] {
        m.append(&Mesh::block(
            sx * (w * 0.5 - arm_w * 0.5),
            0.0,
            0.4,
            arm_w,
            d,
            arm_h,
            0,
        ));
    }
    let inner = w - 2.0 * arm_w;
    let cw = inner / seats as f32;
    for i in 0..seats {
        let x = -inner * 0.5 + cw * (i as f32 + 0.5);
        m.append(&Mesh::block(
            x,
            back_t * 0.5,
            0.4,
            cw - 0.01,
            d - back_t - 0.02,
            0.5,
            2,
        ));
        m.append(&Mesh::block(
            x,
            -d * 0.5 + back_t + 0.06,
            0.5,
            cw - 0.02,
            0.12,
            h - 0.05,
            2,
        ));
    }
    let feet = palette::wood(rng, 2);
    ObjectModel::new(
        kind,
        m,
        vec![
            Material::matte(up),
            Material::matte(feet),
            Material::matte(cushion),
        ],
        0,
    )
}

/// Armchair.
pub fn armchair(rng: &mut Rng) -> ObjectModel {
    let w = rng.range(0.75, 0.95);
    upholstered(rng, ObjectKind::Armchair, w, 1)
}

/// Sofa with two or three seats.
pub fn sofa(rng: &mut Rng) -> ObjectModel {
    let seats = 2 + rng.below(2);
    let w = seats as f32 * rng.range(0.6, 0.75) + 0.3;
    upholstered(rng, ObjectKind::Sofa, w, seats)
}

/// Bed with its headboard at -y. Slots: 0 frame, 1 mattress/pillows, 2 blanket.
pub fn bed(rng: &mut Rng, size: SizeClass) -> ObjectModel {
    let w = match size {
        SizeClass::Small => rng.range(0.9, 1.05),
        _ => rng.range(1.4, 1.8),
    };
    let l = rng.range(2.0, 2.15);
    let base = rng.range(0.3, 0.38);
    let mattress = base + rng.range(0.18, 0.24);
    let frame = palette::wood_or_paint(rng, 0.6, 0);
    let mut m = Mesh::new();
    m.append(&Mesh::block(0.0, 0.0, 0.0, w + 0.04, l, base, 0));
    m.append(&Mesh::block(
        0.0,
        -l * 0.5 + 0.03,
        0.0,
        w + 0.06,
        0.06,
        rng.range(0.9, 1.15),
        0,
    ));
    m.append(&Mesh::block(0.0, 0.03, base, w, l - 0.06, mattress, 1));
    let pillows = if w > 1.2 { 2 } else { 1 };
    for i in 0..pillows {
        let x = if pillows == 1 {
            0.0
        } else {
            (i as f32 - 0.5) * w * 0.5
        };
        let p = Mesh::ellipsoid(Vector3::new(w / pillows as f32 * 0.42, 0.2, 0.07), 8, 16, 1);
        m.append(&p.translated(Vector3::new(x, -l * 0.5 + 0.3, mattress + 0.05)));
    }
    let blanket_y0 = -l * 0.5 + 0.55;
    m.append(&Mesh::cuboid(
        nalgebra::Point3::new(-w * 0.5 - 0.02, blanket_y0, mattress - 0.12),
        nalgebra::Point3::new(w * 0.5 + 0.02, l * 0.5 + 0.01, mattress + 0.025),
        2,
    ));
    let sheets = Material::matte(Texture::Fabric {
        base: [0.93, 0.93, 0.9],
        variation: 0.05,
        scale: 0.03,
        seed: rng.next_u64() as u32,
    });
    let blanket = Material::matte(palette::textile(rng));
    ObjectModel::new(
        ObjectKind::Bed,
        m,
        vec![Material::matte(frame), sheets, blanket],
        2,
    )
}
