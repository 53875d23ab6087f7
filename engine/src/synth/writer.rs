//! Writes a synthetic dataset to disk in the 7-Scenes frame layout plus ground
//! truth (see the module doc of [`super`] for the layout).
//!
//! Guarantees: the same configuration gives byte-identical files, whatever the
//! thread timing: frames are rendered and encoded on several threads (and a
//! scan's surface samples made on another beside them), but each frame's content
//! depends only on `(seed, room, scan, frame)`, and frame files are written and
//! progress reported in frame order by the calling thread. Depth PNGs
//! hold millimetres (rounded; 0 = invalid; values beyond 65.534 m are 0).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use image::ImageEncoder;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};

use super::render::{RenderedFrame, Renderer};
use super::rescan::{Change, make_rescan};
use super::room::{Room, generate_room};
use super::surface::{SURFACE_DENSITY_PER_M2, sample_room_surface};
use super::trajectory::scan_trajectory;
use super::truth::{
    DATASET_FORMAT, FORMAT_VERSION, FrameTruth, InstanceTruth, SCAN_FORMAT, ScanEntry, ScanTruth,
    SynthDataset,
};
use super::{DatasetSummary, SynthConfig, SynthError, SynthProgress};
use crate::frame::{CameraIntrinsics, Pose};
use crate::io::IoError;
use crate::rng::Rng;

const NOISE_STREAM: u64 = 0x4E4F_4953_0000_0000;

/// The generator of the sensor noise of one frame.
pub fn frame_noise_rng(seed: u64, room: usize, scan: usize, frame: usize) -> Rng {
    Rng::derive(
        seed,
        NOISE_STREAM
            ^ ((room as u64 & 0xFFFF) << 36)
            ^ ((scan as u64 & 0xFF) << 28)
            ^ (frame as u64 & 0x0FFF_FFFF),
    )
}

/// The files of one frame, encoded.
struct Encoded {
    index: usize,
    color_jpg: Vec<u8>,
    depth_png: Vec<u8>,
    instances_png: Vec<u8>,
    visible: Vec<u32>,
}

fn encode_err(path: &Path, e: image::ImageError) -> SynthError {
    IoError::Image {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
    .into()
}

/// A 16-bit greyscale PNG of `values` (mapped by `f`).
fn png16<T: Copy>(
    values: &[T],
    f: impl Fn(T) -> u16,
    w: u32,
    h: u32,
    path: &Path,
) -> Result<Vec<u8>, SynthError> {
    let mut bytes = vec![0u8; values.len() * 2];
    for (b, &v) in bytes.chunks_exact_mut(2).zip(values) {
        b.copy_from_slice(&f(v).to_ne_bytes());
    }
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Sub)
        .write_image(&bytes, w, h, image::ExtendedColorType::L16)
        .map_err(|e| encode_err(path, e))?;
    Ok(out)
}

/// Depth in metres to millimetres (0 = invalid).
pub fn depth_to_mm(z: f32) -> u16 {
    // z * 1000 + 0.5 truncated is round-half-up; NaN and anything out of
    // range map to 0
    let mm = z * 1000.0 + 0.5;
    if (1.0..65535.0).contains(&mm) {
        mm as u16
    } else {
        0
    }
}

fn encode_frame(f: &RenderedFrame, index: usize, dir: &Path) -> Result<Encoded, SynthError> {
    let (w, h) = (f.intrinsics.width, f.intrinsics.height);
    let jpg_err = |message: String| -> SynthError {
        IoError::Image {
            path: dir.join(format!("frame-{index:06}.color.jpg")),
            message,
        }
        .into()
    };
    let (jw, jh) = (
        u16::try_from(w).map_err(|_| jpg_err("width above 65535".into()))?,
        u16::try_from(h).map_err(|_| jpg_err("height above 65535".into()))?,
    );
    let color_jpg = super::jpeg::encode_rgb(&f.color.data, jw, jh).map_err(jpg_err)?;
    let depth_path = dir.join(format!("frame-{index:06}.depth.png"));
    let depth_png = match &f.depth.data {
        crate::frame::DepthData::Metres(z) => png16(z, depth_to_mm, w, h, &depth_path)?,
        crate::frame::DepthData::U16 { .. } => {
            png16(&f.depth_metres(), depth_to_mm, w, h, &depth_path)?
        }
    };
    let instances_png = png16(
        &f.instances,
        |i| i,
        w,
        h,
        &dir.join(format!("frame-{index:06}.instances.png")),
    )?;
    Ok(Encoded {
        index,
        color_jpg,
        depth_png,
        instances_png,
        visible: f.visible_ids(),
    })
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), SynthError> {
    std::fs::write(path, bytes).map_err(|e| IoError::os(path, e).into())
}

/// A 4×4 row-major pose as text (one row per line, space separated).
pub fn pose_text(T: &Pose) -> String {
    let m = T.to_homogeneous();
    let mut s = String::new();
    for r in 0..4 {
        let row: Vec<String> = (0..4).map(|c| format!("{:.9}", m[(r, c)])).collect();
        s.push_str(&row.join(" "));
        s.push('\n');
    }
    s
}

/// `camera-intrinsics.txt`: the 3×3 K matrix.
pub fn intrinsics_text(k: &CameraIntrinsics) -> String {
    format!(
        "{:.6} 0 {:.6}\n0 {:.6} {:.6}\n0 0 1\n",
        k.fx, k.cx, k.fy, k.cy
    )
}

fn threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 8)
}

/// What one written scan holds.
struct ScanOutcome {
    frames: usize,
    instances: usize,
    changes: usize,
}

/// Renders and writes one scan folder.
fn write_scan(
    cfg: &SynthConfig,
    room: &Room,
    scan: usize,
    changes: &[Change],
    dir: &Path,
    done: &mut usize,
    total: usize,
    threads: usize,
    progress: &mut dyn FnMut(SynthProgress),
) -> Result<ScanOutcome, SynthError> {
    std::fs::create_dir_all(dir).map_err(|e| IoError::os(dir, e))?;
    let k = cfg.intrinsics;
    write(
        &dir.join("camera-intrinsics.txt"),
        intrinsics_text(&k).as_bytes(),
    )?;
    let poses = scan_trajectory(room, cfg.seed, scan, cfg.frames_of_scan(scan));
    let n = poses.len();
    let next = AtomicUsize::new(0);
    let mut frames: Vec<FrameTruth> = Vec::with_capacity(n);
    let mut first_error: Option<SynthError> = None;
    let surface_path = dir.join("surface.ply");
    std::thread::scope(|s| {
        // the surface samples do not depend on the frames: they are made beside
        // them rather than after them
        let surface = s.spawn(|| -> Result<(), SynthError> {
            let cloud = sample_room_surface(room, cfg.seed, scan, SURFACE_DENSITY_PER_M2);
            crate::io::ply::write_binary(&surface_path, &cloud)?;
            Ok(())
        });
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Encoded, SynthError>>(8);
        for _ in 0..threads.clamp(1, n.max(1)) {
            let tx = tx.clone();
            let (next, poses) = (&next, &poses);
            s.spawn(move || {
                let mut renderer = Renderer::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(pose) = poses.get(i) else { break };
                    let mut rng = frame_noise_rng(cfg.seed, room.index, scan, i);
                    let frame = renderer.render(room, pose, &k, cfg.noise.then_some(&mut rng));
                    if tx.send(encode_frame(&frame, i, dir)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<usize, Encoded> = BTreeMap::new();
        let mut next_write = 0usize;
        for res in rx {
            let enc = match res {
                Ok(e) => e,
                Err(e) => {
                    first_error = Some(e);
                    break;
                }
            };
            pending.insert(enc.index, enc);
            while let Some(e) = pending.remove(&next_write) {
                let i = e.index;
                let stem = dir.join(format!("frame-{i:06}"));
                let files = [
                    (stem.with_extension("color.jpg"), e.color_jpg.as_slice()),
                    (stem.with_extension("depth.png"), e.depth_png.as_slice()),
                    (
                        stem.with_extension("instances.png"),
                        e.instances_png.as_slice(),
                    ),
                ];
                let pose = poses.get(i).copied().unwrap_or_else(Pose::identity);
                let mut result = files.iter().try_for_each(|(p, b)| write(p, b));
                if result.is_ok() {
                    result = write(
                        &stem.with_extension("pose.txt"),
                        pose_text(&pose).as_bytes(),
                    );
                }
                if let Err(err) = result {
                    first_error = Some(err);
                    break;
                }
                frames.push(FrameTruth {
                    index: i as u64,
                    T_map_camera: pose,
                    visible: e.visible,
                });
                *done += 1;
                progress(SynthProgress {
                    room: room.index,
                    scan,
                    frame: i,
                    frames_done: *done,
                    frames_total: total,
                });
                next_write += 1;
            }
            if first_error.is_some() {
                break;
            }
        }
        match surface.join() {
            Ok(Err(e)) if first_error.is_none() => first_error = Some(e),
            Ok(_) => {}
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    if let Some(e) = first_error {
        return Err(e);
    }
    let truth = scan_truth(cfg, room, scan, changes, frames);
    let json = serde_json::to_vec_pretty(&truth).map_err(|source| SynthError::Json {
        path: dir.join("scene.json"),
        source,
    })?;
    write(&dir.join("scene.json"), &json)?;
    Ok(ScanOutcome {
        frames: n,
        instances: room.objects.len(),
        changes: changes.len(),
    })
}

/// The ground truth of a scan.
pub fn scan_truth(
    cfg: &SynthConfig,
    room: &Room,
    scan: usize,
    changes: &[Change],
    frames: Vec<FrameTruth>,
) -> ScanTruth {
    ScanTruth {
        format: SCAN_FORMAT.into(),
        version: FORMAT_VERSION,
        room: room.name.clone(),
        room_kind: room.kind,
        scan: scan as u32,
        seed: cfg.seed,
        intrinsics: cfg.intrinsics,
        floor_outline: room.plan.outline.iter().map(|p| [p.x, p.y]).collect(),
        wall_height: room.wall_height,
        openings: room.openings.clone(),
        symmetric: room.symmetric,
        instances: room
            .objects
            .iter()
            .map(|o| InstanceTruth {
                id: o.id,
                kind: o.kind(),
                T_map_object: o.T_map_object,
                bbox_min: o.model.bbox_min.coords.into(),
                bbox_max: o.model.bbox_max.coords.into(),
                color: o.model.color,
                support: o.support,
                shiny: o.model.shiny(),
                description: o.model.description(),
            })
            .collect(),
        changes: changes.to_vec(),
        frames,
        surface: "surface.ply".into(),
    }
}

fn check_config(cfg: &SynthConfig) -> Result<(), SynthError> {
    if !cfg.intrinsics.is_valid() {
        return Err(SynthError::Config(format!(
            "invalid intrinsics {:?}",
            cfg.intrinsics
        )));
    }
    if cfg.frames == 0 || cfg.rooms == 0 || cfg.reference_frames == Some(0) {
        return Err(SynthError::Config(
            "rooms and frames must be at least 1".into(),
        ));
    }
    if cfg.rooms > 1000
        || cfg.rescans > 99
        || cfg.frames > 999_999
        || cfg.reference_frames.is_some_and(|f| f > 999_999)
    {
        return Err(SynthError::Config(
            "at most 1000 rooms, 99 rescans and 999999 frames per scan".into(),
        ));
    }
    Ok(())
}

/// Generates and writes the whole dataset into `out` (created if needed), calling
/// `progress` after every frame written.
pub fn generate_dataset(
    cfg: &SynthConfig,
    out: &Path,
    progress: &mut dyn FnMut(SynthProgress),
) -> Result<DatasetSummary, SynthError> {
    generate_dataset_with_threads(cfg, out, progress, threads())
}

/// [`generate_dataset`] with an explicit number of render threads (the output
/// does not depend on it).
pub(crate) fn generate_dataset_with_threads(
    cfg: &SynthConfig,
    out: &Path,
    progress: &mut dyn FnMut(SynthProgress),
    threads: usize,
) -> Result<DatasetSummary, SynthError> {
    check_config(cfg)?;
    let start = Instant::now();
    std::fs::create_dir_all(out).map_err(|e| IoError::os(out, e))?;
    let total = cfg.rooms * (cfg.frames_of_scan(0) + cfg.rescans * cfg.frames);
    let mut done = 0usize;
    let mut entries = Vec::new();
    let mut summary = DatasetSummary::default();
    let mut names = Vec::new();
    for r in 0..cfg.rooms {
        let reference = generate_room(cfg.seed, r);
        log::info!(
            "{}: {:?}, {} objects{}",
            reference.name,
            reference.kind,
            reference.objects.len(),
            if reference.symmetric {
                ", symmetric"
            } else {
                ""
            }
        );
        names.push(reference.name.clone());
        for scan in 0..=cfg.rescans {
            let (room, changes) = if scan == 0 {
                (reference.clone(), Vec::new())
            } else {
                make_rescan(&reference, cfg.seed, scan, cfg.changes)
            };
            let rel = PathBuf::from(&room.name).join(format!("scan_{scan:02}"));
            let outcome = write_scan(
                cfg,
                &room,
                scan,
                &changes,
                &out.join(&rel),
                &mut done,
                total,
                threads,
                progress,
            )?;
            summary.scans += 1;
            summary.frames += outcome.frames;
            summary.instances += outcome.instances;
            summary.changes += outcome.changes;
            entries.push(ScanEntry {
                room: room.name.clone(),
                scan: scan as u32,
                path: rel.to_string_lossy().replace('\\', "/"),
                frames: outcome.frames,
                instances: outcome.instances,
                changes: outcome.changes,
            });
        }
        summary.rooms += 1;
    }
    let dataset = SynthDataset {
        format: DATASET_FORMAT.into(),
        version: FORMAT_VERSION,
        seed: cfg.seed,
        rooms: names,
        rescans: cfg.rescans,
        frames_per_scan: cfg.frames,
        intrinsics: cfg.intrinsics,
        noise: cfg.noise,
        scans: entries,
        root: out.to_path_buf(),
    };
    let path = out.join("dataset.json");
    let json = serde_json::to_vec_pretty(&dataset).map_err(|source| SynthError::Json {
        path: path.clone(),
        source,
    })?;
    write(&path, &json)?;
    summary.seconds = start.elapsed().as_secs_f64();
    summary.frames_per_second = summary.frames as f64 / summary.seconds.max(1e-9);
    Ok(summary)
}
