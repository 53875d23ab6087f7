//! The `crossloc` command-line tool: inspect datasets, make synthetic rooms, build
//! scene databases, localise sequences and evaluate.

mod build_db;
mod demo;
mod eval;
mod inspect;
mod inspect_db;
mod progress;
mod scan_query;
mod session;
mod synth_cmd;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// crossloc: real-time relocalisation and change detection against a scene database.
#[derive(Debug, Parser)]
#[command(name = "crossloc", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Detect a dataset's format and print what it holds.
    Inspect(inspect::InspectArgs),
    /// Generate a synthetic dataset: rooms, rescans with changes, RGB-D sequences.
    Synth(synth_cmd::SynthArgs),
    /// Build a scene database from a sequence, a scan or a synthetic dataset.
    BuildDb(build_db::BuildDbArgs),
    /// Replay a sequence as a headset would and write the engine's answers.
    Localise(session::LocaliseArgs),
    /// Run the engine and score it against ground truth.
    #[command(subcommand)]
    Eval(eval::EvalCommand),
    /// The main job on embedded data: synthetic rooms, database, live rescan, results.
    Demo(demo::DemoArgs),
}

fn main() -> Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();
    match cli.command {
        Command::Inspect(args) => inspect::run(&args),
        Command::Synth(args) => synth_cmd::run(&args),
        Command::BuildDb(args) => build_db::run(&args),
        Command::Localise(args) => session::run(&args),
        Command::Eval(cmd) => eval::run(&cmd),
        Command::Demo(args) => demo::run(&args),
    }
}
