//! `localise` and `eval reloc` with an annotated scan as the query: a ScanNet folder
//! with `--scan NAME` (or a `*_vert_all.npy` / `*_vert.npy` file), or a PLY with
//! instance labels. The scan is moved by the hidden session transform drawn from
//! `--session-seed` and localised as one observation; the result has one "frame".

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use crossloc::db::SceneDatabase;
use crossloc::eval::scan_eval::{
    ScanQueryTruth, ScanRun, ScanScore, run_scan_query, score_scan_run,
};
use crossloc::eval::scan_reference::{ScanReferenceConfig, align_scan_structure};
use crossloc::eval::{Latency, StageLatency};
use crossloc::io::detect::{DatasetFormat, detect_format};
use crossloc::io::scan::{Scan, list_scannet_scans, load_ply_scan, load_scannet};
use crossloc::pipeline::scan_query::ScanQueryConfig;
use serde_json::{Value, json};

use crate::session::{LocaliseArgs, load_db, matrix};

/// Where a query scan comes from.
#[derive(Debug, Clone)]
pub struct ScanSource {
    /// A ScanNet folder or a PLY file.
    pub path: PathBuf,
    /// The scan's name (ScanNet) or the PLY's stem.
    pub name: String,
    /// True for a PLY file.
    pub ply: bool,
}

impl ScanSource {
    /// Loads the scan.
    pub fn load(&self) -> Result<Scan> {
        let scan = if self.ply {
            load_ply_scan(&self.path)?
        } else {
            load_scannet(&self.path, &self.name)?
        };
        Ok(scan)
    }
}

const VERT_SUFFIXES: [&str; 2] = ["_vert_all.npy", "_vert.npy"];

/// The query scan a command line names, or `None` when the input is a sequence.
pub fn query_source(args: &LocaliseArgs) -> Result<Option<ScanSource>> {
    let format = detect_format(&args.input)?;
    let source = match format {
        DatasetFormat::Ply => {
            let path = if args.input.is_dir() {
                ply_in(&args.input)?
            } else {
                args.input.clone()
            };
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            ScanSource {
                path,
                name,
                ply: true,
            }
        }
        DatasetFormat::ScanNetNpy => {
            let (dir, from_file) = if args.input.is_file() {
                let file = args
                    .input
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let name = VERT_SUFFIXES.iter().find_map(|s| file.strip_suffix(s));
                let dir = args
                    .input
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_default();
                (dir, name.map(str::to_string))
            } else {
                (args.input.clone(), None)
            };
            let name = match (&args.scan, from_file) {
                (Some(n), _) => n.clone(),
                (None, Some(n)) => n,
                (None, None) => {
                    let names = list_scannet_scans(&dir)?;
                    match names.as_slice() {
                        [one] => one.clone(),
                        _ => bail!(
                            "{} holds the scans {}: name the query with --scan",
                            dir.display(),
                            names.join(", ")
                        ),
                    }
                }
            };
            ScanSource {
                path: dir,
                name,
                ply: false,
            }
        }
        _ => {
            if let Some(n) = &args.scan {
                bail!(
                    "--scan {n}: {} is a {} input, not a ScanNet folder",
                    args.input.display(),
                    format.name()
                );
            }
            return Ok(None);
        }
    };
    Ok(Some(source))
}

fn ply_in(dir: &Path) -> Result<PathBuf> {
    let mut plys: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("ply")))
        .collect();
    plys.sort();
    match plys.as_slice() {
        [one] => Ok(one.clone()),
        _ => bail!(
            "{}: expected one .ply file, found {}",
            dir.display(),
            plys.len()
        ),
    }
}

fn run_query(db: &SceneDatabase, scan: &Scan, seed: u64) -> Result<ScanRun> {
    let run = run_scan_query(db, scan, seed, &ScanQueryConfig::default())
        .with_context(|| format!("scan {} cannot be a query", scan.name))?;
    Ok(run)
}

/// RESULT.json of a scan query: one frame (index 0).
fn result_json(source: &ScanSource, run: &ScanRun) -> Value {
    let o = &run.outcome;
    let fix = o.fix.as_ref();
    let frame = json!({
        "index": 0, "timestamp": 0.0,
        "state": if fix.is_some() { "localised" } else { "lost" },
        "T_map_session": fix.map(|f| matrix(&f.T_map_session)),
        "confidence": fix.map_or(0.0, |f| f.confidence),
        "scene": fix.map(|f| f.scene_name.clone()),
    });
    let events: Vec<Value> = fix
        .map(|f| {
            json!({
                "frame": 0, "kind": "localised", "instance": null, "scene": f.scene_name,
                "T_map_session": matrix(&f.T_map_session), "confidence": f.confidence
            })
        })
        .into_iter()
        .collect();
    json!({
        "simulation": {"T_session_map": matrix(&run.T_session_scan)},
        "query": {"kind": "scan", "scan": source.name, "path": source.path.display().to_string()},
        "frames": [frame],
        "events": events,
        "stats": {
            "frames_in": 1, "frames_out": 1, "dropped": 0, "bad_frames": 0,
            "seconds": o.seconds, "fps": 1.0 / o.seconds.max(1e-9),
            "query_instances": o.query_instances, "candidates": o.candidates,
            "inliers": fix.map(|f| f.inliers), "fitness": fix.map(|f| f.fitness),
            "no_fix_reason": o.no_fix.as_ref().map(|r| r.to_string()),
        },
    })
}

fn write_result(args: &LocaliseArgs, source: &ScanSource, run: &ScanRun) -> Result<()> {
    if let Some(out) = &args.out {
        std::fs::write(
            out,
            serde_json::to_string_pretty(&result_json(source, run))?,
        )
        .with_context(|| format!("cannot write {}", out.display()))?;
    }
    if args.trajectory.is_some() {
        log::warn!("--trajectory: a scan query has no camera path; nothing written");
    }
    Ok(())
}

fn describe(run: &ScanRun) -> String {
    let o = &run.outcome;
    match (&o.fix, &o.no_fix) {
        (Some(f), _) => format!(
            "localised in {} ({} inliers, fitness {:.3}, confidence {:.3})",
            f.scene_name, f.inliers, f.fitness, f.confidence
        ),
        (None, Some(r)) => format!("no fix: {r}"),
        (None, None) => "no fix".into(),
    }
}

/// `crossloc localise` on a scan.
pub fn run_localise(args: &LocaliseArgs, source: &ScanSource) -> Result<()> {
    let db = load_db(&args.db)?;
    let scan = source.load()?;
    let run = run_query(&db, &scan, args.session_seed)?;
    write_result(args, source, &run)?;
    println!(
        "scan {} ({} query instances): {}, {:.2} s",
        scan.name,
        run.outcome.query_instances,
        describe(&run),
        run.outcome.seconds
    );
    Ok(())
}

/// ScanNet room of a scan name: `scene0000_01` → `scene0000`.
fn room_of(name: &str) -> &str {
    name.rsplit_once('_').map_or(name, |(room, _)| room)
}

/// The database scene that holds the query's room, and its scan: the scene named
/// by `reference` when given (`none`: the room is not in the database), else, for
/// a ScanNet query, the scan scene of the same ScanNet room (`sceneXXXX_*`; none
/// means the room is not in the database). A PLY query needs `reference`. The scan
/// is loaded from where the scene was built (`scan_path`), else from the query's
/// folder.
fn reference_scan(
    db: &SceneDatabase,
    source: &ScanSource,
    reference: Option<&str>,
) -> Result<Option<(String, Scan)>> {
    let scene = match reference {
        Some("none") => return Ok(None),
        Some(name) => match db.scene(name) {
            Some(s) => s,
            None => bail!("--reference-scan {name}: the database has no such scene"),
        },
        None if source.ply => bail!(
            "a PLY query needs --reference-scan: the database scene built from the same \
             room, or `none` when the room is not in the database"
        ),
        None => {
            let same_room: Vec<_> = db
                .scenes
                .iter()
                .filter(|s| s.metadata.get("kind").is_some_and(|k| k == "scan"))
                .filter(|s| room_of(&s.name) == room_of(&source.name))
                .collect();
            match same_room.as_slice() {
                [] => return Ok(None),
                [one] => *one,
                several => bail!(
                    "several scenes of room {} ({}): name the reference with --reference-scan",
                    room_of(&source.name),
                    several
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
    };
    let name = scene
        .metadata
        .get("scan")
        .cloned()
        .unwrap_or(scene.name.clone());
    let path = scene.metadata.get("scan_path").map(PathBuf::from);
    let scan = match path {
        Some(p) if p.is_file() => load_ply_scan(&p)?,
        Some(p) => load_scannet(&p, &name)?,
        None if source.ply => bail!(
            "scene {}: no recorded scan path to load the reference from",
            scene.name
        ),
        None => load_scannet(&source.path, &name)?,
    };
    Ok(Some((scene.name.clone(), scan)))
}

fn error_json(score: &ScanScore) -> (Value, Value) {
    (
        json!(score.error.map(|e| e.translation_m)),
        json!(score.error.map(|e| e.rotation_deg)),
    )
}

/// `crossloc eval reloc` on a scan.
pub fn run_eval(
    args: &LocaliseArgs,
    source: &ScanSource,
    reference: Option<&str>,
) -> Result<Value> {
    let db = load_db(&args.db)?;
    let scan = source.load()?;
    let truth = match reference_scan(&db, source, reference)? {
        Some((scene, ref_scan)) => {
            let alignment = align_scan_structure(&ref_scan, &scan, &ScanReferenceConfig::default())
                .with_context(|| {
                    format!(
                        "cannot align the structure of {} to {}",
                        scan.name, ref_scan.name
                    )
                })?;
            Some(ScanQueryTruth::new(&scene, &ref_scan, &scan, alignment))
        }
        None => None,
    };
    let run = run_query(&db, &scan, args.session_seed)?;
    write_result(args, source, &run)?;
    let score = score_scan_run(&run, truth.as_ref());
    let ms = run.outcome.seconds * 1e3;
    let latency = StageLatency {
        localise: Latency { p50: ms, p99: ms },
        total: Latency { p50: ms, p99: ms },
        ..StageLatency::default()
    };
    let (t_err, r_err) = error_json(&score);
    let mut v = serde_json::to_value(score.summary())?;
    if let Some(o) = v.as_object_mut() {
        o.insert("fps".into(), json!(1.0 / run.outcome.seconds.max(1e-9)));
        o.insert("stage_latency_ms".into(), serde_json::to_value(latency)?);
        o.insert("frames_in".into(), json!(1));
        o.insert("frames_out".into(), json!(1));
        let fix = run.outcome.fix.as_ref();
        o.insert(
            "scan".into(),
            json!({
                "query": scan.name,
                "session_seed": args.session_seed,
                "T_session_scan": matrix(&run.T_session_scan),
                "fixed": score.fixed,
                "scene": fix.map(|f| f.scene_name.clone()),
                "correct_scene": score.correct_scene,
                "translation_error_m": t_err,
                "rotation_error_deg": r_err,
                "false_fix": score.false_fix,
                "success_10cm5deg": score.error.is_some_and(|e| e.within(0.10, 5.0)),
                "inliers": fix.map(|f| f.inliers),
                "fitness": fix.map(|f| f.fitness),
                "confidence": fix.map(|f| f.confidence),
                "estimated_T_map_scan": fix.map(|f| matrix(&(f.T_map_session * run.T_session_scan))),
                "no_fix_reason": run.outcome.no_fix.as_ref().map(|r| r.to_string()),
                "query_instances": run.outcome.query_instances,
                "reference": truth.as_ref().map(|t| json!({
                    "scene": t.scene,
                    "T_map_scan": matrix(&t.reference.T_ref_query),
                    "structure_fitness": t.reference.fitness,
                    "structure_rmse_m": t.reference.rmse_m,
                    "runner_up_fitness": t.reference.runner_up_fitness,
                    "ambiguous": t.reference.is_ambiguous(),
                    "sweep_yaw_deg": t.reference.sweep_yaw_deg,
                    "converged": t.reference.converged,
                    "structure_points": [t.reference.structure_points.0, t.reference.structure_points.1],
                    "explained_share": t.explained_share,
                })),
            }),
        );
    }
    eprintln!(
        "scan {}: {}; error {}",
        scan.name,
        describe(&run),
        score.error.map_or("n/a".to_string(), |e| format!(
            "{:.3} m, {:.2}°",
            e.translation_m, e.rotation_deg
        ))
    );
    Ok(v)
}
