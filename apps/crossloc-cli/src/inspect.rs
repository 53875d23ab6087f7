//! `crossloc inspect PATH [--json]`: detect a dataset's format and report what it
//! holds (frames, resolution, intrinsics, poses, valid depth, points, instances).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use crossloc::io::detect::{DatasetFormat, detect_format, open_sequence};
use crossloc::io::{FrameSelection, scan};
use serde::Serialize;

use crate::progress;

/// Arguments of `crossloc inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Dataset folder or file, or a crossloc database file (7-Scenes, TUM, Redwood/ICL-NUIM, single frames, ScanNet
    /// NumPy folder, PLY file, synthetic dataset or scan).
    pub path: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Frame range to read from sequences (`A..B`, by the index in the file names).
    #[arg(long)]
    pub frames: Option<FrameSelection>,
}

/// Counts of one annotated scan.
#[derive(Debug, Serialize)]
pub struct ScanReport {
    /// Scan name.
    pub name: String,
    /// Number of points.
    pub points: usize,
    /// Number of distinct labelled instances.
    pub instances: usize,
    /// Number of bounding boxes shipped with the scan.
    pub boxes: usize,
}

/// What `inspect` found.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// The path inspected.
    pub path: String,
    /// Detected format name.
    pub format: String,
    /// Number of RGB-D frames (0 for scans).
    pub frames: usize,
    /// Frames that could not be read (reported on stderr, then skipped).
    pub bad_frames: usize,
    /// Image width.
    pub width: Option<u32>,
    /// Image height.
    pub height: Option<u32>,
    /// Focal length x.
    pub fx: Option<f32>,
    /// Focal length y.
    pub fy: Option<f32>,
    /// Principal point x.
    pub cx: Option<f32>,
    /// Principal point y.
    pub cy: Option<f32>,
    /// Frames with a pose.
    pub poses: usize,
    /// Share of pixels with valid depth over all frames read.
    pub valid_depth: Option<f32>,
    /// Smallest and largest valid depth seen, metres.
    pub depth_range_m: Option<[f32; 2]>,
    /// Points in the scans (sum over scans).
    pub points: usize,
    /// Instances in the scans (sum over scans).
    pub instances: usize,
    /// Per-scan counts.
    pub scans: Vec<ScanReport>,
    /// Per-sequence summaries for datasets made of several sequences.
    pub sequences: Vec<Report>,
}

/// Runs `crossloc inspect`.
pub fn run(args: &InspectArgs) -> Result<()> {
    if crate::inspect_db::is_database(&args.path) {
        return crate::inspect_db::run(&args.path, args.json);
    }
    let selection = args.frames.unwrap_or_default();
    let report = inspect_path(&args.path, selection, !args.json)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report, "");
    }
    Ok(())
}

/// Inspects one path of any supported format.
pub fn inspect_path(path: &Path, selection: FrameSelection, show_progress: bool) -> Result<Report> {
    let format =
        detect_format(path).with_context(|| format!("cannot inspect {}", path.display()))?;
    let mut report = Report {
        path: path.display().to_string(),
        format: format.name().to_string(),
        ..Default::default()
    };
    match format {
        DatasetFormat::ScanNetNpy => {
            for name in scan::list_scannet_scans(path)? {
                let s = scan::load_scannet(path, &name)?;
                add_scan(&mut report, &s);
            }
        }
        DatasetFormat::Ply => {
            let s = scan::load_ply_scan(path)?;
            add_scan(&mut report, &s);
        }
        DatasetFormat::SyntheticDataset => {
            let mut dirs: Vec<PathBuf> = Vec::new();
            for room in sorted_subdirs(path)? {
                dirs.extend(sorted_subdirs(&room)?);
            }
            for dir in dirs {
                if detect_format(&dir).ok() != Some(DatasetFormat::SyntheticScan) {
                    continue;
                }
                let seq =
                    inspect_sequence(&dir, DatasetFormat::SyntheticScan, selection, show_progress)?;
                report.frames += seq.frames;
                report.bad_frames += seq.bad_frames;
                report.poses += seq.poses;
                report.width = report.width.or(seq.width);
                report.height = report.height.or(seq.height);
                report.fx = report.fx.or(seq.fx);
                report.fy = report.fy.or(seq.fy);
                report.cx = report.cx.or(seq.cx);
                report.cy = report.cy.or(seq.cy);
                report.sequences.push(seq);
            }
            let total: f32 = report
                .sequences
                .iter()
                .filter_map(|s| s.valid_depth.map(|v| v * s.frames as f32))
                .sum();
            if report.frames > 0 {
                report.valid_depth = Some(total / report.frames as f32);
            }
        }
        _ => {
            report = inspect_sequence(path, format, selection, show_progress)?;
        }
    }
    Ok(report)
}

fn add_scan(report: &mut Report, s: &scan::Scan) {
    let r = ScanReport {
        name: s.name.clone(),
        points: s.cloud.len(),
        instances: s.instance_ids().len(),
        boxes: s.boxes.len(),
    };
    report.points += r.points;
    report.instances += r.instances;
    report.scans.push(r);
}

fn sorted_subdirs(path: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs = Vec::new();
    for entry in
        std::fs::read_dir(path).with_context(|| format!("cannot list {}", path.display()))?
    {
        let p = entry?.path();
        if p.is_dir() {
            dirs.push(p);
        }
    }
    dirs.sort();
    Ok(dirs)
}

fn inspect_sequence(
    path: &Path,
    format: DatasetFormat,
    selection: FrameSelection,
    show_progress: bool,
) -> Result<Report> {
    let source = open_sequence(path, selection)?;
    let k = source.intrinsics();
    let total = source.frame_count();
    let pb = progress::bar(total as u64, "reading");
    if !show_progress {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut report = Report {
        path: path.display().to_string(),
        format: format.name().to_string(),
        width: Some(k.width),
        height: Some(k.height),
        fx: Some(k.fx),
        fy: Some(k.fy),
        cx: Some(k.cx),
        cy: Some(k.cy),
        ..Default::default()
    };
    let (mut valid, mut pixels) = (0usize, 0usize);
    let (mut zmin, mut zmax) = (f32::INFINITY, 0.0f32);
    for frame in source {
        pb.inc(1);
        match frame {
            Ok(f) => {
                report.frames += 1;
                if f.T_session_camera.is_some() {
                    report.poses += 1;
                }
                pixels += f.depth.len();
                for i in 0..f.depth.len() {
                    if let Some(z) = f.depth.metres_at_index(i) {
                        valid += 1;
                        zmin = zmin.min(z);
                        zmax = zmax.max(z);
                    }
                }
            }
            Err(e) => {
                report.bad_frames += 1;
                log::warn!("skipping a frame that cannot be read: {e}");
            }
        }
    }
    pb.finish_and_clear();
    if pixels > 0 {
        report.valid_depth = Some(valid as f32 / pixels as f32);
    }
    if valid > 0 {
        report.depth_range_m = Some([zmin, zmax]);
    }
    Ok(report)
}

fn print_text(r: &Report, indent: &str) {
    println!("{indent}path:        {}", r.path);
    println!("{indent}format:      {}", r.format);
    if r.frames > 0 || r.width.is_some() {
        println!(
            "{indent}frames:      {} ({} unreadable)",
            r.frames, r.bad_frames
        );
        if let (Some(w), Some(h)) = (r.width, r.height) {
            println!("{indent}resolution:  {w}x{h}");
        }
        if let (Some(fx), Some(fy), Some(cx), Some(cy)) = (r.fx, r.fy, r.cx, r.cy) {
            println!("{indent}intrinsics:  fx {fx} fy {fy} cx {cx} cy {cy}");
        }
        println!("{indent}poses:       {}", r.poses);
        if let Some(v) = r.valid_depth {
            println!("{indent}valid depth: {:.1}%", v * 100.0);
        }
        if let Some([a, b]) = r.depth_range_m {
            println!("{indent}depth range: {a:.3}–{b:.3} m");
        }
    }
    for s in &r.scans {
        println!(
            "{indent}scan {}: {} points, {} instances, {} boxes",
            s.name, s.points, s.instances, s.boxes
        );
    }
    if !r.scans.is_empty() {
        println!("{indent}points:      {}", r.points);
        println!("{indent}instances:   {}", r.instances);
    }
    for s in &r.sequences {
        println!();
        print_text(s, &format!("{indent}  "));
    }
}
