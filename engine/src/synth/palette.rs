//! Colour and texture palettes the object and room builders draw from (seeded).

use super::texture::{Rgb, Texture};
use crate::rng::Rng;

/// Pick one entry of a non-empty slice (the first when the slice has one entry).
pub fn pick<T: Copy>(rng: &mut Rng, items: &[T], fallback: T) -> T {
    items
        .get(rng.below(items.len()))
        .copied()
        .unwrap_or(fallback)
}

/// Light/dark pairs of common woods (oak, walnut, birch, cherry, pine).
pub const WOODS: [(Rgb, Rgb); 5] = [
    ([0.74, 0.56, 0.36], [0.55, 0.37, 0.2]),
    ([0.46, 0.3, 0.18], [0.27, 0.16, 0.08]),
    ([0.86, 0.76, 0.6], [0.72, 0.6, 0.43]),
    ([0.62, 0.33, 0.2], [0.42, 0.19, 0.1]),
    ([0.88, 0.72, 0.5], [0.7, 0.52, 0.3]),
];

/// Paint colours for furniture, mugs and bins.
pub const PAINTS: [Rgb; 14] = [
    [0.9, 0.9, 0.88],
    [0.08, 0.08, 0.09],
    [0.5, 0.5, 0.52],
    [0.75, 0.14, 0.12],
    [0.15, 0.3, 0.66],
    [0.2, 0.5, 0.3],
    [0.9, 0.75, 0.2],
    [0.1, 0.5, 0.52],
    [0.92, 0.45, 0.1],
    [0.85, 0.5, 0.6],
    [0.35, 0.22, 0.45],
    [0.3, 0.35, 0.4],
    [0.65, 0.8, 0.9],
    [0.55, 0.62, 0.3],
];

/// Upholstery colours.
pub const FABRICS: [Rgb; 9] = [
    [0.45, 0.46, 0.48],
    [0.14, 0.18, 0.35],
    [0.78, 0.7, 0.56],
    [0.25, 0.42, 0.3],
    [0.78, 0.6, 0.2],
    [0.6, 0.15, 0.15],
    [0.15, 0.45, 0.48],
    [0.3, 0.3, 0.32],
    [0.55, 0.42, 0.6],
];

/// Book spine colours.
pub const BOOKS: [Rgb; 12] = [
    [0.7, 0.1, 0.1],
    [0.1, 0.2, 0.55],
    [0.1, 0.4, 0.2],
    [0.9, 0.85, 0.7],
    [0.15, 0.15, 0.15],
    [0.85, 0.6, 0.1],
    [0.5, 0.3, 0.6],
    [0.2, 0.6, 0.7],
    [0.95, 0.95, 0.95],
    [0.6, 0.35, 0.2],
    [0.9, 0.3, 0.4],
    [0.4, 0.45, 0.5],
];

/// Wall paints.
pub const WALLS: [Rgb; 9] = [
    [0.92, 0.91, 0.88],
    [0.88, 0.86, 0.8],
    [0.8, 0.85, 0.88],
    [0.85, 0.88, 0.8],
    [0.93, 0.87, 0.78],
    [0.75, 0.75, 0.78],
    [0.9, 0.82, 0.82],
    [0.7, 0.78, 0.72],
    [0.95, 0.95, 0.95],
];

/// Dark metal (legs, frames).
pub const METAL_DARK: Rgb = [0.12, 0.12, 0.13];
/// Brushed steel.
pub const STEEL: Rgb = [0.62, 0.63, 0.65];

/// A wood texture with grain along `axis`.
pub fn wood(rng: &mut Rng, axis: u8) -> Texture {
    let (light, dark) = pick(rng, &WOODS, WOODS[0]);
    Texture::Wood {
        light,
        dark,
        ring_period: rng.range(0.006, 0.018),
        axis,
        seed: rng.next_u64() as u32,
    }
}

/// A painted (near-solid) texture in one of the paint colours.
pub fn paint(rng: &mut Rng) -> Texture {
    let color = pick(rng, &PAINTS, PAINTS[0]);
    Texture::Paint {
        color,
        variation: 0.03,
        seed: rng.next_u64() as u32,
    }
}

/// A fabric texture in one of the upholstery colours.
pub fn fabric(rng: &mut Rng) -> Texture {
    let base = pick(rng, &FABRICS, FABRICS[0]);
    Texture::Fabric {
        base,
        variation: rng.range(0.08, 0.18),
        scale: rng.range(0.01, 0.03),
        seed: rng.next_u64() as u32,
    }
}

/// Wood (probability `p_wood`) or paint.
pub fn wood_or_paint(rng: &mut Rng, p_wood: f32, axis: u8) -> Texture {
    if rng.chance(p_wood) {
        wood(rng, axis)
    } else {
        paint(rng)
    }
}

/// A patterned textile (blankets, cushions): stripes, checker or plain fabric.
pub fn textile(rng: &mut Rng) -> Texture {
    let a = pick(rng, &FABRICS, FABRICS[0]);
    let b = pick(rng, &PAINTS, PAINTS[0]);
    match rng.below(3) {
        0 => Texture::Stripes {
            a,
            b,
            period: rng.range(0.06, 0.2),
            axis: if rng.chance(0.5) { 0 } else { 1 },
        },
        1 => Texture::Checker {
            a,
            b,
            size: rng.range(0.05, 0.15),
        },
        _ => fabric(rng),
    }
}
