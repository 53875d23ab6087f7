//! Parametric builders of small objects (boxes, bins, lamps, plants, screens, mugs)
//! and [`build_model`], the one entry point that builds any [`ObjectKind`].
//!
//! Same conventions as [`super::furniture`]: origin at the bottom centre, z up,
//! front +y, metres, sizes drawn from the given generator.

use nalgebra::{UnitQuaternion, Vector3};

use super::furniture::{self, SizeClass};
use super::mesh::Mesh;
use super::objects::{Material, ObjectKind, ObjectModel};
use super::palette::{self, METAL_DARK, STEEL};
use super::seating;
use super::texture::Texture;
use crate::rng::Rng;

/// Builds a model of `kind` in size class `size` (most kinds ignore the class).
pub fn build_model(kind: ObjectKind, size: SizeClass, rng: &mut Rng) -> ObjectModel {
    build_raw(kind, size, rng).recentred()
}

fn build_raw(kind: ObjectKind, size: SizeClass, rng: &mut Rng) -> ObjectModel {
    match kind {
        ObjectKind::Table => furniture::table(rng, size),
        ObjectKind::CoffeeTable => furniture::coffee_table(rng),
        ObjectKind::Desk => furniture::desk(rng),
        ObjectKind::Chair => seating::chair(rng),
        ObjectKind::Stool => seating::stool(rng),
        ObjectKind::Armchair => seating::armchair(rng),
        ObjectKind::Sofa => seating::sofa(rng),
        ObjectKind::Bed => seating::bed(rng, size),
        ObjectKind::Bookshelf => furniture::bookshelf(rng),
        ObjectKind::Cabinet => furniture::cabinet(rng),
        ObjectKind::Nightstand => furniture::nightstand(rng),
        ObjectKind::Wardrobe => furniture::wardrobe(rng),
        ObjectKind::Counter => furniture::counter(rng),
        ObjectKind::Fridge => furniture::fridge(rng),
        ObjectKind::Box => cardboard_box(rng),
        ObjectKind::Bin => bin(rng),
        ObjectKind::Lamp => lamp(rng),
        ObjectKind::FloorLamp => floor_lamp(rng),
        ObjectKind::Plant => plant(rng, size),
        ObjectKind::Monitor => screen(rng, ObjectKind::Monitor),
        ObjectKind::Tv => screen(rng, ObjectKind::Tv),
        ObjectKind::Mug => mug(rng),
    }
}

/// Cardboard box with a tape strip. Slots: 0 cardboard, 1 tape.
fn cardboard_box(rng: &mut Rng) -> ObjectModel {
    let (w, d, h) = (
        rng.range(0.3, 0.6),
        rng.range(0.25, 0.5),
        rng.range(0.2, 0.5),
    );
    let card = Texture::Speckle {
        base: palette::pick(
            rng,
            &[[0.68, 0.5, 0.32], [0.6, 0.45, 0.3], [0.75, 0.62, 0.45]],
            [0.68, 0.5, 0.32],
        ),
        speck: [0.45, 0.32, 0.2],
        density: 0.1,
        scale: 0.004,
        seed: rng.next_u64() as u32,
    };
    let mut m = Mesh::new();
    m.append(&Mesh::block(0.0, 0.0, 0.0, w, d, h, 0));
    m.append(&Mesh::block(0.0, 0.0, h, 0.05, d + 0.004, h + 0.002, 1));
    m.append(&Mesh::block(0.0, d * 0.5, h - 0.12, 0.05, 0.004, h, 1));
    m.append(&Mesh::block(0.0, -d * 0.5, h - 0.12, 0.05, 0.004, h, 1));
    let tape = Material::shiny(Texture::Solid([0.8, 0.7, 0.5]));
    ObjectModel::new(ObjectKind::Box, m, vec![Material::matte(card), tape], 0)
}

/// Open-topped waste bin. Slots: 0 body, 1 inside.
fn bin(rng: &mut Rng) -> ObjectModel {
    let r = rng.range(0.11, 0.16);
    let h = rng.range(0.28, 0.45);
    let top = r + rng.range(0.0, 0.04);
    let mut m = Mesh::frustum(r, top, h, 24, 0);
    m.append(
        &Mesh::frustum(top - 0.008, top - 0.008, 0.002, 24, 1)
            .translated(Vector3::new(0.0, 0.0, h)),
    );
    let body = palette::paint(rng);
    ObjectModel::new(
        ObjectKind::Bin,
        m,
        vec![
            Material::matte(body),
            Material::matte(Texture::Solid([0.05, 0.05, 0.05])),
        ],
        0,
    )
}

/// A lamp shade on a pole: base radius, pole height, shade radii/height.
/// Slots: 0 shade, 1 pole/base.
fn lamp_parts(
    rng: &mut Rng,
    kind: ObjectKind,
    base_r: f32,
    pole_h: f32,
    shade: (f32, f32, f32),
) -> ObjectModel {
    let mut m = Mesh::frustum(base_r, base_r * 0.9, 0.025, 20, 1);
    m.append(&Mesh::frustum(0.012, 0.012, pole_h, 8, 1).translated(Vector3::new(0.0, 0.0, 0.025)));
    let (rb, rt, sh) = shade;
    m.append(&Mesh::frustum(rb, rt, sh, 24, 0).translated(Vector3::new(
        0.0,
        0.0,
        0.025 + pole_h - sh * 0.3,
    )));
    let shade_mat = Texture::Fabric {
        base: palette::pick(
            rng,
            &[
                [0.95, 0.92, 0.85],
                [0.85, 0.8, 0.7],
                [0.2, 0.2, 0.22],
                [0.7, 0.3, 0.2],
            ],
            [0.95, 0.92, 0.85],
        ),
        variation: 0.05,
        scale: 0.01,
        seed: rng.next_u64() as u32,
    };
    let pole = if rng.chance(0.5) {
        Texture::Solid(METAL_DARK)
    } else {
        Texture::Solid(STEEL)
    };
    ObjectModel::new(
        kind,
        m,
        vec![Material::matte(shade_mat), Material::matte(pole)],
        0,
    )
}

/// Desk lamp.
fn lamp(rng: &mut Rng) -> ObjectModel {
    let pole = rng.range(0.25, 0.38);
    let rb = rng.range(0.09, 0.13);
    let (base, sh) = (rng.range(0.06, 0.08), rng.range(0.11, 0.16));
    lamp_parts(rng, ObjectKind::Lamp, base, pole, (rb, rb * 0.65, sh))
}

/// Floor lamp.
fn floor_lamp(rng: &mut Rng) -> ObjectModel {
    let pole = rng.range(1.3, 1.55);
    let rb = rng.range(0.17, 0.23);
    let (base, sh) = (rng.range(0.13, 0.17), rng.range(0.22, 0.3));
    lamp_parts(rng, ObjectKind::FloorLamp, base, pole, (rb, rb * 0.7, sh))
}

/// Potted plant: a pot, soil and foliage blobs. Slots: 0 foliage, 1 pot, 2 soil.
fn plant(rng: &mut Rng, size: SizeClass) -> ObjectModel {
    let (pot_r, pot_h, foliage_h) = match size {
        SizeClass::Small => (
            rng.range(0.05, 0.08),
            rng.range(0.07, 0.11),
            rng.range(0.12, 0.28),
        ),
        _ => (
            rng.range(0.14, 0.21),
            rng.range(0.24, 0.38),
            rng.range(0.5, 0.85),
        ),
    };
    let mut m = Mesh::frustum(pot_r, pot_r * 1.25, pot_h, 20, 1);
    m.append(
        &Mesh::frustum(pot_r * 1.15, pot_r * 1.15, 0.004, 20, 2).translated(Vector3::new(
            0.0,
            0.0,
            pot_h - 0.01,
        )),
    );
    let blobs = 3 + rng.below(5);
    let spread = pot_r * 1.3;
    for _ in 0..blobs {
        let rz = foliage_h * rng.range(0.25, 0.45);
        let rxy = (spread * rng.range(0.7, 1.2)).min(rz * 1.3);
        let x = rng.range(-0.5, 0.5) * spread;
        let y = rng.range(-0.5, 0.5) * spread;
        let z = pot_h + rz * 0.8 + rng.range(0.0, (foliage_h - 2.0 * rz * 0.9).max(0.0));
        m.append(
            &Mesh::ellipsoid(Vector3::new(rxy, rxy * rng.range(0.8, 1.2), rz), 8, 12, 0)
                .translated(Vector3::new(x, y, z)),
        );
    }
    let green = palette::pick(
        rng,
        &[
            [0.2, 0.45, 0.18],
            [0.3, 0.55, 0.2],
            [0.15, 0.35, 0.2],
            [0.4, 0.55, 0.25],
        ],
        [0.2, 0.45, 0.18],
    );
    let foliage = Texture::Fabric {
        base: green,
        variation: 0.35,
        scale: 0.02,
        seed: rng.next_u64() as u32,
    };
    let pot = palette::pick(
        rng,
        &[
            [0.72, 0.38, 0.22],
            [0.92, 0.92, 0.9],
            [0.3, 0.3, 0.32],
            [0.35, 0.45, 0.6],
        ],
        [0.72, 0.38, 0.22],
    );
    ObjectModel::new(
        ObjectKind::Plant,
        m,
        vec![
            Material::matte(foliage),
            Material::matte(Texture::Solid(pot)),
            Material::matte(Texture::Solid([0.22, 0.15, 0.1])),
        ],
        0,
    )
}

/// Monitor or TV: a dark shiny screen in a housing on a stand. Slots: 0 housing,
/// 1 screen.
fn screen(rng: &mut Rng, kind: ObjectKind) -> ObjectModel {
    let (w, h, neck) = if kind == ObjectKind::Tv {
        (rng.range(0.9, 1.3), 0.0, rng.range(0.05, 0.1))
    } else {
        (rng.range(0.48, 0.66), 0.0, rng.range(0.08, 0.16))
    };
    let h = if h > 0.0 {
        h
    } else {
        w * rng.range(0.55, 0.62)
    };
    let t = rng.range(0.025, 0.05);
    let mut m = Mesh::new();
    let base_w = (w * 0.35).clamp(0.18, 0.4);
    m.append(&Mesh::block(0.0, 0.0, 0.0, base_w, 0.18, 0.015, 0));
    m.append(&Mesh::block(0.0, -0.03, 0.015, 0.05, 0.03, neck + 0.05, 0));
    let z0 = 0.015 + neck;
    m.append(&Mesh::block(0.0, 0.0, z0, w, t, z0 + h, 0));
    let b = 0.012;
    m.append(&Mesh::block(
        0.0,
        t * 0.5 + 0.001,
        z0 + b,
        w - 2.0 * b,
        0.002,
        z0 + h - b,
        1,
    ));
    let housing = palette::pick(
        rng,
        &[[0.06, 0.06, 0.07], [0.2, 0.2, 0.22], [0.85, 0.85, 0.85]],
        [0.06, 0.06, 0.07],
    );
    let glass = Material::shiny(Texture::Solid([0.03, 0.035, 0.05]));
    ObjectModel::new(
        kind,
        m,
        vec![Material::matte(Texture::Solid(housing)), glass],
        0,
    )
}

/// Mug with a handle at +x. Slots: 0 ceramic, 1 inside.
fn mug(rng: &mut Rng) -> ObjectModel {
    let r = rng.range(0.038, 0.046);
    let h = rng.range(0.085, 0.105);
    let mut m = Mesh::frustum(r, r, h, 20, 0);
    m.append(
        &Mesh::frustum(r - 0.004, r - 0.004, 0.001, 20, 1).translated(Vector3::new(0.0, 0.0, h)),
    );
    let handle = Mesh::torus(0.026, 0.006, 16, 6, 0).rotated(UnitQuaternion::from_axis_angle(
        &Vector3::x_axis(),
        std::f32::consts::FRAC_PI_2,
    ));
    m.append(&handle.translated(Vector3::new(r + 0.012, 0.0, h * 0.5)));
    let c = palette::pick(rng, &palette::PAINTS, palette::PAINTS[0]);
    ObjectModel::new(
        ObjectKind::Mug,
        m,
        vec![
            Material::matte(Texture::Solid(c)),
            Material::matte(Texture::Solid([0.25, 0.15, 0.08])),
        ],
        0,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_builds_a_grounded_centred_model() {
        let mut rng = Rng::new(5);
        for kind in ObjectKind::ALL {
            for size in [SizeClass::Small, SizeClass::Normal, SizeClass::Large] {
                let m = build_model(kind, size, &mut rng);
                assert_eq!(m.kind, kind);
                assert!(m.mesh.triangle_count() > 0);
                assert!(
                    m.bbox_min.z.abs() < 1e-4,
                    "{kind:?} stands on z = 0 (min z {})",
                    m.bbox_min.z
                );
                let (c, h) = m.footprint_local();
                assert!(
                    c[0].abs() < 1e-4 && c[1].abs() < 1e-4,
                    "{kind:?} footprint centred: {c:?}"
                );
                assert!(h[0] > 0.02 && h[1] > 0.02 && m.height() > 0.05);
                assert!(
                    m.mesh
                        .materials
                        .iter()
                        .all(|&s| (s as usize) < m.materials.len()),
                    "{kind:?} slots"
                );
                assert_eq!(
                    m.support_height.is_some(),
                    kind.is_support(),
                    "{kind:?} support flag"
                );
                assert_eq!(m.mesh.normals.len(), m.mesh.positions.len());
            }
        }
    }
}
