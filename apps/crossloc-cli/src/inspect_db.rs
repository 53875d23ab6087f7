//! `crossloc inspect` on a scene database file: its scenes and what each holds.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use crossloc::db::{FORMAT_VERSION, MAGIC, SceneDatabase, read_database};
use serde::Serialize;

/// What one scene of a database holds.
#[derive(Debug, Serialize, PartialEq)]
pub struct SceneReport {
    /// The scene's name.
    pub name: String,
    /// Where it was built from.
    pub source: String,
    /// Segmented instances (what relocalisation matches).
    pub instances: usize,
    /// Annotated objects (what change detection compares against; 0 without
    /// labels).
    pub objects: usize,
    /// Floor and wall samples.
    pub structure_points: usize,
    /// Cells the reference saw empty (`None` without a seen space).
    pub seen_empty_cells: Option<u64>,
    /// Length of the scene-level embedding.
    pub embedding_dims: usize,
}

/// What a database file holds.
#[derive(Debug, Serialize)]
pub struct DbReport {
    /// The file.
    pub path: String,
    /// Always `crossloc-database`.
    pub format: String,
    /// The format version this build writes (older versions read too).
    pub format_version: u32,
    /// File size, bytes.
    pub bytes: u64,
    /// The scenes, in file order.
    pub scenes: Vec<SceneReport>,
}

/// Whether `path` is a file that starts like a crossloc database (the magic
/// number's last byte aside, so that a file of another layout is read and
/// refused with its own error rather than taken for a dataset).
pub fn is_database(path: &Path) -> bool {
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = [0u8; MAGIC.len()];
    f.read_exact(&mut head).is_ok() && head[..MAGIC.len() - 1] == MAGIC[..MAGIC.len() - 1]
}

/// The report of a loaded database.
pub fn report(path: &Path, db: &SceneDatabase) -> DbReport {
    DbReport {
        path: path.display().to_string(),
        format: "crossloc-database".into(),
        format_version: FORMAT_VERSION,
        bytes: std::fs::metadata(path).map_or(0, |m| m.len()),
        scenes: db
            .scenes
            .iter()
            .map(|s| SceneReport {
                name: s.name.clone(),
                source: s.source.clone(),
                instances: s.instances.len(),
                objects: s.objects.len(),
                structure_points: s.structure_points.len(),
                seen_empty_cells: s.seen_space.as_ref().map(|v| v.empty_cells()),
                embedding_dims: s.embedding.len(),
            })
            .collect(),
    }
}

/// Reads and reports a database file; prints it as text or JSON.
pub fn run(path: &Path, json: bool) -> Result<()> {
    let db = read_database(path)
        .with_context(|| format!("cannot inspect the database {}", path.display()))?;
    let r = report(path, &db);
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!(
        "{}: crossloc database ({} bytes), {} scenes",
        r.path,
        r.bytes,
        r.scenes.len()
    );
    for s in &r.scenes {
        let seen = s.seen_empty_cells.map_or("no seen space".to_string(), |c| {
            format!("{c} cells seen empty")
        });
        println!(
            "  {:<24} {:>5} instances {:>5} objects {:>7} structure points, {seen}  ({})",
            s.name, s.instances, s.objects, s.structure_points, s.source
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossloc::db::{Scene, write_database};
    use nalgebra::Point3;

    #[test]
    fn a_database_file_is_recognised_and_reported() {
        let dir = std::env::temp_dir().join(format!("crossloc-inspect-db-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("two.xdb");
        let mut db = SceneDatabase::new();
        let mut a = Scene::new("kitchen", "test a");
        a.structure_points = vec![Point3::new(0.0, 0.0, 0.0); 3];
        a.structure_normals = vec![nalgebra::Vector3::z(); 3];
        db.add_scene(a).unwrap();
        db.add_scene(Scene::new("office", "test b")).unwrap();
        write_database(&path, &db).unwrap();
        assert!(is_database(&path));
        let read = read_database(&path).unwrap();
        let r = report(&path, &read);
        assert_eq!(r.scenes.len(), 2);
        assert_eq!(r.scenes[0].name, "kitchen");
        assert_eq!(r.scenes[0].structure_points, 3);
        assert_eq!(r.scenes[1].source, "test b");
        assert_eq!(r.scenes[1].seen_empty_cells, None);
        assert!(r.bytes > 0);
        // Anything else is not taken for a database.
        let other = dir.join("other.txt");
        std::fs::write(&other, b"not a database").unwrap();
        assert!(!is_database(&other));
        assert!(!is_database(&dir.join("missing.xdb")));
        assert!(!is_database(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
