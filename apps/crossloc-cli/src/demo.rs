//! `crossloc demo`: the main job on embedded data. Generates synthetic rooms, builds
//! the database from their reference scans, streams a rescan with changes through
//! the engine as a headset would, prints the results and writes a top-down PNG.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use crossloc::db::{SceneDatabase, write_database};
use crossloc::eval::{RelocFrame, random_session_transform, replay, summarise_reloc};
use crossloc::frame::Pose;
use crossloc::fuse::LiveMap;
use crossloc::io::detect::open_sequence;
use crossloc::io::{FrameSelection, ply};
use crossloc::pipeline::{EngineConfig, EngineEvent};
use crossloc::segment::segment_frame;
use crossloc::synth::{self, SynthConfig};
use image::{Rgb, RgbImage};
use nalgebra::Point3;

use crate::{build_db, progress};

/// Arguments of `crossloc demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output folder (dataset, database, results, PNG); replaced if it exists.
    #[arg(long, default_value = "crossloc-demo")]
    pub out: PathBuf,
    /// Seed of the synthetic world.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Rooms in the database.
    #[arg(long, default_value_t = 3)]
    pub rooms: usize,
    /// Frames per scan.
    #[arg(long, default_value_t = 150)]
    pub frames: usize,
}

struct Canvas {
    img: RgbImage,
    lo: [f32; 2],
    scale: f32,
}

impl Canvas {
    fn new(points: &[Point3<f32>]) -> Canvas {
        let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
        for p in points {
            lo = [lo[0].min(p.x), lo[1].min(p.y)];
            hi = [hi[0].max(p.x), hi[1].max(p.y)];
        }
        if points.is_empty() {
            (lo, hi) = ([0.0; 2], [1.0; 2]);
        }
        let size = 800.0;
        let scale = (size - 40.0) / (hi[0] - lo[0]).max(hi[1] - lo[1]).max(0.1);
        Canvas {
            img: RgbImage::from_pixel(size as u32, size as u32, Rgb([255, 255, 255])),
            lo,
            scale,
        }
    }
    fn px(&self, p: &Point3<f32>) -> (i64, i64) {
        let h = self.img.height() as f32;
        (
            ((p.x - self.lo[0]) * self.scale + 20.0) as i64,
            (h - ((p.y - self.lo[1]) * self.scale + 20.0)) as i64,
        )
    }
    fn dot(&mut self, p: &Point3<f32>, r: i64, c: [u8; 3]) {
        let (x, y) = self.px(p);
        for dy in -r..=r {
            for dx in -r..=r {
                let (u, v) = (x + dx, y + dy);
                if u >= 0
                    && v >= 0
                    && (u as u32) < self.img.width()
                    && (v as u32) < self.img.height()
                {
                    self.img.put_pixel(u as u32, v as u32, Rgb(c));
                }
            }
        }
    }
    fn ring(&mut self, p: &Point3<f32>, r: f32, c: [u8; 3]) {
        for i in 0..64 {
            let a = i as f32 / 64.0 * std::f32::consts::TAU;
            self.dot(
                &Point3::new(p.x + r * a.cos(), p.y + r * a.sin(), p.z),
                1,
                c,
            );
        }
    }
}

/// Runs `crossloc demo`.
pub fn run(args: &DemoArgs) -> Result<()> {
    if args.out.exists() {
        std::fs::remove_dir_all(&args.out)
            .with_context(|| format!("cannot clear {}", args.out.display()))?;
    }
    let data = args.out.join("dataset");
    let cfg = SynthConfig {
        seed: args.seed,
        rooms: args.rooms,
        rescans: 1,
        frames: args.frames,
        // The mapping pass goes once around each room.
        reference_frames: Some(args.frames * 3),
        changes: Some(3),
        ..SynthConfig::default()
    };
    println!(
        "1/4 generating {} synthetic rooms with one rescan each ({} frames per rescan, 3x that for the mapping pass)",
        args.rooms, args.frames
    );
    let pb = progress::bar((args.rooms * 4 * args.frames) as u64, "rendering");
    synth::generate_dataset(&cfg, &data, &mut |_| pb.inc(1))?;
    pb.finish_and_clear();

    println!("2/4 building the scene database from the reference scans");
    let db = build_db::build(&build_db::BuildDbArgs {
        input: data.clone(),
        frames: None,
        stride: 1,
        scan: None,
        out: args.out.join("demo.xdb"),
    })?;
    write_database(&args.out.join("demo.xdb"), &db)?;
    for s in &db.scenes {
        println!("   {:<10} {:>3} instances", s.name, s.instances.len());
    }
    let db = Arc::new(db);

    let ds = synth::load_dataset(&data)?;
    let query = ds.scan_dir(0, 1);
    let truth = synth::load_scan_truth(&query)?;
    println!(
        "3/4 streaming {} ({} changes applied) as a headset with an unknown session frame",
        query.display(),
        truth.changes.len()
    );
    let T_session_map = random_session_transform(args.seed, 10.0);
    let source = open_sequence(&query, FrameSelection::ALL)?;
    let pb = progress::bar(source.frame_count() as u64, "localising");
    let r = replay(
        EngineConfig::default(),
        db.clone(),
        source,
        T_session_map,
        &mut |_| pb.inc(1),
    )?;
    pb.finish_and_clear();

    let surface = ply::read_ply(&ds.scan_dir(0, 0).join("surface.ply"))?;
    let cov = crossloc::eval::SurfaceCoverage::new(&surface.points);
    let mut frames = Vec::new();
    for f in open_sequence(&query, FrameSelection::ALL)? {
        let f = f?;
        let est = r.frames.iter().find(|x| x.index == f.index);
        frames.push(RelocFrame {
            index: f.index,
            localisable: f
                .T_session_camera
                .is_some_and(|T| cov.is_localisable(&f, &T)),
            localised: est.is_some_and(|e| e.T_map_session.is_some()),
            estimate: est.and_then(|e| e.T_map_session),
            T_map_camera: est.and_then(|e| e.T_map_camera),
        });
    }
    let s = summarise_reloc(&frames, &T_session_map.inverse());
    let lat = r.stage_latency();
    println!("4/4 results");
    println!("   frames                    {:>8}", s.frames);
    println!("   localisable frames        {:>8}", s.localisable_frames);
    println!(
        "   first fix at frame        {:>8}",
        s.first_fix_frame
            .map(|f| f.to_string())
            .unwrap_or("none".into())
    );
    println!(
        "   success 5 cm / 5°         {:>8.3}",
        s.success_rate_5cm5deg
    );
    println!(
        "   success after first fix   {:>8.3}",
        s.success_rate_after_first_fix
    );
    println!("   false fixes               {:>8}", s.false_fix_frames);
    println!(
        "   median error              {:>8} m {:>6} °",
        s.median_translation_error_m
            .map(|v| format!("{v:.3}"))
            .unwrap_or("-".into()),
        s.median_rotation_error_deg
            .map(|v| format!("{v:.2}"))
            .unwrap_or("-".into())
    );
    println!(
        "   end-to-end                {:>8.1} frames/s (total stage time p50 {:.1} ms, p99 {:.1} ms)",
        r.fps(),
        lat.total.p50,
        lat.total.p99
    );
    println!(
        "   changes (truth)           {}",
        truth
            .changes
            .iter()
            .map(|c| format!("{:?} #{}", c.kind, c.instance))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut standing = std::collections::BTreeMap::new();
    for e in &r.events {
        match e {
            EngineEvent::Localised {
                frame,
                scene,
                confidence,
                ..
            } => println!(
                "   event: frame {frame:>4} localised in {scene} (confidence {confidence:.2})"
            ),
            EngineEvent::Lost { frame } => println!("   event: frame {frame:>4} lost"),
            EngineEvent::Change(c) => {
                println!(
                    "   event: frame {:>4} {}{:?} db {:?} live {:?} at ({:.2}, {:.2}, {:.2}) {:.2} m {:.1}°",
                    c.frame,
                    if c.retracted { "retract " } else { "" },
                    c.kind,
                    c.db_instance,
                    c.live_instance,
                    c.position[0],
                    c.position[1],
                    c.position[2],
                    c.translation_m,
                    c.rotation_deg
                );
                if c.retracted {
                    standing.remove(&c.id);
                } else {
                    standing.insert(c.id, c.clone());
                }
            }
        }
    }
    write_png(args, &db, &r, &query, T_session_map, &standing)?;
    std::fs::write(
        args.out.join("result.json"),
        serde_json::to_string_pretty(&crate::session::result_json(&r))?,
    )?;
    println!(
        "wrote {} (dataset, demo.xdb, result.json, topdown.png)",
        args.out.display()
    );
    Ok(())
}

fn write_png(
    args: &DemoArgs,
    db: &SceneDatabase,
    r: &crossloc::eval::Replay,
    query: &std::path::Path,
    T_session_map: Pose,
    changes: &std::collections::BTreeMap<u64, crossloc::change::ChangeEvent>,
) -> Result<()> {
    let Some(scene) = db.scenes.first() else {
        return Ok(());
    };
    let mut all: Vec<Point3<f32>> = scene.structure_points.clone();
    for i in &scene.instances {
        all.extend_from_slice(&i.points);
    }
    let mut c = Canvas::new(&all);
    for p in &scene.structure_points {
        c.dot(p, 0, [200, 200, 200]);
    }
    for i in &scene.instances {
        for p in i.points.iter().step_by(3) {
            c.dot(p, 0, [120, 120, 160]);
        }
    }
    // Live instances, fused in the session frame, drawn with the final fix.
    if let Some(fix) = r.frames.iter().rev().find_map(|f| f.T_map_session) {
        let cfg = EngineConfig::default();
        let mut live = LiveMap::new(cfg.fuse.clone())?;
        for f in open_sequence(query, FrameSelection::ALL.with_stride(2))? {
            let f = f?;
            let (Some(T), Ok(seg)) = (f.T_session_camera, segment_frame(&f, &cfg.segment)) else {
                continue;
            };
            live.integrate(f.index, &(T_session_map * T), &seg.segments);
        }
        for inst in live.stable() {
            for p in inst.points().iter().step_by(4) {
                c.dot(&(fix * p), 0, [230, 150, 40]);
            }
        }
    }
    for f in &r.frames {
        if let Some(T) = f.T_map_camera {
            c.dot(&Point3::from(T.translation.vector), 1, [40, 160, 40]);
            if let Some(fix) = f.T_map_session {
                let est = fix * T_session_map * T;
                c.dot(&Point3::from(est.translation.vector), 0, [220, 30, 30]);
            }
        }
    }
    for e in changes.values() {
        let p = Point3::new(e.position[0], e.position[1], e.position[2]);
        let col = match e.kind {
            crossloc::change::ChangeKind::Moved => [30, 60, 230],
            crossloc::change::ChangeKind::Added => [20, 170, 20],
            crossloc::change::ChangeKind::Removed => [220, 20, 20],
        };
        c.ring(&p, 0.25, col);
    }
    let path = args.out.join("topdown.png");
    c.img
        .save(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
