//! Building database scenes from data, offline:
//! - a posed RGB-D sequence, through the same segment → fuse → encode path the live
//!   engine uses (the map frame is the sequence's pose frame); where the frames
//!   have instance masks, also one annotated object per label
//!   ([`Scene::objects`], [`super::objects`]);
//! - an annotated scan (ScanNet NumPy or PLY with instance labels): one instance per
//!   label, walls/floor/ceiling (ScanNet classes 1, 2, 22) and unlabelled points as
//!   structure, normals estimated by local PCA.
//!
//! Instance points are voxel-downsampled (2 cm) and capped; boxes are PCA-oriented.

use std::collections::{BTreeMap, HashMap};

use nalgebra::{Matrix3, Point3, SymmetricEigen, UnitQuaternion, Vector3};

use super::objects::ObjectAccumulator;
use super::seen_space::SeenSpaceBuilder;
use super::{DbInstance, Descriptor, OrientedBox, Scene};
use crate::encode::{GeometricColorEncoder, InstanceEncoder};
use crate::frame::{PointCloud, RgbdFrame, centroid};
use crate::fuse::LiveMap;
use crate::io::IoError;
use crate::io::scan::Scan;
use crate::pipeline::{EngineConfig, structure_points};
use crate::segment::segment_frame;

/// Why a scene could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Reading the input failed.
    #[error(transparent)]
    Io(#[from] IoError),
    /// A configuration value is unusable.
    #[error("invalid build configuration: {0}")]
    Config(String),
    /// The instance labels of the input are unusable (unreadable, or not the
    /// size of the frames).
    #[error("instance labels: {0}")]
    Annotations(String),
    /// The input produced no usable instance.
    #[error("{0}: no object instance could be built")]
    Empty(String),
}

/// Settings for building scenes.
#[derive(Debug, Clone)]
pub struct BuildConfig {
    /// The live-path settings (segmentation, fusion, descriptor) — the same as the
    /// engine's so that database and live instances are made alike.
    pub engine: EngineConfig,
    /// Observations a fused instance needs to enter the database.
    pub min_observations: u32,
    /// Points an instance needs to enter the database.
    pub min_points: usize,
    /// Voxel size of stored points, metres.
    pub voxel_m: f32,
    /// Most points stored per instance.
    pub max_points: usize,
    /// Most structure points stored per scene.
    pub max_structure_points: usize,
    /// Cell edge (metres) of the space the reference saw empty
    /// ([`Scene::seen_space`]); `None` builds none.
    pub seen_space_cell_m: Option<f32>,
    /// Every this-th pixel row and column of a frame casts a ray into the seen
    /// space.
    pub seen_space_pixel_step: u32,
}

impl Default for BuildConfig {
    fn default() -> Self {
        BuildConfig {
            engine: EngineConfig::default(),
            min_observations: 3,
            min_points: 30,
            voxel_m: 0.02,
            max_points: 3000,
            max_structure_points: 30_000,
            seen_space_cell_m: Some(0.05),
            seen_space_pixel_step: 12,
        }
    }
}

/// Every this-th pixel row and column of an instance mask is read.
const OBJECT_PIXEL_STEP: u32 = 2;

/// A voxel's integer coordinates.
pub(super) type VoxelKey = (i32, i32, i32);
/// Sum of positions, sum of colours, count.
pub(super) type VoxelSum = (Vector3<f64>, [u64; 3], u64);
/// Points, colours and semantic class of one scan instance.
type InstanceGroup = (Vec<Point3<f32>>, Vec<[u8; 3]>, u32);

/// PCA-oriented bounding box of points.
pub fn oriented_box(points: &[Point3<f32>]) -> OrientedBox {
    let n = points.len().max(1) as f32;
    let c = centroid(points);
    let mut cov = Matrix3::zeros();
    for p in points {
        let d = p - c;
        cov += d * d.transpose();
    }
    let eig = SymmetricEigen::new(cov / n);
    let mut axes = eig.eigenvectors;
    if axes.determinant() < 0.0 {
        axes.set_column(2, &(-axes.column(2)));
    }
    let rot = nalgebra::Rotation3::from_matrix_unchecked(axes);
    let (mut lo, mut hi) = (Vector3::repeat(f32::MAX), Vector3::repeat(f32::MIN));
    for p in points {
        let l = rot.inverse() * (p - c);
        lo = lo.inf(&l);
        hi = hi.sup(&l);
    }
    if points.is_empty() {
        lo = Vector3::zeros();
        hi = Vector3::zeros();
    }
    let mid = (lo + hi) / 2.0;
    OrientedBox {
        center: c + rot * mid,
        half_extents: (hi - lo) / 2.0,
        rotation: UnitQuaternion::from_rotation_matrix(&rot),
    }
}

/// One averaged point per voxel (deterministic: voxels in key order), with the mean
/// colour of the voxel's points.
pub fn voxel_downsample(
    points: &[Point3<f32>],
    colors: Option<&[[u8; 3]]>,
    voxel: f32,
) -> (Vec<Point3<f32>>, Vec<[u8; 3]>) {
    let mut cells: HashMap<VoxelKey, VoxelSum> = HashMap::new();
    for (i, p) in points.iter().enumerate() {
        if !p.coords.iter().all(|v| v.is_finite()) {
            continue;
        }
        let key = (
            (p.x / voxel).floor() as i32,
            (p.y / voxel).floor() as i32,
            (p.z / voxel).floor() as i32,
        );
        let e = cells.entry(key).or_insert((Vector3::zeros(), [0; 3], 0));
        e.0 += p.coords.cast::<f64>();
        if let Some(c) = colors.and_then(|c| c.get(i)) {
            for k in 0..3 {
                e.1[k] += c[k] as u64;
            }
        }
        e.2 += 1;
    }
    let mut keys: Vec<_> = cells.into_iter().collect();
    keys.sort_by_key(|(k, _)| *k);
    let pts = keys
        .iter()
        .map(|(_, (s, _, n))| Point3::from((s / *n as f64).cast::<f32>()))
        .collect();
    let cols = keys
        .iter()
        .map(|(_, (_, c, n))| [(c[0] / n) as u8, (c[1] / n) as u8, (c[2] / n) as u8])
        .collect();
    (pts, cols)
}

/// Normals by PCA over neighbours within `radius` (hash-grid search); the normal
/// is the direction of least variance (sign arbitrary but deterministic: it points
/// away from the points' centroid where that is defined).
pub fn estimate_normals(points: &[Point3<f32>], radius: f32) -> Vec<Vector3<f32>> {
    let cell = radius.max(1e-3);
    let key = |p: &Point3<f32>| {
        (
            (p.x / cell).floor() as i32,
            (p.y / cell).floor() as i32,
            (p.z / cell).floor() as i32,
        )
    };
    let mut grid: HashMap<(i32, i32, i32), Vec<usize>> = HashMap::new();
    for (i, p) in points.iter().enumerate() {
        grid.entry(key(p)).or_default().push(i);
    }
    let centre = centroid(points);
    points
        .iter()
        .map(|p| {
            let (x, y, z) = key(p);
            let mut nb: Vec<Point3<f32>> = Vec::new();
            for dx in -1..=1 {
                for dy in -1..=1 {
                    for dz in -1..=1 {
                        if let Some(ids) = grid.get(&(x + dx, y + dy, z + dz)) {
                            nb.extend(
                                ids.iter()
                                    .filter_map(|&j| points.get(j))
                                    .filter(|q| (*q - p).norm_squared() <= radius * radius),
                            );
                        }
                    }
                }
            }
            if nb.len() < 3 {
                return Vector3::zeros();
            }
            let m = nb.len() as f32;
            let c = nb.iter().fold(Vector3::zeros(), |a, q| a + q.coords) / m;
            let mut cov = Matrix3::zeros();
            for q in &nb {
                let d = q.coords - c;
                cov += d * d.transpose();
            }
            let eig = SymmetricEigen::new(cov);
            let (i, _) = eig
                .eigenvalues
                .iter()
                .enumerate()
                .fold(
                    (0, f32::MAX),
                    |b, (i, v)| if *v < b.1 { (i, *v) } else { b },
                );
            let mut nrm: Vector3<f32> = eig.eigenvectors.column(i).into_owned();
            if nrm.dot(&(p - centre)) < 0.0 {
                nrm = -nrm;
            }
            nrm.try_normalize(1e-9).unwrap_or_else(Vector3::zeros)
        })
        .collect()
}

pub(super) fn make_instance(
    id: u32,
    label: String,
    cloud: PointCloud,
    observations: u32,
    encoder: &GeometricColorEncoder,
) -> Option<DbInstance> {
    let descriptor = encoder.encode(&cloud).ok()?;
    let bbox = oriented_box(&cloud.points);
    let centroid = centroid(&cloud.points);
    let normals = cloud
        .normals
        .clone()
        .unwrap_or_else(|| vec![Vector3::zeros(); cloud.points.len()]);
    Some(DbInstance {
        id,
        label,
        centroid,
        bbox,
        descriptors: vec![Descriptor {
            modality: encoder.modality(),
            values: descriptor,
        }],
        points: cloud.points.clone(),
        normals,
        colors: cloud.colors.clone().unwrap_or_default(),
        observations,
    })
}

/// Builds a scene from posed frames (`T_session_camera` = `T_map_camera`); frames
/// without a pose or that fail are reported and skipped. `progress` is called after
/// each frame.
pub fn scene_from_frames(
    name: &str,
    source: &str,
    frames: impl Iterator<Item = Result<RgbdFrame, IoError>>,
    cfg: &BuildConfig,
    progress: &mut dyn FnMut(u64),
) -> Result<Scene, BuildError> {
    scene_from_annotated_frames(name, source, frames, &mut NoAnnotations, cfg, progress)
}

/// Where the instance labels of a posed sequence's frames come from (see
/// [`scene_from_annotated_frames`]).
pub trait FrameAnnotations {
    /// The instance mask of `frame` (row-major, one label per pixel, 0 = no
    /// object), or `None` when the frame has none.
    fn mask(&mut self, frame: &RgbdFrame) -> Result<Option<Vec<u16>>, BuildError>;

    /// Names of the labels, where known.
    fn labels(&self) -> BTreeMap<u16, String> {
        BTreeMap::new()
    }
}

/// A sequence without instance labels.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoAnnotations;

impl FrameAnnotations for NoAnnotations {
    fn mask(&mut self, _frame: &RgbdFrame) -> Result<Option<Vec<u16>>, BuildError> {
        Ok(None)
    }
}

/// [`scene_from_frames`], and where `annotations` give instance masks, the
/// scene's annotated objects ([`Scene::objects`]) from them too.
pub fn scene_from_annotated_frames(
    name: &str,
    source: &str,
    frames: impl Iterator<Item = Result<RgbdFrame, IoError>>,
    annotations: &mut dyn FrameAnnotations,
    cfg: &BuildConfig,
    progress: &mut dyn FnMut(u64),
) -> Result<Scene, BuildError> {
    let mut objects = ObjectAccumulator::new(cfg.voxel_m, OBJECT_PIXEL_STEP)?;
    let mut seen = cfg
        .seen_space_cell_m
        .map(|c| SeenSpaceBuilder::new(c, cfg.seen_space_pixel_step))
        .transpose()?;
    let encoder = GeometricColorEncoder::new(cfg.engine.encoder.clone())
        .map_err(|e| BuildError::Config(e.to_string()))?;
    let mut fuse = cfg.engine.fuse.clone();
    // Offline: nothing goes stale while the whole room is scanned.
    fuse.stale_frames = u64::MAX / 4;
    fuse.max_structure_points = cfg.max_structure_points;
    let mut live = LiveMap::new(fuse).map_err(|e| BuildError::Config(e.to_string()))?;
    let mut used = 0u64;
    for frame in frames {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => {
                log::warn!("skipping a frame: {e}");
                continue;
            }
        };
        progress(frame.index);
        let Some(T) = frame.T_session_camera else {
            log::warn!("frame {}: no pose, skipped", frame.index);
            continue;
        };
        let seg = match segment_frame(&frame, &cfg.engine.segment) {
            Ok(s) => s,
            Err(e) => {
                log::warn!("frame {}: {e}", frame.index);
                continue;
            }
        };
        live.integrate(frame.index, &T, &seg.segments);
        let (sp, sn) = structure_points(&frame, &seg);
        live.integrate_structure(&T, &sp, &sn);
        if let Some(mask) = annotations.mask(&frame)? {
            objects.add_frame(&frame, &T, &mask)?;
        }
        if let Some(s) = seen.as_mut() {
            s.add_frame(&frame, &T);
        }
        used += 1;
    }
    let mut scene = Scene::new(name, source);
    for inst in live.stable_instances(cfg.min_observations) {
        if inst.points().len() < cfg.min_points {
            continue;
        }
        if let Some(d) = make_instance(
            inst.id,
            String::new(),
            inst.to_point_cloud(),
            inst.observations,
            &encoder,
        ) {
            scene.instances.push(d);
        }
    }
    scene.structure_points = live.structure().points().to_vec();
    scene.structure_normals = live.structure().normals().to_vec();
    scene.objects = objects.finish(cfg, &encoder, &annotations.labels());
    scene.seen_space = seen.and_then(SeenSpaceBuilder::finish);
    scene.metadata.insert("frames".into(), used.to_string());
    scene.metadata.insert("kind".into(), "sequence".into());
    if scene.instances.is_empty() {
        return Err(BuildError::Empty(name.to_string()));
    }
    scene.embedding = super::compute_scene_embedding(&scene);
    Ok(scene)
}

/// ScanNet (NYU40) classes treated as structure: wall, floor, ceiling.
const STRUCTURE_CLASSES: [u32; 3] = [1, 2, 22];

/// Builds a scene from an annotated scan.
pub fn scene_from_scan(scan: &Scan, cfg: &BuildConfig) -> Result<Scene, BuildError> {
    let encoder = GeometricColorEncoder::new(cfg.engine.encoder.clone())
        .map_err(|e| BuildError::Config(e.to_string()))?;
    let cloud = &scan.cloud;
    let ids = cloud.instance_ids.as_deref().unwrap_or(&[]);
    let sem = cloud.semantic_ids.as_deref();
    let colors = cloud.colors.as_deref();
    // Group points by instance; structure separately.
    let mut groups: std::collections::BTreeMap<u32, InstanceGroup> =
        std::collections::BTreeMap::new();
    let mut structure = Vec::new();
    for (i, p) in cloud.points.iter().enumerate() {
        let id = ids.get(i).copied().unwrap_or(0);
        let class = sem.and_then(|s| s.get(i)).copied().unwrap_or(0);
        if id == 0 || STRUCTURE_CLASSES.contains(&class) {
            structure.push(*p);
            continue;
        }
        let e = groups.entry(id).or_insert((Vec::new(), Vec::new(), class));
        e.0.push(*p);
        e.1.push(
            colors
                .and_then(|c| c.get(i))
                .copied()
                .unwrap_or([128, 128, 128]),
        );
    }
    let mut scene = Scene::new(&scan.name, format!("scan {}", scan.name));
    for (id, (pts, cols, class)) in groups {
        let (pts, cols) = voxel_downsample(&pts, Some(&cols), cfg.voxel_m);
        if pts.len() < cfg.min_points {
            continue;
        }
        let stride = pts.len().div_ceil(cfg.max_points.max(1)).max(1);
        let pts: Vec<Point3<f32>> = pts.into_iter().step_by(stride).collect();
        let cols: Vec<[u8; 3]> = cols.into_iter().step_by(stride).collect();
        let normals = estimate_normals(&pts, cfg.voxel_m * 3.0);
        let pc = PointCloud {
            points: pts,
            colors: Some(cols),
            normals: Some(normals),
            ..Default::default()
        };
        if let Some(d) = make_instance(id, format!("class {class}"), pc, 1, &encoder) {
            scene.instances.push(d);
        }
    }
    let (sp, _) = voxel_downsample(&structure, None, 0.05);
    let stride = sp.len().div_ceil(cfg.max_structure_points.max(1)).max(1);
    let sp: Vec<Point3<f32>> = sp.into_iter().step_by(stride).collect();
    scene.structure_normals = estimate_normals(&sp, 0.15);
    scene.structure_points = sp;
    scene.metadata.insert("kind".into(), "scan".into());
    if scene.instances.is_empty() {
        return Err(BuildError::Empty(scan.name.clone()));
    }
    scene.embedding = super::compute_scene_embedding(&scene);
    Ok(scene)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oriented_box_of_a_rotated_slab() {
        let rot = UnitQuaternion::from_euler_angles(0.0, 0.0, 0.6);
        let mut pts = Vec::new();
        for i in 0..=20 {
            for j in 0..=10 {
                for k in 0..=2 {
                    let l = Vector3::new(
                        i as f32 * 0.05 - 0.5,
                        j as f32 * 0.03 - 0.15,
                        k as f32 * 0.05 - 0.05,
                    );
                    pts.push(Point3::new(1.0, 2.0, 0.5) + rot * l);
                }
            }
        }
        let b = oriented_box(&pts);
        let mut h: Vec<f32> = b.half_extents.iter().copied().collect();
        h.sort_by(|a, b| a.total_cmp(b));
        assert!(
            (h[0] - 0.05).abs() < 1e-3 && (h[1] - 0.15).abs() < 1e-3 && (h[2] - 0.5).abs() < 1e-3,
            "{h:?}"
        );
        assert!((b.center - Point3::new(1.0, 2.0, 0.5)).norm() < 1e-3);
        assert!(pts.iter().all(|p| {
            let l = b.rotation.inverse() * (p - b.center);
            l.iter()
                .zip(b.half_extents.iter())
                .all(|(x, e)| x.abs() <= e + 1e-4)
        }));
    }

    #[test]
    fn normals_of_a_plane_and_voxel_downsampling() {
        let pts: Vec<Point3<f32>> = (0..40)
            .flat_map(|i| (0..40).map(move |j| Point3::new(i as f32 * 0.01, j as f32 * 0.01, 1.0)))
            .collect();
        let (ds, _) = voxel_downsample(&pts, None, 0.02);
        assert_eq!(ds.len(), 400);
        let n = estimate_normals(&ds, 0.06);
        assert!(n.iter().all(|v| v.z.abs() > 0.999), "{:?}", n[0]);
    }
}
