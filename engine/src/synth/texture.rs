//! Procedural textures evaluated at 3-D points of an object's own frame (metres),
//! so a texture moves rigidly with its object and looks the same in every scan.
//!
//! Guarantees: every texture is a pure function of the point (no hidden state, no
//! randomness at evaluation time), colours are linear RGB in `[0, 1]`, and the result
//! is identical on every platform for the same inputs.

use nalgebra::Point3;

/// A linear RGB colour, each channel in `[0, 1]`.
pub type Rgb = [f32; 3];

/// A procedural surface colour. Coordinates are the object frame's, in metres.
#[derive(Debug, Clone, PartialEq)]
pub enum Texture {
    /// One flat colour.
    Solid(Rgb),
    /// Painted surface: a colour with faint low-frequency blotches.
    Paint {
        /// Base colour.
        color: Rgb,
        /// Relative brightness variation (e.g. 0.05).
        variation: f32,
        /// Pattern seed.
        seed: u32,
    },
    /// Wood: growth rings around an axis-parallel line, with grain noise.
    Wood {
        /// Early-wood (light) colour.
        light: Rgb,
        /// Late-wood (dark) colour.
        dark: Rgb,
        /// Ring spacing, metres.
        ring_period: f32,
        /// Grain direction: 0 = x, 1 = y, 2 = z.
        axis: u8,
        /// Pattern seed.
        seed: u32,
    },
    /// Wooden floor planks along x, each plank with its own shade.
    Planks {
        /// Lightest plank colour.
        light: Rgb,
        /// Darkest plank colour.
        dark: Rgb,
        /// Plank width (across y), metres.
        width: f32,
        /// Plank length (along x), metres.
        length: f32,
        /// Pattern seed.
        seed: u32,
    },
    /// Parallel stripes across an axis.
    Stripes {
        /// First colour.
        a: Rgb,
        /// Second colour.
        b: Rgb,
        /// Stripe period (one `a` plus one `b` band), metres.
        period: f32,
        /// Axis the stripes alternate along: 0 = x, 1 = y, 2 = z.
        axis: u8,
    },
    /// A 3-D checkerboard.
    Checker {
        /// First colour.
        a: Rgb,
        /// Second colour.
        b: Rgb,
        /// Cell size, metres.
        size: f32,
    },
    /// Woven fabric: fine noise plus a faint weave.
    Fabric {
        /// Base colour.
        base: Rgb,
        /// Relative brightness variation.
        variation: f32,
        /// Noise feature size, metres.
        scale: f32,
        /// Pattern seed.
        seed: u32,
    },
    /// Square tiles on the plane orthogonal to an axis, with grout lines.
    Tiles {
        /// Tile colour.
        tile: Rgb,
        /// Grout colour.
        grout: Rgb,
        /// Tile size, metres.
        size: f32,
        /// Axis normal to the tiled plane: 0 = x, 1 = y, 2 = z.
        normal_axis: u8,
        /// Pattern seed (per-tile shade).
        seed: u32,
    },
    /// Speckled stone/terrazzo/cardboard: a base with small specks.
    Speckle {
        /// Base colour.
        base: Rgb,
        /// Speck colour.
        speck: Rgb,
        /// Share of the surface covered by specks, `[0, 1]`.
        density: f32,
        /// Speck size, metres.
        scale: f32,
        /// Pattern seed.
        seed: u32,
    },
}

/// A 32-bit integer hash of a lattice point and a seed (deterministic, portable).
fn hash3(x: i32, y: i32, z: i32, seed: u32) -> u32 {
    let mut h = (x as u32).wrapping_mul(HX)
        ^ (y as u32).wrapping_mul(HY)
        ^ (z as u32).wrapping_mul(HZ)
        ^ seed.wrapping_mul(0x9E37_79B1);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    h ^ (h >> 13)
}

/// `floor` without a libm call (exact for |x| < 2^31).
#[inline]
pub fn fast_floor(x: f32) -> f32 {
    floor_parts(x).1
}

/// `floor(x)` as an integer and as a float, without a libm call or a saturating
/// float-to-integer conversion on the common path (exact for |x| < 2^31).
#[inline(always)]
pub fn floor_parts(x: f32) -> (i32, f32) {
    /// 1.5 · 2^23: adding it rounds any |x| < 2^22 to an integer, which the low
    /// mantissa bits of the sum then hold.
    const MAGIC: f32 = 12_582_912.0;
    if x.abs() < 4_194_304.0 {
        let r = ((x + MAGIC).to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32);
        let rf = r as f32;
        if rf > x { (r - 1, rf - 1.0) } else { (r, rf) }
    } else {
        let i = x as i32;
        let f = i as f32;
        if x < f { (i - 1, f - 1.0) } else { (i, f) }
    }
}

/// Hash mapped to `[0, 1)`.
fn hash01(x: i32, y: i32, z: i32, seed: u32) -> f32 {
    (hash3(x, y, z, seed) >> 8) as f32 / (1u32 << 24) as f32
}

#[inline(always)]
fn fade(t: f32) -> f32 {
    t * t * (3.0 - 2.0 * t)
}

#[inline(always)]
fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a + (b - a) * t
}

const HX: u32 = 0x8DA6_B343;
const HY: u32 = 0xD816_3841;
const HZ: u32 = 0xCB1A_B31F;

/// A fixed pseudo-random permutation of 0..=255 (built at compile time).
const PERM: [u8; 256] = {
    let mut p = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        p[i] = i as u8;
        i += 1;
    }
    let mut state: u32 = 0x2545_F491;
    let mut i = 255;
    while i > 0 {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let j = (state % (i as u32 + 1)) as usize;
        let t = p[i];
        p[i] = p[j];
        p[j] = t;
        i -= 1;
    }
    p
};

/// Lattice values in `[0, 1)`, indexed by a permuted hash.
const LATTICE: [f32; 256] = {
    let mut v = [0.0f32; 256];
    let mut i = 0;
    while i < 256 {
        v[i] = PERM[(i * 167 + 13) % 256] as f32 / 256.0;
        i += 1;
    }
    v
};

#[inline(always)]
fn perm(i: u32) -> u32 {
    PERM[(i & 255) as usize] as u32
}

/// Smooth 2-D value noise in `[0, 1)` (lattice spacing 1; repeats every 256
/// cells).
pub fn value_noise2(x: f32, y: f32, seed: u32) -> f32 {
    let ((ix, fx), (iy, fy)) = (floor_parts(x), floor_parts(y));
    let s = seed.wrapping_mul(0x9E37_79B1);
    let ix = (ix as u32).wrapping_add(s >> 24);
    let iy = (iy as u32).wrapping_add(s >> 16);
    let (tx, ty) = (fade(x - fx), fade(y - fy));
    let (a, b) = (perm(ix), perm(ix.wrapping_add(1)));
    let v = |h: u32, dy: u32| LATTICE[(h.wrapping_add(iy).wrapping_add(dy) & 255) as usize];
    lerp(lerp(v(a, 0), v(b, 0), tx), lerp(v(a, 1), v(b, 1), tx), ty)
}

/// Value noise on a surface point: 2-D noise of a projection of `p` (scaled by
/// `scale`) that varies in both directions on any axis-aligned plane and smoothly
/// on curved surfaces.
#[inline]
pub fn surface_noise(p: &Point3<f32>, scale: f32, seed: u32) -> f32 {
    value_noise2((p.x + p.y) * scale, (p.z + 0.7 * (p.x - p.y)) * scale, seed)
}

fn mix(a: Rgb, b: Rgb, t: f32) -> Rgb {
    [
        lerp(a[0], b[0], t),
        lerp(a[1], b[1], t),
        lerp(a[2], b[2], t),
    ]
}

fn scale(c: Rgb, s: f32) -> Rgb {
    [
        (c[0] * s).clamp(0.0, 1.0),
        (c[1] * s).clamp(0.0, 1.0),
        (c[2] * s).clamp(0.0, 1.0),
    ]
}

fn axis_split(p: &Point3<f32>, axis: u8) -> (f32, f32, f32) {
    match axis {
        0 => (p.x, p.y, p.z),
        1 => (p.y, p.z, p.x),
        _ => (p.z, p.x, p.y),
    }
}

impl Texture {
    /// The colour at object-frame point `p` (metres).
    pub fn eval(&self, p: &Point3<f32>) -> Rgb {
        match self {
            Texture::Solid(c) => *c,
            Texture::Paint {
                color,
                variation,
                seed,
            } => {
                let n = surface_noise(p, 1.7, *seed);
                scale(*color, 1.0 + variation * (2.0 * n - 1.0))
            }
            Texture::Wood {
                light,
                dark,
                ring_period,
                axis,
                seed,
            } => {
                let (along, a, b) = axis_split(p, *axis);
                let off = (*seed % 97) as f32 * 0.013;
                let warp = value_noise2(a * 6.0 + 0.2 * along, b * 6.0, *seed);
                let r = ((a + 0.31 + off).powi(2) + (b - 0.17).powi(2)).sqrt();
                let t = (r / ring_period.max(1e-3) + 0.6 * warp).fract();
                let ring = (t * std::f32::consts::TAU).sin() * 0.5 + 0.5;
                let grain = value_noise2(along * 3.0, (a + b) * 90.0, seed ^ 0x55);
                mix(
                    *light,
                    *dark,
                    (0.65 * ring * ring + 0.35 * grain).clamp(0.0, 1.0),
                )
            }
            Texture::Planks {
                light,
                dark,
                width,
                length,
                seed,
            } => {
                let w = width.max(0.01);
                let (row_i, row) = floor_parts(p.y / w);
                let stagger = hash01(row_i, 0, 0, *seed) * length;
                let (col_i, col) = floor_parts((p.x + stagger) / length.max(0.05));
                let shade = hash01(row_i, col_i, 1, *seed);
                let fy = p.y / w - row;
                let fx = (p.x + stagger) / length.max(0.05) - col;
                let gap = !(0.02..=0.98).contains(&fy) || !(0.004..=0.996).contains(&fx);
                let grain = value_noise2(p.x * 4.0 + row * 13.7, p.y * 70.0, seed ^ 0x77);
                let base = mix(*light, *dark, 0.6 * shade + 0.4 * grain);
                if gap { scale(base, 0.55) } else { base }
            }
            Texture::Stripes { a, b, period, axis } => {
                let (along, _, _) = axis_split(p, *axis);
                let t = along / period.max(1e-3);
                if t - fast_floor(t) < 0.5 { *a } else { *b }
            }
            Texture::Checker { a, b, size } => {
                let s = size.max(1e-3);
                let k = fast_floor(p.x / s) as i64
                    + fast_floor(p.y / s) as i64
                    + fast_floor(p.z / s) as i64;
                if k.rem_euclid(2) == 0 { *a } else { *b }
            }
            Texture::Fabric {
                base,
                variation,
                scale: s,
                seed,
            } => {
                let inv = 1.0 / s.max(1e-3);
                let n = surface_noise(p, inv, *seed);
                let t = (p.x + p.y + p.z) * 64.0;
                let weave = ((t - fast_floor(t)) - 0.5).abs() * 0.08 - 0.02;
                scale(*base, 1.0 + variation * (2.0 * n - 1.0) + weave)
            }
            Texture::Tiles {
                tile,
                grout,
                size,
                normal_axis,
                seed,
            } => {
                let (_, a, b) = axis_split(p, *normal_axis);
                let s = size.max(0.01);
                let ((ta_i, ta), (tb_i, tb)) = (floor_parts(a / s), floor_parts(b / s));
                let (fa, fb) = (a / s - ta, b / s - tb);
                let g = 0.012 / s;
                if fa < g || fb < g {
                    *grout
                } else {
                    let shade = hash01(ta_i, tb_i, 7, *seed);
                    scale(*tile, 0.93 + 0.1 * shade)
                }
            }
            Texture::Speckle {
                base,
                speck,
                density,
                scale: s,
                seed,
            } => {
                let inv = 1.0 / s.max(1e-4);
                let n = surface_noise(p, inv, *seed);
                if n > 1.0 - density {
                    *speck
                } else {
                    scale(*base, 0.95 + 0.1 * n)
                }
            }
        }
    }

    /// The texture's representative (mean-like) colour, for labels and summaries.
    pub fn base_color(&self) -> Rgb {
        match self {
            Texture::Solid(c) => *c,
            Texture::Paint { color, .. } => *color,
            Texture::Wood { light, dark, .. } | Texture::Planks { light, dark, .. } => {
                mix(*light, *dark, 0.4)
            }
            Texture::Stripes { a, b, .. } | Texture::Checker { a, b, .. } => mix(*a, *b, 0.5),
            Texture::Fabric { base, .. } => *base,
            Texture::Tiles { tile, .. } => *tile,
            Texture::Speckle {
                base,
                speck,
                density,
                ..
            } => mix(*base, *speck, density.clamp(0.0, 1.0)),
        }
    }
}

/// Converts a linear colour in `[0, 1]` to 8-bit.
pub fn to_u8(c: Rgb) -> [u8; 3] {
    [
        (c[0].clamp(0.0, 1.0) * 255.0 + 0.5) as u8,
        (c[1].clamp(0.0, 1.0) * 255.0 + 0.5) as u8,
        (c[2].clamp(0.0, 1.0) * 255.0 + 0.5) as u8,
    ]
}

/// Relative luminance (Rec. 709 weights) of a linear colour.
pub fn luminance(c: Rgb) -> f32 {
    0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]
}

/// A plain-language name of a colour (for instance descriptions), from its hue,
/// saturation and value.
pub fn color_name(c: Rgb) -> &'static str {
    let (r, g, b) = (c[0], c[1], c[2]);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let v = max;
    let s = if max > 0.0 { (max - min) / max } else { 0.0 };
    if v < 0.18 {
        return "black";
    }
    if s < 0.15 {
        return if v > 0.8 {
            "white"
        } else if v > 0.45 {
            "grey"
        } else {
            "dark grey"
        };
    }
    let d = (max - min).max(1e-6);
    let mut h = if max == r {
        60.0 * ((g - b) / d)
    } else if max == g {
        60.0 * ((b - r) / d + 2.0)
    } else {
        60.0 * ((r - g) / d + 4.0)
    };
    if h < 0.0 {
        h += 360.0;
    }
    if (15.0..50.0).contains(&h) && v < 0.65 {
        return if s < 0.45 { "beige" } else { "brown" };
    }
    match h {
        h if !(15.0..345.0).contains(&h) => {
            if s < 0.45 && v > 0.6 {
                "pink"
            } else {
                "red"
            }
        }
        h if h < 45.0 => {
            if s < 0.4 {
                "beige"
            } else {
                "orange"
            }
        }
        h if h < 70.0 => "yellow",
        h if h < 165.0 => "green",
        h if h < 195.0 => "teal",
        h if h < 255.0 => "blue",
        h if h < 290.0 => "purple",
        _ => "pink",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_floor_matches_the_library() {
        for i in -3000..3000 {
            let x = i as f32 * 0.37 + 0.001;
            for x in [x, x.round()] {
                assert_eq!(floor_parts(x), (x.floor() as i32, x.floor()), "{x}");
            }
        }
        // beyond 2^22 the fallback path
        assert_eq!(floor_parts(-5_000_000.5), (-5_000_001, -5_000_001.0));
        assert_eq!(floor_parts(9e6), (9_000_000, 9e6));
    }

    #[test]
    fn textures_are_pure_functions_in_range() {
        let textures = [
            Texture::Wood {
                light: [0.7, 0.5, 0.3],
                dark: [0.4, 0.25, 0.1],
                ring_period: 0.01,
                axis: 0,
                seed: 3,
            },
            Texture::Fabric {
                base: [0.2, 0.3, 0.6],
                variation: 0.2,
                scale: 0.02,
                seed: 9,
            },
            Texture::Tiles {
                tile: [0.9, 0.9, 0.9],
                grout: [0.5, 0.5, 0.5],
                size: 0.3,
                normal_axis: 2,
                seed: 1,
            },
        ];
        for t in &textures {
            for i in 0..200 {
                let p = Point3::new(
                    i as f32 * 0.037 - 3.0,
                    i as f32 * 0.011,
                    -(i as f32) * 0.021,
                );
                let c = t.eval(&p);
                assert_eq!(c, t.eval(&p));
                assert!(c.iter().all(|v| (0.0..=1.0).contains(v)));
            }
        }
        assert_eq!(color_name([0.9, 0.1, 0.1]), "red");
        assert_eq!(color_name([0.95, 0.95, 0.95]), "white");
        assert_eq!(color_name([0.1, 0.2, 0.8]), "blue");
    }
}
