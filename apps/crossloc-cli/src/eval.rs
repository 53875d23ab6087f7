//! `crossloc eval reloc | changes | retrieval`: run the engine and score it against
//! the ground truth.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use crossloc::change::ChangeKind;
use crossloc::db::SceneDatabase;
use crossloc::eval::{
    ChangeScore, DepthCoverage, ObservableConfig, PrecisionRecall, RelocFrame, RelocSummary,
    Replay, ViewCounter, ViewTest, changed_share, instance_samples, success_after_first_fix,
    summarise_reloc,
};
use crossloc::frame::Pose;
use crossloc::io::FrameSelection;
use crossloc::io::detect::{DatasetFormat, detect_format, open_sequence};
use crossloc::io::image_io::read_depth_u16;
use crossloc::io::ply::read_ply;
use crossloc::pipeline::EngineEvent;
use crossloc::synth::{self, ScanTruth, SynthDataset};
use nalgebra::Point3;
use serde_json::{Value, json};

use crate::session::{LocaliseArgs, Playback, load_db, run_sequence, write_outputs};

/// `crossloc eval` subcommands.
#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Relocalisation accuracy (a sequence, or every rescan of a synthetic dataset).
    Reloc(EvalRelocArgs),
    /// Change-detection precision / recall / F1 on a synthetic dataset.
    Changes(EvalDatasetArgs),
    /// Scene retrieval recall@1 / @5 on a synthetic dataset.
    Retrieval(EvalDatasetArgs),
}

/// Arguments of `eval reloc`.
#[derive(Debug, Args)]
pub struct EvalRelocArgs {
    /// As for `localise`.
    #[command(flatten)]
    pub run: LocaliseArgs,
    /// Output JSON with the scores.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// For a scan query: the database scene built from a scan of the same room, the
    /// truth is the alignment of their structure; `none` when the room is not in the
    /// database (default for ScanNet queries: the scan scene of the same ScanNet
    /// room, `sceneXXXX_*`, if any; a PLY query must name it).
    #[arg(long)]
    pub reference_scan: Option<String>,
}

/// Arguments of `eval changes` and `eval retrieval`.
#[derive(Debug, Args)]
pub struct EvalDatasetArgs {
    /// Scene database file.
    #[arg(long)]
    pub db: PathBuf,
    /// Synthetic dataset folder.
    #[arg(long)]
    pub input: PathBuf,
    /// Seed of the hidden session transforms.
    #[arg(long, default_value_t = 1)]
    pub session_seed: u64,
    /// Output JSON with the scores.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Runs `crossloc eval`.
pub fn run(cmd: &EvalCommand) -> Result<()> {
    match cmd {
        EvalCommand::Reloc(a) => eval_reloc(a),
        EvalCommand::Changes(a) => eval_changes(a),
        EvalCommand::Retrieval(a) => eval_retrieval(a),
    }
}

fn write_json(path: &Option<PathBuf>, v: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(v)?;
    println!("{text}");
    if let Some(p) = path {
        std::fs::write(p, &text).with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(())
}

/// Scores a replay against the truth, with a per-frame localisability test.
fn score(r: &Replay, localisable: &dyn Fn(&crossloc::eval::ReplayFrame) -> bool) -> RelocSummary {
    let frames: Vec<RelocFrame> = r
        .frames
        .iter()
        .map(|f| RelocFrame {
            index: f.index,
            localisable: localisable(f),
            localised: f.T_map_session.is_some(),
            estimate: f.T_map_session,
            T_map_camera: f.T_map_camera,
        })
        .collect();
    summarise_reloc(&frames, &r.T_session_map.inverse())
}

fn summary_json(s: &RelocSummary, r: &[&Replay]) -> Value {
    let frames: usize = r.iter().map(|x| x.frames.len()).sum();
    let seconds: f64 = r.iter().map(|x| x.seconds).sum();
    let lat = crossloc::eval::stage_latency(r.iter().flat_map(|x| x.frames.iter()));
    let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.insert("fps".into(), json!(frames as f64 / seconds.max(1e-9)));
        let cpu: f64 = r.iter().map(|x| x.cpu_seconds).sum();
        if cpu.is_finite() {
            o.insert(
                "cpu_ms_per_frame".into(),
                json!(cpu * 1e3 / frames.max(1) as f64),
            );
        }
        o.insert(
            "stage_latency_ms".into(),
            serde_json::to_value(lat).unwrap_or(Value::Null),
        );
        o.insert(
            "frames_in".into(),
            json!(r.iter().map(|x| x.stats.pushed).sum::<u64>()),
        );
        o.insert(
            "frames_out".into(),
            json!(r.iter().map(|x| x.stats.processed).sum::<u64>()),
        );
        o.insert(
            "rounds".into(),
            json!(r.iter().map(|x| x.stats.rounds).sum::<u64>()),
        );
        o.insert(
            "rounds_skipped".into(),
            json!(r.iter().map(|x| x.stats.rounds_skipped).sum::<u64>()),
        );
    }
    v
}

/// Depth coverage of the frames a sequence scene was built from (every 5th frame).
fn coverage_of_sequence_scenes(db: &SceneDatabase) -> Result<DepthCoverage> {
    let mut cov = DepthCoverage::new(4);
    for s in &db.scenes {
        let Some(path) = s.metadata.get("source_path") else {
            continue;
        };
        let num = |k: &str| s.metadata.get(k).and_then(|v| v.parse::<u64>().ok());
        let stride = num("selection_stride").unwrap_or(1) as usize;
        let sel = FrameSelection {
            start: num("selection_start"),
            end: num("selection_end"),
            stride: stride * 5,
        };
        for f in open_sequence(Path::new(path), sel)? {
            let f = f?;
            if let Some(T) = f.T_session_camera {
                cov.add_frame(&f, &T);
            }
        }
    }
    Ok(cov)
}

fn eval_reloc(a: &EvalRelocArgs) -> Result<()> {
    if let Some(source) = crate::scan_query::query_source(&a.run)? {
        let v = crate::scan_query::run_eval(&a.run, &source, a.reference_scan.as_deref())?;
        return write_json(&a.json, &v);
    }
    let db = load_db(&a.run.db)?;
    if detect_format(&a.run.input)? == DatasetFormat::SyntheticDataset {
        return eval_reloc_synthetic(a, db);
    }
    let selection = a.run.frames.unwrap_or_default();
    let r = run_sequence(
        db.clone(),
        &a.run.input,
        selection,
        a.run.session_seed,
        a.run.playback(),
    )?;
    write_outputs(&a.run, &r)?;
    let cov = coverage_of_sequence_scenes(&db)?;
    // Localisability needs the frames' depth: read them again (deterministic).
    let mut localisable = BTreeMap::new();
    for f in open_sequence(&a.run.input, selection)? {
        let f = f?;
        if let Some(T) = f.T_session_camera {
            localisable.insert(f.index, !cov.is_empty() && cov.is_localisable(&f, &T));
        }
    }
    let s = score(&r, &|f| localisable.get(&f.index).copied().unwrap_or(false));
    write_json(&a.json, &summary_json(&s, &[&r]))
}

fn rescans(ds: &SynthDataset) -> Vec<(usize, usize, String)> {
    let mut v = Vec::new();
    for (room, name) in ds.rooms.iter().enumerate() {
        for scan in 1..=ds.rescans {
            v.push((room, scan, name.clone()));
        }
    }
    v
}

/// Depth coverage of the reference scan a synthetic room's scene was built from
/// (every 5th frame): a rescan frame is localisable when it views what the mapping
/// pass saw, not merely the room's complete ground-truth surface.
fn coverage_of_reference_scan(ds: &SynthDataset, room: usize) -> Result<DepthCoverage> {
    let mut cov = DepthCoverage::new(4);
    let sel = FrameSelection {
        start: None,
        end: None,
        stride: 5,
    };
    for f in open_sequence(&ds.scan_dir(room, 0), sel)? {
        let f = f?;
        if let Some(T) = f.T_session_camera {
            cov.add_frame(&f, &T);
        }
    }
    Ok(cov)
}

fn eval_reloc_synthetic(a: &EvalRelocArgs, db: Arc<SceneDatabase>) -> Result<()> {
    let ds = synth::load_dataset(&a.run.input)?;
    let mut all_frames = Vec::new();
    let mut replays = Vec::new();
    let mut per_seq = Vec::new();
    let mut summaries = Vec::new();
    for (i, (room, scan, name)) in rescans(&ds).into_iter().enumerate() {
        let dir = ds.scan_dir(room, scan);
        let seed = a.run.session_seed.wrapping_add(i as u64 * 7919);
        let r = run_sequence(
            db.clone(),
            &dir,
            a.run.frames.unwrap_or_default(),
            seed,
            a.run.playback(),
        )?;
        let cov = coverage_of_reference_scan(&ds, room)?;
        let mut loc = BTreeMap::new();
        for f in open_sequence(&dir, a.run.frames.unwrap_or_default())? {
            let f = f?;
            if let Some(T) = f.T_session_camera {
                loc.insert(f.index, cov.is_localisable(&f, &T));
            }
        }
        let s = score(&r, &|f| loc.get(&f.index).copied().unwrap_or(false));
        let wrong_scene = r
            .events
            .iter()
            .any(|e| matches!(e, EngineEvent::Localised { scene, .. } if scene != &name));
        eprintln!(
            "{name}/scan_{scan:02}: first fix {:?} ({:?} frames after the first localisable), {}/{} localisable, success {:.3} (after fix {:.3}), false fixes {}, wrong scene {}",
            s.first_fix_frame,
            s.frames_to_first_fix,
            s.localisable_frames,
            s.frames,
            s.success_rate_5cm5deg,
            s.success_rate_after_first_fix,
            s.false_fix_frames,
            wrong_scene
        );
        per_seq.push(json!({"sequence": format!("{name}/scan_{scan:02}"), "summary": s, "wrong_scene": wrong_scene}));
        summaries.push(s);
        let T_true = r.T_session_map.inverse();
        for f in &r.frames {
            all_frames.push((
                T_true,
                RelocFrame {
                    index: f.index,
                    localisable: loc.get(&f.index).copied().unwrap_or(false),
                    localised: f.T_map_session.is_some(),
                    estimate: f.T_map_session,
                    T_map_camera: f.T_map_camera,
                },
            ));
        }
        replays.push(r);
    }
    // Aggregate: re-express every estimate relative to its own truth.
    let frames: Vec<RelocFrame> = all_frames
        .iter()
        .map(|(T, f)| RelocFrame {
            estimate: f.estimate.map(|e| e * T.inverse()),
            ..f.clone()
        })
        .collect();
    let mut agg = summarise_reloc(&frames, &Pose::identity());
    // The slowest sequence decides (None when any sequence never got a fix).
    let slowest = |key: &str| -> Option<u64> {
        per_seq
            .iter()
            .map(|p| p["summary"][key].as_u64())
            .collect::<Option<Vec<u64>>>()
            .and_then(|v| v.into_iter().max())
    };
    // After the first fix: each sequence from its own first fix on (a sequence
    // never fixed has no frame after its fix; it shows in the count below).
    let (rate, after) = success_after_first_fix(&summaries);
    agg.success_rate_after_first_fix = rate;
    agg.frames_after_first_fix = after;
    let never_fixed = per_seq
        .iter()
        .filter(|p| p["summary"]["first_fix_frame"].is_null())
        .count();
    agg.first_fix_frame = slowest("first_fix_frame");
    agg.frames_to_first_fix = slowest("frames_to_first_fix");
    agg.first_localisable_frame = None;
    let refs: Vec<&Replay> = replays.iter().collect();
    let mut v = summary_json(&agg, &refs);
    if let Some(o) = v.as_object_mut() {
        o.insert("sequences".into(), json!(per_seq));
        o.insert("sequences_never_fixed".into(), json!(never_fixed));
    }
    eprintln!(
        "{} of {} sequences localised; success after the first fix {:.3} over their {} localisable frames from the fix on",
        per_seq.len() - never_fixed,
        per_seq.len(),
        agg.success_rate_after_first_fix,
        after
    );
    write_json(&a.json, &v)
}

/// Ground-truth id of the object whose posed box (grown by `margin`) contains `p`.
fn truth_id_at(truth: &ScanTruth, p: &Point3<f32>, margin: f32) -> Option<u32> {
    truth
        .instances
        .iter()
        .filter(|i| {
            let l = i.T_map_object.inverse() * p;
            (0..3).all(|k| l[k] >= i.bbox_min[k] - margin && l[k] <= i.bbox_max[k] + margin)
        })
        .map(|i| {
            let c = i.T_map_object
                * Point3::new(
                    (i.bbox_min[0] + i.bbox_max[0]) / 2.0,
                    (i.bbox_min[1] + i.bbox_max[1]) / 2.0,
                    (i.bbox_min[2] + i.bbox_max[2]) / 2.0,
                );
            ((c - p).norm(), i.id)
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|x| x.1)
}

/// Majority ground-truth id of a database instance's points.
fn truth_id_of_points(truth: &ScanTruth, pts: &[Point3<f32>]) -> Option<u32> {
    let mut votes: BTreeMap<u32, usize> = BTreeMap::new();
    for p in pts.iter().step_by((pts.len() / 100).max(1)) {
        if let Some(id) = truth_id_at(truth, p, 0.03) {
            *votes.entry(id).or_default() += 1;
        }
    }
    let total: usize = votes.values().sum();
    votes
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .filter(|(_, n)| *n * 2 > total.max(1))
        .map(|(id, _)| id)
}

/// Per rescan, which of its true changes it can observe (the ground-truth rule of
/// [`crossloc::eval::observable`]: seen, or its old place in view, in at least
/// `min_frames` frames with at least `min_share` of the object's surface samples
/// passing the depth test; moved and removed objects must also be seen by the
/// reference scan, else the database cannot hold them; a move must change the
/// object's surface, else no depth sensor can see it).
struct Observability {
    rows: Vec<ChangeRow>,
}

/// Observability of one true change.
struct ChangeRow {
    kind: synth::ChangeKind,
    instance: u32,
    /// Frames of the rescan that show it (the object at its new place for moved /
    /// added, its old place for removed).
    rescan_frames: u32,
    /// Frames of the reference scan that see the object (moved / removed).
    reference_frames: Option<u32>,
    /// Share of the moved object's surface that the move changed (moved only).
    changed_share: Option<f32>,
    observable: bool,
}

impl Observability {
    fn ids(&self, kind: synth::ChangeKind, observable_only: bool) -> Vec<u32> {
        self.rows
            .iter()
            .filter(|r| r.kind == kind && (r.observable || !observable_only))
            .map(|r| r.instance)
            .collect()
    }

    /// The instances whose true change (of any kind) the rescan cannot show.
    fn unobservable(&self) -> Vec<u32> {
        self.rows
            .iter()
            .filter(|r| !r.observable)
            .map(|r| r.instance)
            .collect()
    }
}

/// The reports that count in the observable score: a report naming an instance
/// whose true change the rescan cannot show (`unobservable`) is neither right
/// nor wrong, and is left out. This holds across kinds: an object moved to a
/// place the rescan never shows is seen only gone from its old place, and a
/// Removed report of it is no error (nor a found move).
fn counted_reports(reported: &[Option<u32>], unobservable: &[u32]) -> Vec<Option<u32>> {
    reported
        .iter()
        .copied()
        .filter(|id| !id.is_some_and(|id| unobservable.contains(&id)))
        .collect()
}

/// Streams a scan's depth frames at their true poses through view counters.
fn count_views(dir: &Path, truth: &ScanTruth, counters: &mut [&mut ViewCounter]) -> Result<()> {
    for f in &truth.frames {
        let path = dir.join(format!("frame-{:06}.depth.png", f.index));
        let depth = read_depth_u16(&path, 1000.0)?;
        for c in counters.iter_mut() {
            c.add_frame(&f.T_map_camera, &truth.intrinsics, &depth);
        }
    }
    Ok(())
}

fn observability(
    ref_dir: &Path,
    reference: &ScanTruth,
    dir: &Path,
    truth: &ScanTruth,
    cfg: ObservableConfig,
) -> Result<Observability> {
    use synth::ChangeKind as K;
    let ref_cloud = read_ply(&ref_dir.join(&reference.surface))?;
    let ref_samples = instance_samples(&ref_cloud, cfg.max_samples);
    // Every sample of the moved objects' old surfaces, for the shape test.
    let ref_full = instance_samples(&ref_cloud, usize::MAX);
    drop(ref_cloud);
    let new_samples = instance_samples(&read_ply(&dir.join(&truth.surface))?, cfg.max_samples);
    let pick = |from: &BTreeMap<u32, Vec<Point3<f32>>>, kinds: &[K]| {
        truth
            .changes
            .iter()
            .filter(|c| kinds.contains(&c.kind))
            .filter_map(|c| from.get(&c.instance).map(|p| (c.instance, p.clone())))
            .collect::<BTreeMap<u32, Vec<Point3<f32>>>>()
    };
    let mut mapped = ViewCounter::new(
        pick(&ref_samples, &[K::Moved, K::Removed]),
        ViewTest::Surface,
        cfg,
    );
    let mut seen = ViewCounter::new(
        pick(&new_samples, &[K::Moved, K::Added]),
        ViewTest::Surface,
        cfg,
    );
    let mut place = ViewCounter::new(pick(&ref_samples, &[K::Removed]), ViewTest::Place, cfg);
    count_views(ref_dir, reference, &mut [&mut mapped])?;
    count_views(dir, truth, &mut [&mut seen, &mut place])?;
    let rows = truth
        .changes
        .iter()
        .map(|c| {
            let id = c.instance;
            let row = |rescan_frames, reference_frames, changed_share, observable| ChangeRow {
                kind: c.kind,
                instance: id,
                rescan_frames,
                reference_frames,
                changed_share,
                observable,
            };
            match c.kind {
                K::Moved => {
                    let before = ref_full.get(&id).map_or(&[][..], |v| v);
                    let after = new_samples.get(&id).map_or(&[][..], |v| v);
                    let share = changed_share(before, after, cfg.changed_distance_m);
                    row(
                        seen.frames(id),
                        Some(mapped.frames(id)),
                        Some(share),
                        seen.observed(id) && mapped.observed(id) && share >= cfg.min_changed_share,
                    )
                }
                K::Removed => row(
                    place.frames(id),
                    Some(mapped.frames(id)),
                    None,
                    place.observed(id) && mapped.observed(id),
                ),
                K::Added => row(seen.frames(id), None, None, seen.observed(id)),
            }
        })
        .collect();
    Ok(Observability { rows })
}

fn eval_changes(a: &EvalDatasetArgs) -> Result<()> {
    let db = load_db(&a.db)?;
    let ds = synth::load_dataset(&a.input)?;
    let obs_cfg = ObservableConfig::default();
    let mut parts: BTreeMap<(bool, ChangeKind), Vec<PrecisionRecall>> = BTreeMap::new();
    let mut per_rescan = Vec::new();
    for (i, (room, scan, name)) in rescans(&ds).into_iter().enumerate() {
        let ref_dir = ds.scan_dir(room, 0);
        let dir = ds.scan_dir(room, scan);
        let reference = synth::load_scan_truth(&ref_dir)?;
        let truth = synth::load_scan_truth(&dir)?;
        let Some(scene) = db.scene(&name) else {
            bail!("the database has no scene {name}")
        };
        let obs = observability(&ref_dir, &reference, &dir, &truth, obs_cfg)?;
        let r = run_sequence(
            db.clone(),
            &dir,
            FrameSelection::ALL,
            a.session_seed.wrapping_add(i as u64 * 7919),
            Playback::default(),
        )?;
        // Standing events at the end (retractions applied).
        let mut active: BTreeMap<u64, crossloc::change::ChangeEvent> = BTreeMap::new();
        for e in &r.events {
            if let EngineEvent::Change(c) = e {
                if c.retracted {
                    active.remove(&c.id);
                } else {
                    active.insert(c.id, c.clone());
                }
            }
        }
        // Events name the instances of the scene as change detection sees it.
        let view = scene.change_view();
        let db_truth = |id: u32| -> Option<u32> {
            view.instances
                .iter()
                .find(|x| x.id == id)
                .and_then(|x| truth_id_of_points(&reference, &x.points))
        };
        let added_truth = |c: &crossloc::change::ChangeEvent| {
            truth_id_at(
                &truth,
                &Point3::new(c.position[0], c.position[1], c.position[2]),
                0.1,
            )
        };
        let kinds = [
            (ChangeKind::Moved, synth::ChangeKind::Moved),
            (ChangeKind::Added, synth::ChangeKind::Added),
            (ChangeKind::Removed, synth::ChangeKind::Removed),
        ];
        let mut line = format!("{name}/scan_{scan:02}:");
        let mut row = serde_json::Map::new();
        let unobservable = obs.unobservable();
        for (kind, tkind) in kinds {
            let reported: Vec<Option<u32>> = active
                .values()
                .filter(|c| c.kind == kind)
                .map(|c| match kind {
                    ChangeKind::Added => added_truth(c),
                    _ => c.db_instance.and_then(db_truth),
                })
                .collect();
            let all = obs.ids(tkind, false);
            let observable = obs.ids(tkind, true);
            for observable_only in [false, true] {
                let exp = if observable_only { &observable } else { &all };
                let counted = if observable_only {
                    counted_reports(&reported, &unobservable)
                } else {
                    reported.clone()
                };
                let pr =
                    PrecisionRecall::from_counts(hit_all(&counted, exp), counted.len(), exp.len());
                if observable_only {
                    line.push_str(&format!(
                        " {kind:?} {}/{}/{} (all {}/{})",
                        pr.true_positives,
                        pr.reported,
                        pr.expected,
                        hit_all(&reported, &all),
                        all.len()
                    ));
                    row.insert(format!("{kind:?}").to_lowercase(), json!(pr));
                }
                parts.entry((observable_only, kind)).or_default().push(pr);
            }
        }
        eprintln!("{line} (tp/reported/expected observable; all changes: tp/expected)");
        let mut changes = Vec::new();
        for r in &obs.rows {
            let what = if r.kind == synth::ChangeKind::Removed {
                "old place in view"
            } else {
                "seen"
            };
            let mapped_txt = r
                .reference_frames
                .map(|m| format!(", seen by the reference in {m}"))
                .unwrap_or_default();
            let shape_txt = r
                .changed_share
                .map(|s| format!(", {:.0} % of its surface changed", 100.0 * s))
                .unwrap_or_default();
            eprintln!(
                "    {:?} {}: {what} in {} rescan frames{mapped_txt}{shape_txt} -> {}",
                r.kind,
                r.instance,
                r.rescan_frames,
                if r.observable {
                    "observable"
                } else {
                    "not observable"
                }
            );
            changes.push(json!({"kind": r.kind, "instance": r.instance, "rescan_frames": r.rescan_frames, "reference_frames": r.reference_frames, "changed_share": r.changed_share, "observable": r.observable}));
        }
        let reported: Vec<Value> = active
            .values()
            .map(|c| {
                let truth_id = match c.kind {
                    ChangeKind::Added => added_truth(c),
                    _ => c.db_instance.and_then(db_truth),
                };
                json!({"kind": c.kind, "db_instance": c.db_instance, "truth_instance": truth_id, "position": c.position, "translation_m": c.translation_m, "rotation_deg": c.rotation_deg, "frame": c.frame})
            })
            .collect();
        row.insert("reported".into(), json!(reported));
        row.insert("sequence".into(), json!(format!("{name}/scan_{scan:02}")));
        row.insert("changes".into(), json!(changes));
        per_rescan.push(Value::Object(row));
    }
    let score = |observable_only: bool| -> Result<Value> {
        let get =
            |k| PrecisionRecall::combine(parts.get(&(observable_only, k)).map_or(&[][..], |v| v));
        Ok(serde_json::to_value(ChangeScore {
            moved: get(ChangeKind::Moved),
            added: get(ChangeKind::Added),
            removed: get(ChangeKind::Removed),
        })?)
    };
    let mut v = score(true)?;
    if let Some(o) = v.as_object_mut() {
        o.insert("all_changes".into(), score(false)?);
        o.insert(
            "observability".into(),
            json!({"min_frames": obs_cfg.min_frames, "min_share": obs_cfg.min_share, "max_samples": obs_cfg.max_samples, "changed_distance_m": obs_cfg.changed_distance_m, "min_changed_share": obs_cfg.min_changed_share}),
        );
        o.insert("per_rescan".into(), json!(per_rescan));
    }
    write_json(&a.json, &v)
}

/// Distinct expected ids among the reported ones.
fn hit_all(reported: &[Option<u32>], exp: &[u32]) -> usize {
    let mut hit: Vec<u32> = reported
        .iter()
        .flatten()
        .copied()
        .filter(|id| exp.contains(id))
        .collect();
    hit.sort_unstable();
    hit.dedup();
    hit.len()
}

fn eval_retrieval(a: &EvalDatasetArgs) -> Result<()> {
    let db = load_db(&a.db)?;
    let ds = synth::load_dataset(&a.input)?;
    let (mut at1, mut at5, mut n) = (0usize, 0usize, 0usize);
    let mut rows = Vec::new();
    for (room, scan, name) in rescans(&ds) {
        let frames = open_sequence(&ds.scan_dir(room, scan), FrameSelection::ALL)?;
        let ranked =
            crossloc::eval::retrieval::rank_scenes_for_sequence(&Default::default(), &db, frames)?;
        let pos = ranked.iter().position(|(s, _)| s == &name);
        at1 += usize::from(pos == Some(0));
        at5 += usize::from(pos.is_some_and(|p| p < 5));
        n += 1;
        rows.push(json!({"query": format!("{name}/scan_{scan:02}"), "rank": pos.map(|p| p + 1), "top": ranked.iter().take(5).collect::<Vec<_>>()}));
    }
    let v = json!({
        "queries": n,
        "recall_at_1": at1 as f64 / n.max(1) as f64,
        "recall_at_5": at5 as f64 / n.max(1) as f64,
        "per_query": rows,
    });
    write_json(&a.json, &v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_of_changes_the_rescan_cannot_show_are_left_out() {
        // Instance 2 moved where the rescan never looks: a Removed report of it
        // is left out, as is any report of the unobservable instance 5; a report
        // of static instance 7, and one matching no instance, still count.
        let reported = [Some(2), Some(7), None, Some(5), Some(9)];
        assert_eq!(
            counted_reports(&reported, &[2, 5]),
            vec![Some(7), None, Some(9)]
        );
        assert_eq!(counted_reports(&reported, &[]), reported.to_vec());
        let obs = Observability {
            rows: vec![
                ChangeRow {
                    kind: synth::ChangeKind::Moved,
                    instance: 2,
                    rescan_frames: 0,
                    reference_frames: Some(90),
                    changed_share: Some(1.0),
                    observable: false,
                },
                ChangeRow {
                    kind: synth::ChangeKind::Removed,
                    instance: 4,
                    rescan_frames: 40,
                    reference_frames: Some(150),
                    changed_share: None,
                    observable: true,
                },
            ],
        };
        assert_eq!(obs.unobservable(), vec![2]);
        assert_eq!(obs.ids(synth::ChangeKind::Removed, true), vec![4]);
        // The Removed report of moved instance 2 is neither right nor wrong;
        // the one of removed instance 4 is right.
        let counted = counted_reports(&[Some(2), Some(4)], &obs.unobservable());
        let exp = obs.ids(synth::ChangeKind::Removed, true);
        assert_eq!((hit_all(&counted, &exp), counted.len()), (1, 1));
    }
}
