//! The scene database's data model: scenes (rooms) made of object instances, each
//! with an oriented box, descriptors per [`Modality`], surface samples and
//! metadata.
//!
//! Guarantees and conventions:
//! - Every position, normal and box is in the database's **map frame**, in metres.
//! - Normals are unit vectors; colours, when present, have one entry per point.
//! - [`SceneDatabase::validate`] states exactly what a database must satisfy to be
//!   written; every database read from a file satisfies it.
//! - Scene names are unique within a database.

use std::collections::BTreeMap;

use nalgebra::{Point3, UnitQuaternion, Vector3};

use super::error::DbError;
use super::seen_space::SeenSpace;
use crate::encode::Modality;

/// Index of a scene in [`SceneDatabase::scenes`].
pub type SceneIdx = usize;
/// Index of an instance in [`Scene::instances`] (its position, not its `id`).
pub type InstanceIdx = usize;

/// A box with a centre, half extents along its own axes and a rotation, in the map
/// frame (metres).
///
/// ```
/// use crossloc::db::OrientedBox;
/// use nalgebra::{Point3, UnitQuaternion, Vector3};
///
/// let b = OrientedBox {
///     center: Point3::new(1.0, 0.0, 0.0),
///     half_extents: Vector3::new(0.5, 0.25, 1.0),
///     rotation: UnitQuaternion::identity(),
/// };
/// assert!(b.contains(&Point3::new(1.4, 0.2, -0.9)));
/// assert!(!b.contains(&Point3::new(1.6, 0.0, 0.0)));
/// assert!((b.volume() - 1.0).abs() < 1e-6);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrientedBox {
    /// Centre of the box, map frame.
    pub center: Point3<f32>,
    /// Half the box's size along each of its own axes (non-negative), metres.
    pub half_extents: Vector3<f32>,
    /// Rotation from the box's own axes to the map frame.
    pub rotation: UnitQuaternion<f32>,
}

impl OrientedBox {
    /// An axis-aligned box with the given centre and half extents.
    pub fn axis_aligned(center: Point3<f32>, half_extents: Vector3<f32>) -> OrientedBox {
        OrientedBox {
            center,
            half_extents,
            rotation: UnitQuaternion::identity(),
        }
    }

    /// True when `p` (map frame) lies inside or on the box.
    pub fn contains(&self, p: &Point3<f32>) -> bool {
        let local = self.rotation.inverse_transform_vector(&(p - self.center));
        local.x.abs() <= self.half_extents.x
            && local.y.abs() <= self.half_extents.y
            && local.z.abs() <= self.half_extents.z
    }

    /// The eight corners in the map frame. Corner `i` takes the box's `+x` half
    /// extent when bit 0 of `i` is set (else `-x`), `+y` for bit 1, `+z` for bit 2.
    pub fn corners(&self) -> [Point3<f32>; 8] {
        std::array::from_fn(|i| {
            let sign = |bit: usize| if i & (1 << bit) != 0 { 1.0 } else { -1.0 };
            let local = Vector3::new(
                sign(0) * self.half_extents.x,
                sign(1) * self.half_extents.y,
                sign(2) * self.half_extents.z,
            );
            self.center + self.rotation * local
        })
    }

    /// Volume in cubic metres.
    pub fn volume(&self) -> f32 {
        8.0 * self.half_extents.x * self.half_extents.y * self.half_extents.z
    }

    /// Length of the box's diagonal, metres.
    pub fn diagonal(&self) -> f32 {
        2.0 * self.half_extents.norm()
    }
}

/// One descriptor of an instance, from one modality.
#[derive(Debug, Clone, PartialEq)]
pub struct Descriptor {
    /// The modality it was computed from.
    pub modality: Modality,
    /// The descriptor values (unit length when produced by an encoder).
    pub values: Vec<f32>,
}

/// An object instance of a scene.
#[derive(Debug, Clone, PartialEq)]
pub struct DbInstance {
    /// Identifier of the instance within its scene (from the source where it has one).
    pub id: u32,
    /// Free text, may be empty: the kind name for synthetic scenes, the class for scans.
    pub label: String,
    /// Centroid of the instance's surface, map frame.
    pub centroid: Point3<f32>,
    /// Oriented bounding box, map frame.
    pub bbox: OrientedBox,
    /// Descriptors, any number per modality.
    pub descriptors: Vec<Descriptor>,
    /// Downsampled surface points, map frame.
    pub points: Vec<Point3<f32>>,
    /// Unit normals, one per point.
    pub normals: Vec<Vector3<f32>>,
    /// RGB colours, one per point, or empty.
    pub colors: Vec<[u8; 3]>,
    /// How many observations (frames or scans) the instance was built from.
    pub observations: u32,
}

impl DbInstance {
    /// The first descriptor of `modality`, if any.
    pub fn descriptor(&self, modality: Modality) -> Option<&[f32]> {
        self.descriptors
            .iter()
            .find(|d| d.modality == modality)
            .map(|d| d.values.as_slice())
    }
}

/// One scene (room) of the database.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scene {
    /// Unique name within the database.
    pub name: String,
    /// Where it was built from (dataset path, scan id, "synthetic seed 7", ...).
    pub source: String,
    /// Object instances, made by the same segmentation as the live ones (what
    /// relocalisation and scene retrieval match against).
    pub instances: Vec<DbInstance>,
    /// Annotated objects: one per instance label of the reference data (see
    /// [`super::objects`]); empty when the reference had no labels. Change
    /// detection uses these when there are any (see [`Scene::change_view`]).
    pub objects: Vec<DbInstance>,
    /// Floor and wall surface samples, map frame: for ICP and for visibility checks
    /// in change detection.
    pub structure_points: Vec<Point3<f32>>,
    /// Unit normals of `structure_points`, one per point.
    pub structure_normals: Vec<Vector3<f32>>,
    /// The space the reference data saw empty (see [`super::seen_space`]), where
    /// it was built from posed depth frames; change detection reports a new
    /// object only where this says the reference looked through empty space.
    pub seen_space: Option<SeenSpace>,
    /// Scene-level embedding (see [`compute_scene_embedding`]); may be empty.
    pub embedding: Vec<f32>,
    /// Free key/value metadata.
    pub metadata: BTreeMap<String, String>,
}

impl Scene {
    /// A scene with a name and source and nothing else.
    pub fn new(name: impl Into<String>, source: impl Into<String>) -> Scene {
        Scene {
            name: name.into(),
            source: source.into(),
            ..Scene::default()
        }
    }

    /// The scene as change detection sees it: with its annotated objects as the
    /// instances when it has any, else as it is.
    pub fn change_view(&self) -> Scene {
        let mut s = self.clone();
        if !s.objects.is_empty() {
            s.instances = std::mem::take(&mut s.objects);
        }
        s
    }
}

/// The whole database: a list of scenes with unique names.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SceneDatabase {
    /// The scenes, in the order they were added.
    pub scenes: Vec<Scene>,
}

impl SceneDatabase {
    /// An empty database.
    pub fn new() -> SceneDatabase {
        SceneDatabase::default()
    }

    /// Appends a scene; fails when a scene of that name exists. Returns its index.
    pub fn add_scene(&mut self, scene: Scene) -> Result<SceneIdx, DbError> {
        if self.scene_index(&scene.name).is_some() {
            return Err(DbError::DuplicateScene(scene.name));
        }
        self.scenes.push(scene);
        Ok(self.scenes.len() - 1)
    }

    /// The scene called `name`.
    pub fn scene(&self, name: &str) -> Option<&Scene> {
        self.scenes.iter().find(|s| s.name == name)
    }

    /// The index of the scene called `name`.
    pub fn scene_index(&self, name: &str) -> Option<SceneIdx> {
        self.scenes.iter().position(|s| s.name == name)
    }

    /// Number of instances over all scenes.
    pub fn instance_count(&self) -> usize {
        self.scenes.iter().map(|s| s.instances.len()).sum()
    }

    /// Recomputes every scene's `embedding` with [`compute_scene_embedding`].
    pub fn refresh_embeddings(&mut self) {
        for scene in &mut self.scenes {
            scene.embedding = compute_scene_embedding(scene);
        }
    }

    /// Checks what every stored database satisfies: unique scene names; every
    /// number finite; half extents non-negative; rotations unit quaternions (norm
    /// within 1e-3 of 1); one normal per point; colours empty or one per point;
    /// every count and string length fits in a `u32`.
    pub fn validate(&self) -> Result<(), DbError> {
        let mut names: Vec<&str> = self.scenes.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
            return Err(DbError::Invalid(format!(
                "scene name {:?} is used twice",
                w[0]
            )));
        }
        for (si, scene) in self.scenes.iter().enumerate() {
            validate_scene(scene)
                .map_err(|m| DbError::Invalid(format!("scene {si} ({:?}): {m}", scene.name)))?;
        }
        Ok(())
    }
}

fn fits_u32(n: usize, what: &str) -> Result<(), String> {
    if u32::try_from(n).is_err() {
        return Err(format!("{what} has {n} entries, more than a u32 holds"));
    }
    Ok(())
}

fn finite_points(points: &[Point3<f32>], what: &str) -> Result<(), String> {
    if let Some(i) = points
        .iter()
        .position(|p| !p.coords.iter().all(|v| v.is_finite()))
    {
        return Err(format!("{what} {i} is not finite"));
    }
    fits_u32(points.len(), what)
}

fn finite_vectors(vectors: &[Vector3<f32>], what: &str) -> Result<(), String> {
    if let Some(i) = vectors
        .iter()
        .position(|v| !v.iter().all(|x| x.is_finite()))
    {
        return Err(format!("{what} {i} is not finite"));
    }
    fits_u32(vectors.len(), what)
}

fn finite_values(values: &[f32], what: &str) -> Result<(), String> {
    if values.iter().any(|v| !v.is_finite()) {
        return Err(format!("{what} has a non-finite value"));
    }
    fits_u32(values.len(), what)
}

/// Checks one box: finite, non-negative extents, unit quaternion.
pub(crate) fn validate_box(b: &OrientedBox) -> Result<(), String> {
    let q = b.rotation.coords;
    if !(b.center.coords.iter().all(|v| v.is_finite())
        && b.half_extents.iter().all(|v| v.is_finite() && *v >= 0.0)
        && q.iter().all(|v| v.is_finite()))
    {
        return Err("box has non-finite values or negative half extents".into());
    }
    if (q.norm() - 1.0).abs() > 1e-3 {
        return Err(format!(
            "box rotation is not a unit quaternion (norm {})",
            q.norm()
        ));
    }
    Ok(())
}

fn validate_scene(scene: &Scene) -> Result<(), String> {
    fits_u32(scene.name.len(), "name")?;
    fits_u32(scene.source.len(), "source")?;
    fits_u32(scene.metadata.len(), "metadata")?;
    for (k, v) in &scene.metadata {
        fits_u32(k.len(), "metadata key")?;
        fits_u32(v.len(), "metadata value")?;
    }
    finite_values(&scene.embedding, "embedding")?;
    finite_points(&scene.structure_points, "structure point")?;
    finite_vectors(&scene.structure_normals, "structure normal")?;
    if scene.structure_normals.len() != scene.structure_points.len() {
        return Err(format!(
            "{} structure points but {} normals",
            scene.structure_points.len(),
            scene.structure_normals.len()
        ));
    }
    fits_u32(scene.instances.len(), "instances")?;
    for (ii, inst) in scene.instances.iter().enumerate() {
        validate_instance(inst).map_err(|m| format!("instance {ii} (id {}): {m}", inst.id))?;
    }
    fits_u32(scene.objects.len(), "objects")?;
    for (ii, inst) in scene.objects.iter().enumerate() {
        validate_instance(inst).map_err(|m| format!("object {ii} (id {}): {m}", inst.id))?;
    }
    Ok(())
}

fn validate_instance(inst: &DbInstance) -> Result<(), String> {
    fits_u32(inst.label.len(), "label")?;
    finite_points(std::slice::from_ref(&inst.centroid), "centroid")?;
    validate_box(&inst.bbox)?;
    fits_u32(inst.descriptors.len(), "descriptors")?;
    for (di, d) in inst.descriptors.iter().enumerate() {
        finite_values(
            &d.values,
            &format!("descriptor {di} ({})", d.modality.name()),
        )?;
    }
    finite_points(&inst.points, "point")?;
    finite_vectors(&inst.normals, "normal")?;
    if inst.normals.len() != inst.points.len() {
        return Err(format!(
            "{} points but {} normals",
            inst.points.len(),
            inst.normals.len()
        ));
    }
    if !inst.colors.is_empty() && inst.colors.len() != inst.points.len() {
        return Err(format!(
            "{} points but {} colours",
            inst.points.len(),
            inst.colors.len()
        ));
    }
    Ok(())
}

/// Bins of the instance-size histogram: box diagonals, log-spaced edges in metres.
const SIZE_EDGES: [f32; 7] = [0.15, 0.3, 0.5, 0.8, 1.2, 2.0, 3.0];
/// Bins of the pairwise centroid-distance histogram: edges in metres.
const DISTANCE_EDGES: [f32; 7] = [0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0];
/// Length of the layout part of a scene embedding (two 8-bin histograms).
pub const LAYOUT_DIMS: usize = SIZE_EDGES.len() + 1 + DISTANCE_EDGES.len() + 1;

fn bin(edges: &[f32], v: f32) -> usize {
    edges.iter().take_while(|&&e| v >= e).count()
}

fn normalise(v: &mut [f32]) -> bool {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 && n.is_finite() {
        v.iter_mut().for_each(|x| *x /= n);
        true
    } else {
        false
    }
}

/// A rigid-invariant scene embedding, deterministic, for [`EmbeddingIndex::top_k_scenes`](super::EmbeddingIndex::top_k_scenes).
///
/// Layout: `[layout (LAYOUT_DIMS = 16) | descriptor mean (d)]`.
/// - The layout part is two 8-bin histograms, each normalised to sum 1: the box
///   diagonals of the instances (edges 0.15, 0.3, 0.5, 0.8, 1.2, 2, 3 m) and the
///   pairwise distances between instance centroids (edges 0.5, 1, 1.5, 2, 3, 4, 6
///   m); the 16 values are then scaled to unit length.
/// - The descriptor part is the mean of the instances' first [`Modality::Point`]
///   descriptor (those whose length equals the first one found), scaled to unit
///   length; it is absent (`d = 0`) when no instance has one.
/// - With both parts present each is weighted by `1/√2`, so the whole vector has
///   unit length and the dot product of two embeddings is the mean of the two
///   parts' cosine similarities. A scene without instances gives an all-zero layout.
pub fn compute_scene_embedding(scene: &Scene) -> Vec<f32> {
    let mut sizes = [0f32; SIZE_EDGES.len() + 1];
    let mut dists = [0f32; DISTANCE_EDGES.len() + 1];
    let finite = |p: &Point3<f32>| p.coords.iter().all(|v| v.is_finite());
    for inst in &scene.instances {
        let d = inst.bbox.diagonal();
        if d.is_finite() {
            sizes[bin(&SIZE_EDGES, d)] += 1.0;
        }
    }
    for (i, a) in scene.instances.iter().enumerate() {
        if !finite(&a.centroid) {
            continue;
        }
        for b in scene.instances.iter().skip(i + 1) {
            if finite(&b.centroid) {
                dists[bin(&DISTANCE_EDGES, (a.centroid - b.centroid).norm())] += 1.0;
            }
        }
    }
    for h in [&mut sizes[..], &mut dists[..]] {
        let total: f32 = h.iter().sum();
        if total > 0.0 {
            h.iter_mut().for_each(|x| *x /= total);
        }
    }
    let mut layout: Vec<f32> = sizes.iter().chain(dists.iter()).copied().collect();
    let has_layout = normalise(&mut layout);

    let mut mean: Vec<f32> = Vec::new();
    for inst in &scene.instances {
        let Some(d) = inst.descriptor(Modality::Point) else {
            continue;
        };
        if mean.is_empty() {
            mean = vec![0.0; d.len()];
        }
        if d.len() == mean.len() && d.iter().all(|v| v.is_finite()) {
            mean.iter_mut().zip(d).for_each(|(m, v)| *m += v);
        }
    }
    let has_desc = normalise(&mut mean);
    if !has_desc {
        mean.iter_mut().for_each(|x| *x = 0.0);
    }
    if has_layout && has_desc {
        let w = std::f32::consts::FRAC_1_SQRT_2;
        layout
            .iter_mut()
            .chain(mean.iter_mut())
            .for_each(|x| *x *= w);
    }
    layout.extend_from_slice(&mean);
    layout
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(id: u32, c: [f32; 3], half: f32, desc: Vec<f32>) -> DbInstance {
        DbInstance {
            id,
            label: String::new(),
            centroid: Point3::from(c),
            bbox: OrientedBox::axis_aligned(Point3::from(c), Vector3::repeat(half)),
            descriptors: vec![Descriptor {
                modality: Modality::Point,
                values: desc,
            }],
            points: vec![Point3::from(c)],
            normals: vec![Vector3::z()],
            colors: vec![],
            observations: 1,
        }
    }

    #[test]
    fn box_contains_corners_and_volume_under_rotation() {
        let b = OrientedBox {
            center: Point3::new(1.0, 2.0, 3.0),
            half_extents: Vector3::new(1.0, 0.5, 0.25),
            rotation: UnitQuaternion::from_axis_angle(&Vector3::z_axis(), 0.7),
        };
        assert!((b.volume() - 1.0).abs() < 1e-6);
        for c in b.corners() {
            // Corners are on the boundary: slightly towards the centre is inside,
            // slightly away is outside.
            assert!(b.contains(&(c + (b.center - c) * 1e-3)));
            assert!(!b.contains(&(c + (c - b.center) * 1e-3)));
            assert!(((c - b.center).norm() - b.half_extents.norm()).abs() < 1e-5);
        }
        // Corner 7 is (+x, +y, +z) in the box frame.
        let c7 = b.corners()[7];
        let local = b.rotation.inverse_transform_vector(&(c7 - b.center));
        assert!((local - b.half_extents).norm() < 1e-5);
        // A point along the box's rotated x axis, beyond the y extent in map axes.
        let along_x = b.center + b.rotation * Vector3::new(0.9, 0.0, 0.0);
        assert!(b.contains(&along_x));
        assert!(!b.contains(&(b.center + Vector3::new(0.0, 0.0, 0.3))));
    }

    #[test]
    fn add_scene_rejects_duplicates_and_counts_instances() {
        let mut db = SceneDatabase::new();
        let mut a = Scene::new("a", "test");
        a.instances.push(inst(1, [0.0; 3], 0.2, vec![1.0, 0.0]));
        a.instances
            .push(inst(2, [1.0, 0.0, 0.0], 0.2, vec![0.0, 1.0]));
        assert_eq!(db.add_scene(a).unwrap(), 0);
        assert_eq!(db.add_scene(Scene::new("b", "test")).unwrap(), 1);
        assert!(matches!(
            db.add_scene(Scene::new("a", "again")),
            Err(DbError::DuplicateScene(n)) if n == "a"
        ));
        assert_eq!(db.instance_count(), 2);
        assert_eq!(db.scene("b").map(|s| s.source.as_str()), Some("test"));
        assert_eq!(db.scene_index("b"), Some(1));
        assert!(db.scene("c").is_none());
        db.validate().unwrap();
    }

    #[test]
    fn validate_rejects_bad_values() {
        let mut db = SceneDatabase::new();
        let mut s = Scene::new("s", "");
        s.instances.push(inst(1, [0.0; 3], 0.2, vec![1.0]));
        db.add_scene(s).unwrap();
        let mut bad = db.clone();
        bad.scenes[0].instances[0].normals.clear();
        assert!(matches!(bad.validate(), Err(DbError::Invalid(_))));
        let mut bad = db.clone();
        bad.scenes[0].instances[0].descriptors[0].values[0] = f32::NAN;
        assert!(matches!(bad.validate(), Err(DbError::Invalid(_))));
        let mut bad = db.clone();
        bad.scenes[0].instances[0].colors = vec![[1, 2, 3]; 2];
        assert!(bad.validate().is_err());
        let mut bad = db.clone();
        bad.scenes[0].instances[0].bbox.half_extents.x = -1.0;
        assert!(bad.validate().is_err());
        let mut bad = db.clone();
        bad.scenes[0].structure_points.push(Point3::origin());
        assert!(bad.validate().is_err());
        let mut bad = db;
        bad.scenes.push(Scene::new("s", ""));
        assert!(bad.validate().is_err());
    }

    #[test]
    fn scene_embedding_is_unit_and_rigid_invariant() {
        let mut s = Scene::new("s", "");
        s.instances
            .push(inst(1, [0.0, 0.0, 0.0], 0.1, vec![1.0, 0.0, 0.0]));
        s.instances
            .push(inst(2, [1.2, 0.0, 0.0], 0.4, vec![0.0, 1.0, 0.0]));
        s.instances
            .push(inst(3, [0.0, 2.5, 0.0], 1.0, vec![0.0, 0.0, 1.0]));
        let e = compute_scene_embedding(&s);
        assert_eq!(e.len(), LAYOUT_DIMS + 3);
        let norm: f32 = e.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
        // Descriptor part: mean (1,1,1)/3 normalised, weighted by 1/sqrt(2).
        let expect = std::f32::consts::FRAC_1_SQRT_2 / 3f32.sqrt();
        for v in &e[LAYOUT_DIMS..] {
            assert!((v - expect).abs() < 1e-5);
        }
        // Moving the whole scene rigidly leaves the embedding unchanged.
        let mut moved = s.clone();
        let r = UnitQuaternion::from_axis_angle(&Vector3::y_axis(), 1.1);
        for i in &mut moved.instances {
            i.centroid = r * i.centroid + Vector3::new(5.0, -2.0, 1.0);
            i.bbox.center = i.centroid;
            i.bbox.rotation = r;
        }
        let e2 = compute_scene_embedding(&moved);
        for (a, b) in e.iter().zip(&e2) {
            assert!((a - b).abs() < 1e-5);
        }
        // A scene with different sizes gets a different layout part.
        let mut other = s.clone();
        for i in &mut other.instances {
            i.bbox.half_extents = Vector3::repeat(2.0);
        }
        let e3 = compute_scene_embedding(&other);
        assert!(e3[..LAYOUT_DIMS] != e[..LAYOUT_DIMS]);
        // Without descriptors: layout only, unit length.
        let mut bare = s;
        bare.instances
            .iter_mut()
            .for_each(|i| i.descriptors.clear());
        let e4 = compute_scene_embedding(&bare);
        assert_eq!(e4.len(), LAYOUT_DIMS);
        assert!((e4.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
        assert_eq!(
            compute_scene_embedding(&Scene::new("e", "")),
            vec![0.0; LAYOUT_DIMS]
        );
    }
}
