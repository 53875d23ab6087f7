//! `crossloc build-db`: build a scene database from a posed RGB-D sequence, an
//! annotated scan (ScanNet NumPy folder or PLY) or a synthetic dataset (every room,
//! from its reference scan `scan_00`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use crossloc::db::build::{
    BuildConfig, FrameAnnotations, NoAnnotations, scene_from_annotated_frames, scene_from_scan,
};
use crossloc::db::{Scene, SceneDatabase, write_database};
use crossloc::io::detect::{DatasetFormat, detect_format, open_sequence};
use crossloc::io::{FrameSelection, scan};
use crossloc::synth::annotations::ScanAnnotations;

use crate::progress;

/// Arguments of `crossloc build-db`.
#[derive(Debug, Args)]
pub struct BuildDbArgs {
    /// Input: sequence folder, ScanNet folder, PLY file or synthetic dataset.
    #[arg(long)]
    pub input: PathBuf,
    /// Frame range of a sequence (`A..B`, by the index in the file names).
    #[arg(long)]
    pub frames: Option<FrameSelection>,
    /// Use every S-th frame of a sequence.
    #[arg(long, default_value_t = 1)]
    pub stride: usize,
    /// Scan name inside a ScanNet folder (default: every scan).
    #[arg(long)]
    pub scan: Option<String>,
    /// Output database file.
    #[arg(long)]
    pub out: PathBuf,
}

fn folder_name(path: &Path) -> String {
    path.canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| path.display().to_string())
}

/// Builds one scene from a posed sequence, with a progress bar.
pub fn scene_from_sequence(
    path: &Path,
    name: &str,
    selection: FrameSelection,
    cfg: &BuildConfig,
) -> Result<Scene> {
    let source = open_sequence(path, selection)?;
    let pb = progress::bar(source.frame_count() as u64, name);
    // A synthetic scan's instance masks give the scene's annotated objects.
    let mut annotations: Box<dyn FrameAnnotations> = match ScanAnnotations::open(path) {
        Some(a) => Box::new(a),
        None => Box::new(NoAnnotations),
    };
    let mut scene = scene_from_annotated_frames(
        name,
        &path.display().to_string(),
        source,
        annotations.as_mut(),
        cfg,
        &mut |_| pb.inc(1),
    )
    .with_context(|| format!("cannot build a scene from {}", path.display()))?;
    pb.finish_and_clear();
    let abs = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    scene
        .metadata
        .insert("source_path".into(), abs.display().to_string());
    scene.metadata.insert(
        "selection_start".into(),
        selection.start.map(|s| s.to_string()).unwrap_or_default(),
    );
    scene.metadata.insert(
        "selection_end".into(),
        selection.end.map(|s| s.to_string()).unwrap_or_default(),
    );
    scene
        .metadata
        .insert("selection_stride".into(), selection.stride.to_string());
    Ok(scene)
}

/// Records where a scan scene came from (the folder or PLY file and the scan's
/// name), so that evaluations can load the scan again as a reference.
fn record_scan_source(scene: &mut Scene, path: &Path, name: &str) {
    let abs = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    // Not `source_path`: that key marks scenes built from sequences.
    scene
        .metadata
        .insert("scan_path".into(), abs.display().to_string());
    scene.metadata.insert("scan".into(), name.to_string());
}

/// Builds the database a command line describes.
pub fn build(args: &BuildDbArgs) -> Result<SceneDatabase> {
    let cfg = BuildConfig::default();
    let selection = args.frames.unwrap_or_default().with_stride(args.stride);
    let format = detect_format(&args.input)?;
    let mut db = SceneDatabase::new();
    match format {
        DatasetFormat::ScanNetNpy => {
            let names = match &args.scan {
                Some(n) => vec![n.clone()],
                None => scan::list_scannet_scans(&args.input)?,
            };
            for name in names {
                let s = scan::load_scannet(&args.input, &name)?;
                let mut scene =
                    scene_from_scan(&s, &cfg).with_context(|| format!("scan {name}"))?;
                record_scan_source(&mut scene, &args.input, &name);
                log::info!("{name}: {} instances", scene.instances.len());
                db.add_scene(scene)?;
            }
        }
        DatasetFormat::Ply => {
            let s = scan::load_ply_scan(&args.input)?;
            let mut scene = scene_from_scan(&s, &cfg)?;
            record_scan_source(&mut scene, &args.input, &s.name);
            db.add_scene(scene)?;
        }
        DatasetFormat::SyntheticDataset => {
            let ds = crossloc::synth::load_dataset(&args.input)?;
            for (r, room) in ds.rooms.iter().enumerate() {
                let dir = ds.scan_dir(r, 0);
                let mut scene = scene_from_sequence(&dir, room, selection, &cfg)?;
                scene.metadata.insert(
                    "surface".into(),
                    dir.join("surface.ply").display().to_string(),
                );
                log::info!(
                    "{room}: {} instances, {} annotated objects",
                    scene.instances.len(),
                    scene.objects.len()
                );
                db.add_scene(scene)?;
            }
        }
        f if f.is_sequence() => {
            let name = folder_name(&args.input);
            let scene = scene_from_sequence(&args.input, &name, selection, &cfg)?;
            log::info!("{name}: {} instances", scene.instances.len());
            db.add_scene(scene)?;
        }
        other => bail!(
            "{}: cannot build a database from a {} input",
            args.input.display(),
            other.name()
        ),
    }
    Ok(db)
}

/// Runs `crossloc build-db`.
pub fn run(args: &BuildDbArgs) -> Result<()> {
    let start = std::time::Instant::now();
    let db = build(args)?;
    write_database(&args.out, &db)?;
    println!(
        "wrote {}: {} scenes, {} instances in {:.1} s",
        args.out.display(),
        db.scenes.len(),
        db.instance_count(),
        start.elapsed().as_secs_f64()
    );
    for s in &db.scenes {
        println!(
            "  {:<24} {:>4} instances {:>6} structure points",
            s.name,
            s.instances.len(),
            s.structure_points.len()
        );
    }
    Ok(())
}
