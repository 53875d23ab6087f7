//! Rooms: floor plans (rectangular or L-shaped), walls with doors and windows,
//! lighting, and the generation of a furnished room from a seed.
//!
//! Map frame convention: z up, the floor at z = 0, the ceiling at z =
//! `wall_height`; the floor plan's bounding box is centred on the origin. The room
//! structure (floor, walls, ceiling, door vestibules, windows) is instance 0; its
//! textures are evaluated in map coordinates. Object instances have ids 1.. that
//! are unique within the room.

use std::sync::Arc;

use nalgebra::{Point2, Point3, Vector2, Vector3};
use serde::{Deserialize, Serialize};

use super::mesh::Mesh;
use super::objects::{Material, Object};
use super::recipes;
use super::structure::{build_structure, make_lighting, make_openings};
use super::texture::Rgb;
use crate::rng::Rng;

/// What a room is used for; decides which objects it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RoomKind {
    /// Counters, fridge, table with chairs.
    Kitchen,
    /// Desks with chairs and monitors, shelves.
    Office,
    /// Sofa, armchairs, coffee table, TV.
    LivingRoom,
    /// Bed, nightstands, wardrobe.
    Bedroom,
    /// Large table with many identical chairs.
    MeetingRoom,
    /// Shelves, boxes and cabinets.
    Storage,
}

impl RoomKind {
    /// Every kind.
    pub const ALL: [RoomKind; 6] = [
        RoomKind::Kitchen,
        RoomKind::Office,
        RoomKind::LivingRoom,
        RoomKind::Bedroom,
        RoomKind::MeetingRoom,
        RoomKind::Storage,
    ];
}

/// A floor plan: an axis-aligned orthogonal polygon (rectangle or L), given both
/// as its outline and as the rectangles whose union it is.
#[derive(Debug, Clone, PartialEq)]
pub struct FloorPlan {
    /// Outline vertices, counter-clockwise seen from above (interior on the left).
    pub outline: Vec<Point2<f32>>,
    /// Rectangles `[x0, y0, x1, y1]` whose union is the floor.
    pub rects: Vec<[f32; 4]>,
}

impl FloorPlan {
    /// A `w` × `d` rectangle centred on the origin.
    pub fn rectangle(w: f32, d: f32) -> FloorPlan {
        let (x, y) = (w * 0.5, d * 0.5);
        FloorPlan {
            outline: vec![
                Point2::new(-x, -y),
                Point2::new(x, -y),
                Point2::new(x, y),
                Point2::new(-x, y),
            ],
            rects: vec![[-x, -y, x, y]],
        }
    }

    /// A `w` × `d` bounding box (centred on the origin) minus a `nw` × `nd` notch at
    /// its +x +y corner.
    pub fn l_shape(w: f32, d: f32, nw: f32, nd: f32) -> FloorPlan {
        let (x, y) = (w * 0.5, d * 0.5);
        let (xn, yn) = (x - nw, y - nd);
        FloorPlan {
            outline: vec![
                Point2::new(-x, -y),
                Point2::new(x, -y),
                Point2::new(x, yn),
                Point2::new(xn, yn),
                Point2::new(xn, y),
                Point2::new(-x, y),
            ],
            rects: vec![[-x, -y, x, yn], [-x, yn, xn, y]],
        }
    }

    /// True for an L-shaped plan.
    pub fn is_l_shaped(&self) -> bool {
        self.outline.len() > 4
    }

    /// The outline's edges `(a, b)`, in order.
    pub fn edges(&self) -> impl Iterator<Item = (Point2<f32>, Point2<f32>)> + '_ {
        let n = self.outline.len();
        (0..n).filter_map(move |i| Some((*self.outline.get(i)?, *self.outline.get((i + 1) % n)?)))
    }

    /// True when `p` lies on the floor (boundary included).
    pub fn contains(&self, p: Point2<f32>) -> bool {
        self.rects
            .iter()
            .any(|r| p.x >= r[0] && p.x <= r[2] && p.y >= r[1] && p.y <= r[3])
    }

    /// Distance from `p` to the nearest wall (outline edge).
    pub fn distance_to_walls(&self, p: Point2<f32>) -> f32 {
        self.edges()
            .map(|(a, b)| segment_distance(p, a, b))
            .fold(f32::INFINITY, f32::min)
    }

    /// True when `p` is on the floor and at least `margin` from every wall.
    pub fn contains_with_margin(&self, p: Point2<f32>, margin: f32) -> bool {
        self.contains(p) && self.distance_to_walls(p) >= margin
    }

    /// Floor area, square metres.
    pub fn area(&self) -> f32 {
        self.rects
            .iter()
            .map(|r| (r[2] - r[0]) * (r[3] - r[1]))
            .sum()
    }

    /// `(min, max)` corners of the bounding box.
    pub fn bounds(&self) -> (Point2<f32>, Point2<f32>) {
        let mut lo = Point2::new(f32::INFINITY, f32::INFINITY);
        let mut hi = Point2::new(f32::NEG_INFINITY, f32::NEG_INFINITY);
        for p in &self.outline {
            lo = lo.inf(p);
            hi = hi.sup(p);
        }
        (lo, hi)
    }

    /// The outline moved inwards by `d` (valid for orthogonal polygons while `d` is
    /// less than half the narrowest width): each vertex moves by `d` along both
    /// adjacent edges' inward normals.
    pub fn inset_outline(&self, d: f32) -> Vec<Point2<f32>> {
        let n = self.outline.len();
        (0..n)
            .filter_map(|i| {
                let prev = *self.outline.get((i + n - 1) % n)?;
                let cur = *self.outline.get(i)?;
                let next = *self.outline.get((i + 1) % n)?;
                let n1 = inward_normal(prev, cur);
                let n2 = inward_normal(cur, next);
                Some(cur + (n1 + n2) * d)
            })
            .collect()
    }

    /// A uniformly random point of the floor at least `margin` from every wall
    /// (`None` when 200 tries fail).
    pub fn random_point(&self, margin: f32, rng: &mut Rng) -> Option<Point2<f32>> {
        let total = self.area().max(1e-6);
        for _ in 0..200 {
            let mut pick = rng.f32() * total;
            let mut chosen = self.rects.first().copied()?;
            for r in &self.rects {
                let a = (r[2] - r[0]) * (r[3] - r[1]);
                if pick < a {
                    chosen = *r;
                    break;
                }
                pick -= a;
            }
            let p = Point2::new(
                rng.range(chosen[0], chosen[2]),
                rng.range(chosen[1], chosen[3]),
            );
            if self.contains_with_margin(p, margin) {
                return Some(p);
            }
        }
        None
    }
}

/// Unit normal of edge `a → b` pointing into the room (left of the direction).
pub fn inward_normal(a: Point2<f32>, b: Point2<f32>) -> Vector2<f32> {
    let u = (b - a).try_normalize(1e-9).unwrap_or_else(Vector2::x);
    Vector2::new(-u.y, u.x)
}

/// Distance from `p` to segment `a b`.
pub fn segment_distance(p: Point2<f32>, a: Point2<f32>, b: Point2<f32>) -> f32 {
    let ab = b - a;
    let t = ((p - a).dot(&ab) / ab.norm_squared().max(1e-12)).clamp(0.0, 1.0);
    (p - (a + ab * t)).norm()
}

/// Door or window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpeningKind {
    /// A hole in the wall with a short closed vestibule behind it.
    Door,
    /// A glass panel with a frame on the wall.
    Window,
}

/// A door or window on one wall.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Opening {
    /// Door or window.
    pub kind: OpeningKind,
    /// Index of the outline edge (wall) it is on.
    pub edge: usize,
    /// Distance of its left end from the edge's first vertex, metres.
    pub start: f32,
    /// Width, metres.
    pub width: f32,
    /// Bottom height (0 for doors), metres.
    pub bottom: f32,
    /// Top height, metres.
    pub top: f32,
}

/// A light source (no shadows).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Light {
    /// Parallel light travelling along `direction` (unit, map frame).
    Directional {
        /// Direction the light travels in.
        direction: Vector3<f32>,
        /// RGB intensity.
        intensity: Rgb,
    },
    /// Point light with `1 / (1 + (d / range)²)` falloff.
    Point {
        /// Position, map frame.
        position: Point3<f32>,
        /// RGB intensity at the source.
        intensity: Rgb,
        /// Falloff distance, metres.
        range: f32,
    },
}

/// The lights of a room.
#[derive(Debug, Clone, PartialEq)]
pub struct Lighting {
    /// Ambient light, RGB.
    pub ambient: Rgb,
    /// Direct lights.
    pub lights: Vec<Light>,
}

/// The room's structure (instance 0): mesh in the map frame and its materials.
#[derive(Debug, Clone, PartialEq)]
pub struct Structure {
    /// Floor, walls, ceiling, vestibules, windows; map frame.
    pub mesh: Mesh,
    /// Materials of the mesh's slots (0 floor, 1 walls, 2 ceiling, 3 glass, 4 frames).
    pub materials: Vec<Material>,
}

/// A furnished room (one scan's state of it).
#[derive(Debug, Clone)]
pub struct Room {
    /// Name, e.g. `room_003`.
    pub name: String,
    /// What the room is used for.
    pub kind: RoomKind,
    /// Index of the room in its dataset.
    pub index: usize,
    /// The dataset seed it was generated from.
    pub seed: u64,
    /// Floor plan, map frame.
    pub plan: FloorPlan,
    /// Wall height, metres.
    pub wall_height: f32,
    /// Doors and windows.
    pub openings: Vec<Opening>,
    /// Floor, walls and ceiling (instance 0).
    pub structure: Arc<Structure>,
    /// Objects sorted by id.
    pub objects: Vec<Object>,
    /// Lights.
    pub lighting: Lighting,
    /// True when the reference layout was built symmetric under a 180° turn about
    /// the room centre, with only a few objects breaking the symmetry (kept in
    /// rescans, whose changes may break it further).
    pub symmetric: bool,
}

impl Room {
    /// The object with instance id `id`.
    pub fn object(&self, id: u32) -> Option<&Object> {
        self.objects.iter().find(|o| o.id == id)
    }

    /// Largest instance id in use (0 when there are no objects).
    pub fn max_id(&self) -> u32 {
        self.objects.iter().map(|o| o.id).max().unwrap_or(0)
    }

    /// Ids of objects standing on `support`.
    pub fn children_of(&self, support: u32) -> Vec<u32> {
        self.objects
            .iter()
            .filter(|o| o.support == Some(support))
            .map(|o| o.id)
            .collect()
    }
}

/// Stream label of room generation in [`Rng::derive`].
const ROOM_STREAM: u64 = 0x524F_4F4D_0000_0000;

/// Generates room `room_index` of the dataset with seed `seed`: plan, structure,
/// lighting and furniture. Deterministic.
pub fn generate_room(seed: u64, room_index: usize) -> Room {
    let mut rng = Rng::derive(seed, ROOM_STREAM | room_index as u64);
    let kind = *RoomKind::ALL
        .get(rng.below(RoomKind::ALL.len()))
        .unwrap_or(&RoomKind::Office);
    let l_shaped = rng.chance(0.3);
    let symmetric = !l_shaped
        && matches!(
            kind,
            RoomKind::Office | RoomKind::MeetingRoom | RoomKind::Storage
        )
        && rng.chance(0.4);
    let plan = if l_shaped {
        let (w, d) = (rng.range(5.0, 8.0), rng.range(5.0, 8.0));
        FloorPlan::l_shape(w, d, rng.range(1.5, w - 3.2), rng.range(1.5, d - 3.2))
    } else {
        FloorPlan::rectangle(rng.range(3.5, 8.0), rng.range(3.0, 7.0))
    };
    let wall_height = rng.range(2.5, 3.0);
    let openings = make_openings(&plan, wall_height, symmetric, &mut rng);
    let structure = Arc::new(build_structure(
        &plan,
        wall_height,
        &openings,
        kind,
        &mut rng,
    ));
    let lighting = make_lighting(&plan, wall_height, &mut rng);
    let mut room = Room {
        name: format!("room_{room_index:03}"),
        kind,
        index: room_index,
        seed,
        plan,
        wall_height,
        openings,
        structure,
        objects: Vec::new(),
        lighting,
        symmetric,
    };
    room.objects = recipes::furnish(&room, &mut rng);
    room
}
