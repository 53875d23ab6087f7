//! Annotated 3D scans: ScanNet-style NumPy exports (`<name>_vert_all.npy`,
//! `<name>_ins_label_all.npy`, `<name>_sem_label_all.npy`, `<name>_bbox.npy`) and
//! labelled PLY files, loaded as a [`Scan`].
//!
//! Guarantees:
//! - Positions are read as stored, in metres, in the scan's own (axis-aligned
//!   ScanNet) world frame; nothing is transformed.
//! - Vertices come from `*_vert_all.npy` when present (every mesh vertex), else
//!   from `*_vert.npy` (the 50 000-point subsample); labels come from the file with
//!   the same suffix (`*_ins_label_all.npy` with `*_vert_all.npy`, `*_ins_label.npy`
//!   with `*_vert.npy`). A label file whose length differs from the point count is
//!   [`IoError::Malformed`] naming the file and both counts.
//! - Vertex arrays are `N×3` (xyz) or `N×6` and wider (xyz rgb, further columns
//!   ignored). Colours stored as 0..1 floats are told apart from 0..255 ones by the
//!   largest value: if no channel of any point exceeds 1.0 the colours are taken as
//!   0..1 and scaled by 255, else as 0..255; both are rounded and clamped to `u8`.
//!   (The ScanNet exports checked store 0..255.)
//! - Instance ids: 0 means "no instance". In the ScanNet exports checked
//!   (`scene0000_00/01/02`, dtype `<u4`), raw 0 marks exactly the unannotated points
//!   (the points whose semantic label is 0) and instances are numbered 1..=K, so ids
//!   are kept as they are. Files using negative "none" codes (-1, -100) are handled
//!   by [`map_instance_ids`]: negatives become 0 and every other id is shifted by +1,
//!   so a raw instance 0 stays a real instance.
//! - Semantic ids are class ids (NYU40 in ScanNet, 0 = unannotated) and are kept as
//!   they are; negative values become 0 ([`map_semantic_ids`]).
//! - Boxes (`*_bbox.npy`, `K×7`: centre xyz, size xyz, class) are the axis-aligned
//!   bounds of each annotated instance, in the same frame; the class is the same id
//!   space as the semantic labels. A missing box file gives no boxes.
//! - Results are deterministic: scan lists and instance ids are sorted.

use std::path::{Path, PathBuf};

use nalgebra::{Point3, Vector3};

use super::IoError;
use super::npy::{NpyArray, read_npy};
use crate::frame::PointCloud;

/// An axis-aligned annotated box.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanBox {
    /// Centre, metres, in the scan frame.
    pub center: Point3<f32>,
    /// Full extent along x, y and z, metres.
    pub size: Vector3<f32>,
    /// Class id (the same id space as the scan's semantic labels).
    pub class_id: i64,
}

/// An annotated scan: a labelled point cloud and its object boxes.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    /// Scan name, e.g. `scene0000_00`.
    pub name: String,
    /// Points with, where the source has them, colours, instance ids (0 = none) and
    /// semantic ids.
    pub cloud: PointCloud,
    /// Annotated boxes (empty when the source has none).
    pub boxes: Vec<ScanBox>,
}

impl Scan {
    /// Sorted distinct instance ids, without the "no instance" id 0; empty when the
    /// scan has no instance labels.
    pub fn instance_ids(&self) -> Vec<u32> {
        let Some(ids) = &self.cloud.instance_ids else {
            return Vec::new();
        };
        let mut ids: Vec<u32> = ids.iter().copied().filter(|&i| i != 0).collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// The points of instance `id` with all their attributes, in scan order (empty
    /// when no point has that id or the scan has no instance labels).
    pub fn instance_points(&self, id: u32) -> PointCloud {
        let c = &self.cloud;
        let Some(ids) = &c.instance_ids else {
            return PointCloud::default();
        };
        let keep: Vec<usize> = ids
            .iter()
            .enumerate()
            .filter_map(|(i, &v)| (v == id).then_some(i))
            .collect();
        fn pick<T: Clone>(v: &Option<Vec<T>>, keep: &[usize]) -> Option<Vec<T>> {
            v.as_ref()
                .map(|v| keep.iter().filter_map(|&i| v.get(i).cloned()).collect())
        }
        PointCloud {
            points: keep
                .iter()
                .filter_map(|&i| c.points.get(i).copied())
                .collect(),
            colors: pick(&c.colors, &keep),
            normals: pick(&c.normals, &keep),
            instance_ids: pick(&c.instance_ids, &keep),
            semantic_ids: pick(&c.semantic_ids, &keep),
        }
    }
}

/// Maps raw instance ids to the engine's `u32` ids, where 0 means "no instance".
///
/// When no raw id is negative, ids are kept (raw 0 = no instance, as in ScanNet).
/// When some are negative (a "none" code such as -1 or -100), every negative id
/// becomes 0 and every other id is stored as `raw + 1`. Fails with
/// [`IoError::Malformed`] (naming `path`) for an id that does not fit in `u32`.
pub fn map_instance_ids(raw: &[i64], path: &Path) -> Result<Vec<u32>, IoError> {
    let shift = i64::from(raw.iter().any(|&v| v < 0));
    if shift == 1 {
        log::debug!(
            "{}: negative instance ids are \"none\"; other ids shifted by +1",
            path.display()
        );
    }
    raw.iter()
        .map(|&v| {
            if v < 0 {
                return Ok(0);
            }
            u32::try_from(v + shift).map_err(|_| {
                IoError::malformed(path, 0, format!("instance id {v} does not fit in 32 bits"))
            })
        })
        .collect()
}

/// Maps raw semantic class ids to `u32`: kept as they are, negative values (the
/// "ignore" codes) become 0. Fails with [`IoError::Malformed`] for an id that does
/// not fit in `u32`.
pub fn map_semantic_ids(raw: &[i64], path: &Path) -> Result<Vec<u32>, IoError> {
    raw.iter()
        .map(|&v| {
            if v < 0 {
                return Ok(0);
            }
            u32::try_from(v).map_err(|_| {
                IoError::malformed(path, 0, format!("semantic id {v} does not fit in 32 bits"))
            })
        })
        .collect()
}

const VERT_SUFFIXES: [&str; 2] = ["_vert_all.npy", "_vert.npy"];

/// Names of the ScanNet-style scans in `dir` (from `<name>_vert_all.npy` or
/// `<name>_vert.npy`), sorted and without duplicates.
pub fn list_scannet_scans(dir: &Path) -> Result<Vec<String>, IoError> {
    let entries = std::fs::read_dir(dir).map_err(|e| IoError::os(dir, e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| IoError::os(dir, e))?;
        let file = entry.file_name();
        let Some(file) = file.to_str() else { continue };
        if let Some(name) = VERT_SUFFIXES
            .iter()
            .find_map(|s| file.strip_suffix(s))
            .filter(|n| !n.is_empty())
        {
            names.push(name.to_string());
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// Reads an integer label array with one entry per point.
fn read_labels(path: &Path, points: usize) -> Result<Option<Vec<i64>>, IoError> {
    if !path.is_file() {
        log::debug!("{}: no such label file", path.display());
        return Ok(None);
    }
    let a = read_npy(path)?;
    let ok_shape = matches!(a.shape.as_slice(), [_] | [_, 1]);
    if !ok_shape {
        return Err(IoError::malformed(
            path,
            0,
            format!("labels must be a 1-d array, shape is {:?}", a.shape),
        ));
    }
    if a.len() != points {
        return Err(IoError::malformed(
            path,
            0,
            format!("{} labels but the vertex file has {points} points", a.len()),
        ));
    }
    let ids = a.to_i64().ok_or_else(|| {
        IoError::malformed(path, 0, "labels are not whole numbers in the i64 range")
    })?;
    Ok(Some(ids))
}

fn cloud_from_vertices(a: &NpyArray, path: &Path) -> Result<PointCloud, IoError> {
    let cols = match a.shape.as_slice() {
        [_, c] if *c == 3 || *c >= 6 => *c,
        _ => {
            return Err(IoError::malformed(
                path,
                0,
                format!(
                    "vertices must be N×3 or N×6 (xyz rgb), shape is {:?}",
                    a.shape
                ),
            ));
        }
    };
    let v = a.to_f32();
    let mut cloud = PointCloud {
        points: Vec::with_capacity(v.len() / cols),
        ..Default::default()
    };
    for row in v.chunks_exact(cols) {
        let &[x, y, z, ..] = row else { continue };
        if !(x.is_finite() && y.is_finite() && z.is_finite()) {
            return Err(IoError::NonFinite {
                path: path.to_path_buf(),
                line: None,
            });
        }
        cloud.points.push(Point3::new(x, y, z));
    }
    if cols >= 6 {
        let max = v
            .chunks_exact(cols)
            .filter_map(|r| r.get(3..6))
            .flatten()
            .fold(0.0f32, |m, &c| if c > m { c } else { m });
        let scale = if max <= 1.0 { 255.0 } else { 1.0 };
        log::debug!(
            "{}: colours read as {}",
            path.display(),
            if scale > 1.0 { "0..1" } else { "0..255" }
        );
        let to_u8 = |c: f32| {
            if c.is_nan() {
                0
            } else {
                (c * scale).round().clamp(0.0, 255.0) as u8
            }
        };
        cloud.colors = Some(
            v.chunks_exact(cols)
                .filter_map(|r| match r {
                    [_, _, _, r, g, b, ..] => Some([to_u8(*r), to_u8(*g), to_u8(*b)]),
                    _ => None,
                })
                .collect(),
        );
    }
    Ok(cloud)
}

fn read_boxes(path: &Path) -> Result<Vec<ScanBox>, IoError> {
    if !path.is_file() {
        log::debug!("{}: no box file", path.display());
        return Ok(Vec::new());
    }
    let a = read_npy(path)?;
    match a.shape.as_slice() {
        [_, 7] | [0] => {}
        _ => {
            return Err(IoError::malformed(
                path,
                0,
                format!(
                    "boxes must be K×7 (centre xyz, size xyz, class), shape is {:?}",
                    a.shape
                ),
            ));
        }
    }
    let v = a.to_f64();
    v.chunks_exact(7)
        .map(|r| {
            let &[cx, cy, cz, sx, sy, sz, class] = r else {
                return Err(IoError::malformed(path, 0, "short box row"));
            };
            if ![cx, cy, cz, sx, sy, sz].iter().all(|x| x.is_finite()) {
                return Err(IoError::NonFinite {
                    path: path.to_path_buf(),
                    line: None,
                });
            }
            if class.fract() != 0.0 || !class.is_finite() || class.abs() > 1e15 {
                return Err(IoError::malformed(
                    path,
                    0,
                    format!("box class {class} is not a whole number"),
                ));
            }
            Ok(ScanBox {
                center: Point3::new(cx as f32, cy as f32, cz as f32),
                size: Vector3::new(sx as f32, sy as f32, sz as f32),
                class_id: class as i64,
            })
        })
        .collect()
}

/// Loads the ScanNet-style scan `name` from `dir` (see the module documentation for
/// the files read and the label conventions).
pub fn load_scannet(dir: &Path, name: &str) -> Result<Scan, IoError> {
    let file = |suffix: &str| -> PathBuf { dir.join(format!("{name}{suffix}")) };
    let all = file("_vert_all.npy");
    let (vert_path, label_suffix) = if all.is_file() {
        (all, "_all")
    } else if file("_vert.npy").is_file() {
        (file("_vert.npy"), "")
    } else {
        return Err(IoError::Missing {
            path: all,
            what: format!("vertices of scan {name} (*_vert_all.npy or *_vert.npy)"),
        });
    };
    let mut cloud = cloud_from_vertices(&read_npy(&vert_path)?, &vert_path)?;
    let n = cloud.len();
    let ins_path = file(&format!("_ins_label{label_suffix}.npy"));
    if let Some(raw) = read_labels(&ins_path, n)? {
        cloud.instance_ids = Some(map_instance_ids(&raw, &ins_path)?);
    }
    let sem_path = file(&format!("_sem_label{label_suffix}.npy"));
    if let Some(raw) = read_labels(&sem_path, n)? {
        cloud.semantic_ids = Some(map_semantic_ids(&raw, &sem_path)?);
    }
    let boxes = read_boxes(&file("_bbox.npy"))?;
    let scan = Scan {
        name: name.to_string(),
        cloud,
        boxes,
    };
    log::debug!(
        "loaded scan {name}: {n} points, {} instances, {} boxes",
        scan.instance_ids().len(),
        scan.boxes.len()
    );
    Ok(scan)
}

/// Loads a labelled PLY file as a scan named after the file stem, without boxes
/// (see [`crate::io::ply`] for the property mapping).
pub fn load_ply_scan(path: &Path) -> Result<Scan, IoError> {
    let cloud = super::ply::read_ply(path)?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Scan {
        name,
        cloud,
        boxes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::npy::{write_npy, write_npy_i32, write_npy_i64};

    /// A ScanNet-style folder: 3 instances (ids 1..=3) plus unannotated points.
    fn write_scene(dir: &Path, name: &str, suffix: &str, colour_scale: f32) -> usize {
        let ins: Vec<i64> = vec![0, 1, 1, 2, 3, 3, 3, 0, 2, 1];
        let n = ins.len();
        let mut vert = Vec::new();
        for i in 0..n {
            let f = i as f32;
            vert.extend_from_slice(&[f, -f, 0.5 * f]);
            vert.extend_from_slice(&[(i * 20) as f32 * colour_scale, 255.0 * colour_scale, 0.0]);
        }
        write_npy(
            &dir.join(format!("{name}_vert{suffix}.npy")),
            &[n, 6],
            &vert,
        )
        .unwrap();
        write_npy_i64(
            &dir.join(format!("{name}_ins_label{suffix}.npy")),
            &[n],
            &ins,
        )
        .unwrap();
        let sem: Vec<i32> = ins.iter().map(|&i| (i * 10) as i32).collect();
        write_npy_i32(
            &dir.join(format!("{name}_sem_label{suffix}.npy")),
            &[n],
            &sem,
        )
        .unwrap();
        n
    }

    #[test]
    fn synthetic_scannet_folder_loads() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let n = write_scene(d, "scene0001_00", "_all", 1.0);
        write_scene(d, "scene0001_00", "", 1.0);
        write_scene(d, "scene0000_01", "", 1.0 / 255.0);
        let boxes = [
            1.0f32, 2.0, 3.0, 0.5, 0.6, 0.7, 5.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 39.0,
        ];
        write_npy(&d.join("scene0001_00_bbox.npy"), &[2, 7], &boxes).unwrap();
        std::fs::write(d.join("notes_vert.txt"), "x").unwrap();
        std::fs::write(d.join("_vert.npy"), "x").unwrap();
        assert_eq!(
            list_scannet_scans(d).unwrap(),
            vec!["scene0000_01".to_string(), "scene0001_00".to_string()]
        );

        let scan = load_scannet(d, "scene0001_00").unwrap();
        assert_eq!(scan.name, "scene0001_00");
        assert_eq!(scan.cloud.len(), n);
        assert!(scan.cloud.is_consistent());
        assert_eq!(scan.instance_ids(), vec![1, 2, 3]);
        assert_eq!(scan.cloud.instance_count(), 3);
        assert_eq!(scan.cloud.points[3], Point3::new(3.0, -3.0, 1.5));
        assert_eq!(scan.cloud.colors.as_ref().unwrap()[3], [60, 255, 0]);
        assert_eq!(scan.cloud.semantic_ids.as_ref().unwrap()[4], 30);
        let three = scan.instance_points(3);
        assert_eq!(three.len(), 3);
        assert_eq!(three.points[0], Point3::new(4.0, -4.0, 2.0));
        assert_eq!(three.semantic_ids, Some(vec![30; 3]));
        assert!(scan.instance_points(9).is_empty());
        assert_eq!(scan.boxes.len(), 2);
        assert_eq!(scan.boxes[0].center, Point3::new(1.0, 2.0, 3.0));
        assert_eq!(scan.boxes[0].size, Vector3::new(0.5, 0.6, 0.7));
        assert_eq!(scan.boxes[1].class_id, 39);

        // Only the subsampled files: fallback, 0..1 colours detected, no boxes.
        let sub = load_scannet(d, "scene0000_01").unwrap();
        assert_eq!(sub.instance_ids(), vec![1, 2, 3]);
        assert_eq!(sub.cloud.colors.as_ref().unwrap()[3], [60, 255, 0]);
        assert!(sub.boxes.is_empty());
    }

    #[test]
    fn negative_none_codes_shift_real_ids() {
        let p = Path::new("l.npy");
        assert_eq!(
            map_instance_ids(&[-100, 0, 4, -1], p).unwrap(),
            vec![0, 1, 5, 0]
        );
        assert_eq!(map_instance_ids(&[0, 4], p).unwrap(), vec![0, 4]);
        assert!(map_instance_ids(&[-1, i64::from(u32::MAX)], p).is_err());
        assert_eq!(map_semantic_ids(&[-100, 0, 7], p).unwrap(), vec![0, 0, 7]);

        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write_npy(&d.join("s_vert.npy"), &[3, 3], &[0.0; 9]).unwrap();
        write_npy_i32(&d.join("s_ins_label.npy"), &[3], &[-1, 0, 0]).unwrap();
        let scan = load_scannet(d, "s").unwrap();
        assert_eq!(scan.cloud.instance_ids, Some(vec![0, 1, 1]));
        assert_eq!(scan.instance_ids(), vec![1]);
        assert!(scan.cloud.colors.is_none() && scan.cloud.semantic_ids.is_none());
    }

    #[test]
    fn malformed_scans_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write_scene(d, "a", "_all", 1.0);
        let ins = d.join("a_ins_label_all.npy");
        write_npy_i64(&ins, &[4], &[0, 1, 2, 3]).unwrap();
        let e = load_scannet(d, "a").unwrap_err();
        let s = e.to_string();
        assert!(matches!(e, IoError::Malformed { .. }), "{s}");
        assert!(s.contains("a_ins_label_all.npy"), "{s}");
        assert!(s.contains("4 labels") && s.contains("10 points"), "{s}");

        write_npy(&ins, &[10], &[0.5; 10]).unwrap();
        assert!(matches!(
            load_scannet(d, "a"),
            Err(IoError::Malformed { .. })
        ));

        write_npy(&d.join("b_vert.npy"), &[2, 4], &[0.0; 8]).unwrap();
        let e = load_scannet(d, "b").unwrap_err().to_string();
        assert!(e.contains("b_vert.npy") && e.contains("N×3 or N×6"), "{e}");

        write_npy(&d.join("c_vert.npy"), &[1, 3], &[0.0, f32::NAN, 0.0]).unwrap();
        assert!(matches!(
            load_scannet(d, "c"),
            Err(IoError::NonFinite { .. })
        ));

        write_npy(&d.join("e_vert.npy"), &[1, 3], &[0.0; 3]).unwrap();
        write_npy(&d.join("e_bbox.npy"), &[1, 6], &[0.0; 6]).unwrap();
        let e = load_scannet(d, "e").unwrap_err().to_string();
        assert!(e.contains("e_bbox.npy") && e.contains("K×7"), "{e}");

        let e = load_scannet(d, "nothing").unwrap_err();
        assert!(matches!(e, IoError::Missing { .. }), "{e}");
        assert!(list_scannet_scans(&d.join("nope")).is_err());
    }

    #[test]
    fn ply_scan_and_shipped_fixtures() {
        let dir = tempfile::tempdir().unwrap();
        let scan = load_scannet_like_ply(dir.path());
        assert_eq!(scan.name, "room");
        assert_eq!(scan.instance_ids(), vec![2, 7]);
        assert_eq!(scan.instance_points(7).len(), 2);

        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/fixtures");
        let ascii = load_ply_scan(&fixtures.join("labelled_ascii.ply")).unwrap();
        let be = load_ply_scan(&fixtures.join("labelled_binary_be.ply")).unwrap();
        for s in [&ascii, &be] {
            assert_eq!(s.cloud.len(), 4, "{}", s.name);
            assert_eq!(s.instance_ids(), vec![1, 2], "{}", s.name);
            assert_eq!(s.cloud.colors.as_ref().unwrap()[1], [0, 255, 0]);
            assert_eq!(s.cloud.semantic_ids, Some(vec![0, 5, 5, 9]));
        }
        assert_eq!(ascii.cloud.points, be.cloud.points);
    }

    fn load_scannet_like_ply(dir: &Path) -> Scan {
        let path = dir.join("room.ply");
        let cloud = PointCloud {
            points: vec![Point3::origin(); 4],
            instance_ids: Some(vec![7, 0, 2, 7]),
            ..Default::default()
        };
        crate::io::ply::write_binary(&path, &cloud).unwrap();
        load_ply_scan(&path).unwrap()
    }
}
