//! `crossloc synth`: generate a deterministic synthetic dataset (rooms, rescans with
//! changes, rendered RGB-D sequences with ground truth).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use crossloc::synth::{SynthConfig, generate_dataset};

use crate::progress;

/// Arguments of `crossloc synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Seed: the same seed gives byte-identical output.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Number of rooms.
    #[arg(long, default_value_t = 1)]
    pub rooms: usize,
    /// Rescans per room (each with moved, removed and added objects).
    #[arg(long, default_value_t = 1)]
    pub rescans: usize,
    /// Frames per scan.
    #[arg(long, default_value_t = 300)]
    pub frames: usize,
    /// Frames of the reference scan `scan_00` (default: `--frames`); its walk goes
    /// once around the room with about 30 frames per metre of the loop.
    #[arg(long)]
    pub reference_frames: Option<usize>,
    /// Changes per rescan (default: drawn in 2..=5).
    #[arg(long)]
    pub changes: Option<usize>,
    /// Image width (the focal length scales with it).
    #[arg(long, default_value_t = 640)]
    pub width: u32,
    /// Image height.
    #[arg(long, default_value_t = 480)]
    pub height: u32,
    /// Render without depth and colour noise.
    #[arg(long)]
    pub no_noise: bool,
    /// Output folder (created; must be empty or absent).
    #[arg(long)]
    pub out: PathBuf,
}

/// Builds the generator configuration from the arguments.
pub fn config(args: &SynthArgs) -> SynthConfig {
    let base = SynthConfig::default();
    let scale = args.width as f32 / base.intrinsics.width as f32;
    let mut intrinsics = base.intrinsics.scaled(scale);
    intrinsics.width = args.width;
    intrinsics.height = args.height;
    intrinsics.cy = (args.height as f32 - 1.0) / 2.0;
    SynthConfig {
        seed: args.seed,
        rooms: args.rooms,
        rescans: args.rescans,
        frames: args.frames,
        reference_frames: args.reference_frames,
        intrinsics,
        changes: args.changes,
        noise: !args.no_noise,
    }
}

/// Runs `crossloc synth`.
pub fn run(args: &SynthArgs) -> Result<()> {
    if args.out.exists() && std::fs::read_dir(&args.out)?.next().is_some() {
        anyhow::bail!("{}: output folder is not empty", args.out.display());
    }
    let cfg = config(args);
    let total = (args.rooms * (cfg.frames_of_scan(0) + args.rescans * args.frames)) as u64;
    let pb = progress::bar(total, "rendering");
    let start = Instant::now();
    let summary = generate_dataset(&cfg, &args.out, &mut |_p| pb.inc(1)).with_context(|| {
        format!(
            "cannot write the synthetic dataset to {}",
            args.out.display()
        )
    })?;
    pb.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    println!(
        "wrote {} in {:.1} s ({:.1} frames/s): {summary:?}",
        args.out.display(),
        secs,
        total as f64 / secs.max(1e-9)
    );
    Ok(())
}
