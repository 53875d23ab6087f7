//! Object kinds, materials, shared object models and placed object instances.
//!
//! Object frame convention (all models): origin at the centre of the floor contact
//! (the bottom centre of the bounding box), z up, the object's front facing +y, its
//! back at -y (against a wall for wall-standing furniture). Units are metres.
//! Models are shared through `Arc`, so identical objects (e.g. several chairs of one
//! set) have the same mesh, materials and colour.

use std::sync::Arc;

use nalgebra::{Point3, Vector3};
use serde::{Deserialize, Serialize};

use super::mesh::Mesh;
use super::texture::{Texture, color_name, to_u8};
use crate::frame::Pose;

/// What an object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ObjectKind {
    /// Dining or meeting table.
    Table,
    /// Low living-room table.
    CoffeeTable,
    /// Desk with a drawer block on one side.
    Desk,
    /// Four-legged chair with a backrest.
    Chair,
    /// Backless stool.
    Stool,
    /// Upholstered armchair.
    Armchair,
    /// Sofa with seat cushions and arms.
    Sofa,
    /// Bed with mattress, pillows and blanket.
    Bed,
    /// Bookcase with books of varied colours.
    Bookshelf,
    /// Low cabinet with doors.
    Cabinet,
    /// Bedside table with a drawer.
    Nightstand,
    /// Tall wardrobe with two doors.
    Wardrobe,
    /// Kitchen counter with a worktop.
    Counter,
    /// Fridge.
    Fridge,
    /// Cardboard box.
    Box,
    /// Waste bin.
    Bin,
    /// Desk lamp (stands on a support).
    Lamp,
    /// Floor lamp.
    FloorLamp,
    /// Potted plant (small on a support, large on the floor).
    Plant,
    /// Computer monitor (stands on a support).
    Monitor,
    /// Television (stands on a support).
    Tv,
    /// Mug (stands on a support).
    Mug,
}

impl ObjectKind {
    /// Every kind, in declaration order.
    pub const ALL: [ObjectKind; 22] = [
        ObjectKind::Table,
        ObjectKind::CoffeeTable,
        ObjectKind::Desk,
        ObjectKind::Chair,
        ObjectKind::Stool,
        ObjectKind::Armchair,
        ObjectKind::Sofa,
        ObjectKind::Bed,
        ObjectKind::Bookshelf,
        ObjectKind::Cabinet,
        ObjectKind::Nightstand,
        ObjectKind::Wardrobe,
        ObjectKind::Counter,
        ObjectKind::Fridge,
        ObjectKind::Box,
        ObjectKind::Bin,
        ObjectKind::Lamp,
        ObjectKind::FloorLamp,
        ObjectKind::Plant,
        ObjectKind::Monitor,
        ObjectKind::Tv,
        ObjectKind::Mug,
    ];

    /// Human-readable name ("coffee table").
    pub fn label(self) -> &'static str {
        match self {
            ObjectKind::Table => "table",
            ObjectKind::CoffeeTable => "coffee table",
            ObjectKind::Desk => "desk",
            ObjectKind::Chair => "chair",
            ObjectKind::Stool => "stool",
            ObjectKind::Armchair => "armchair",
            ObjectKind::Sofa => "sofa",
            ObjectKind::Bed => "bed",
            ObjectKind::Bookshelf => "bookshelf",
            ObjectKind::Cabinet => "cabinet",
            ObjectKind::Nightstand => "nightstand",
            ObjectKind::Wardrobe => "wardrobe",
            ObjectKind::Counter => "counter",
            ObjectKind::Fridge => "fridge",
            ObjectKind::Box => "box",
            ObjectKind::Bin => "bin",
            ObjectKind::Lamp => "lamp",
            ObjectKind::FloorLamp => "floor lamp",
            ObjectKind::Plant => "plant",
            ObjectKind::Monitor => "monitor",
            ObjectKind::Tv => "tv",
            ObjectKind::Mug => "mug",
        }
    }

    /// True for kinds whose top can carry other objects.
    pub fn is_support(self) -> bool {
        matches!(
            self,
            ObjectKind::Table
                | ObjectKind::CoffeeTable
                | ObjectKind::Desk
                | ObjectKind::Cabinet
                | ObjectKind::Nightstand
                | ObjectKind::Counter
        )
    }

    /// True for kinds that always stand on a support (never on the floor).
    pub fn needs_support(self) -> bool {
        matches!(
            self,
            ObjectKind::Lamp | ObjectKind::Monitor | ObjectKind::Tv | ObjectKind::Mug
        )
    }
}

/// A surface material: a texture plus whether the surface is shiny (specular
/// highlight in colour, depth dropouts in the depth noise model).
#[derive(Debug, Clone, PartialEq)]
pub struct Material {
    /// Albedo texture, evaluated in the object frame.
    pub texture: Texture,
    /// Glossy/reflective (screens, glass, steel).
    pub shiny: bool,
}

impl Material {
    /// A matte material.
    pub fn matte(texture: Texture) -> Material {
        Material {
            texture,
            shiny: false,
        }
    }

    /// A shiny material.
    pub fn shiny(texture: Texture) -> Material {
        Material {
            texture,
            shiny: true,
        }
    }
}

/// A renderable model: mesh, materials and derived bounds. Shared by identical
/// instances.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectModel {
    /// What the model is.
    pub kind: ObjectKind,
    /// Geometry in the object frame; triangle material slots index `materials`.
    pub mesh: Mesh,
    /// Materials of the mesh's slots.
    pub materials: Vec<Material>,
    /// Bounding box minimum corner, object frame.
    pub bbox_min: Point3<f32>,
    /// Bounding box maximum corner, object frame.
    pub bbox_max: Point3<f32>,
    /// Height of the top surface other objects can stand on (supports only).
    pub support_height: Option<f32>,
    /// Half-extents `(x, y)` of the usable top area, centred on the origin.
    pub support_half: [f32; 2],
    /// Representative 8-bit colour (of the main material).
    pub color: [u8; 3],
    /// Centre of a sphere enclosing the mesh, object frame.
    pub bound_centre: Point3<f32>,
    /// Radius of that sphere.
    pub bound_radius: f32,
}

impl ObjectModel {
    /// Builds a model from a mesh and its materials; the representative colour is
    /// that of `main_material`. Material slots beyond the list are clamped to its last
    /// entry at render time.
    pub fn new(
        kind: ObjectKind,
        mesh: Mesh,
        materials: Vec<Material>,
        main_material: usize,
    ) -> ObjectModel {
        let (bbox_min, bbox_max) = mesh
            .bounds()
            .unwrap_or((Point3::origin(), Point3::origin()));
        let bound_centre = nalgebra::center(&bbox_min, &bbox_max);
        let bound_radius = mesh
            .positions
            .iter()
            .map(|p| (p - bound_centre).norm())
            .fold(0.0f32, f32::max);
        let color = materials
            .get(main_material)
            .or(materials.first())
            .map(|m| to_u8(m.texture.base_color()))
            .unwrap_or([128, 128, 128]);
        ObjectModel {
            kind,
            mesh,
            materials,
            bbox_min,
            bbox_max,
            support_height: None,
            support_half: [0.0, 0.0],
            color,
            bound_centre,
            bound_radius,
        }
    }

    /// Marks the model as a support with a usable top at `height` of half-size
    /// `half` (centred on the origin).
    pub fn with_support(mut self, height: f32, half: [f32; 2]) -> ObjectModel {
        self.support_height = Some(height);
        self.support_half = half;
        self
    }

    /// The same model translated so that its footprint is centred on the origin and
    /// its lowest point is at z = 0 (support data is kept).
    pub fn recentred(self) -> ObjectModel {
        let (c, _) = self.footprint_local();
        let dz = self.bbox_min.z;
        if c[0].abs() < 1e-6 && c[1].abs() < 1e-6 && dz.abs() < 1e-6 {
            return self;
        }
        let mesh = self.mesh.translated(Vector3::new(-c[0], -c[1], -dz));
        let mut m = ObjectModel::new(self.kind, mesh, self.materials, 0);
        m.color = self.color;
        m.support_height = self.support_height.map(|h| h - dz);
        m.support_half = [
            (self.support_half[0] - c[0].abs()).max(0.0),
            (self.support_half[1] - c[1].abs()).max(0.0),
        ];
        m
    }

    /// True when any material is shiny.
    pub fn shiny(&self) -> bool {
        self.materials.iter().any(|m| m.shiny)
    }

    /// The material of a slot (clamped to the last one).
    pub fn material(&self, slot: u16) -> Option<&Material> {
        self.materials
            .get(slot as usize)
            .or_else(|| self.materials.last())
    }

    /// A short text description, e.g. "blue chair" or "large wooden table".
    pub fn description(&self) -> String {
        let c = [
            self.color[0] as f32 / 255.0,
            self.color[1] as f32 / 255.0,
            self.color[2] as f32 / 255.0,
        ];
        let size = self.bbox_max - self.bbox_min;
        let mut words = Vec::new();
        let vol = size.x * size.y * size.z;
        if let Some(typical) = typical_volume(self.kind) {
            if vol > typical * 1.6 {
                words.push("large");
            } else if vol < typical * 0.55 {
                words.push("small");
            }
        }
        let wooden = self
            .materials
            .first()
            .is_some_and(|m| matches!(m.texture, Texture::Wood { .. }));
        if wooden {
            words.push("wooden");
        } else {
            words.push(color_name(c));
        }
        words.push(self.kind.label());
        words.join(" ")
    }

    /// Footprint half-extents and local centre of the bounding box in the xy plane.
    pub fn footprint_local(&self) -> ([f32; 2], [f32; 2]) {
        let c = [
            (self.bbox_min.x + self.bbox_max.x) * 0.5,
            (self.bbox_min.y + self.bbox_max.y) * 0.5,
        ];
        let h = [
            (self.bbox_max.x - self.bbox_min.x) * 0.5,
            (self.bbox_max.y - self.bbox_min.y) * 0.5,
        ];
        (c, h)
    }

    /// Height of the model's top, metres.
    pub fn height(&self) -> f32 {
        self.bbox_max.z
    }
}

fn typical_volume(kind: ObjectKind) -> Option<f32> {
    match kind {
        ObjectKind::Table => Some(1.4 * 0.85 * 0.75),
        ObjectKind::Plant => Some(0.35 * 0.35 * 0.6),
        ObjectKind::Box => Some(0.45 * 0.45 * 0.4),
        _ => None,
    }
}

/// One placed object instance of a room.
#[derive(Debug, Clone)]
pub struct Object {
    /// Instance id, unique within the room, ≥ 1, stable across rescans.
    pub id: u32,
    /// The (possibly shared) model.
    pub model: Arc<ObjectModel>,
    /// Pose of the object frame in the map frame.
    pub T_map_object: Pose,
    /// Id of the object this one stands on, `None` when on the floor.
    pub support: Option<u32>,
}

impl Object {
    /// The object's kind.
    pub fn kind(&self) -> ObjectKind {
        self.model.kind
    }

    /// Rotation about the vertical (map z), radians.
    pub fn yaw(&self) -> f32 {
        let r = self.T_map_object.rotation * Vector3::x();
        r.y.atan2(r.x)
    }

    /// Map-frame height of the top surface for supports (`None` otherwise).
    pub fn support_top(&self) -> Option<f32> {
        self.model
            .support_height
            .map(|h| self.T_map_object.translation.z + h)
    }
}
