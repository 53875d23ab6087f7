//! The CLI with an annotated scan as the query: labelled PLY scans of a generated
//! room go through `build-db`, `localise` and `eval reloc`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crossloc::io::ply::write_binary;
use crossloc::synth::surface::sample_room_surface;
use crossloc::synth::{generate_room, make_rescan};
use serde_json::Value;

/// A scratch folder removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("crossloc-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch folder");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn crossloc(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_crossloc"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("crossloc runs");
    assert!(
        out.status.success(),
        "crossloc {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("written")).expect("JSON")
}

/// Writes the reference scan of a room and a rescan with changes as labelled PLYs.
fn scans(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let seed = 3;
    let room = generate_room(seed, 1);
    let (rescan, _) = make_rescan(&room, seed, 1, Some(2));
    let other = generate_room(seed, 2);
    let paths = (
        dir.join("reference.ply"),
        dir.join("rescan.ply"),
        dir.join("other.ply"),
    );
    write_binary(&paths.0, &sample_room_surface(&room, seed, 0, 600.0)).expect("ply");
    write_binary(&paths.1, &sample_room_surface(&rescan, seed, 1, 600.0)).expect("ply");
    write_binary(&paths.2, &sample_room_surface(&other, seed, 0, 600.0)).expect("ply");
    (paths.0, paths.1, paths.2)
}

#[test]
fn a_labelled_ply_scan_is_localised_and_scored() {
    let scratch = Scratch::new("scan-query");
    let dir = &scratch.0;
    let (reference, rescan, other) = scans(dir);
    let db = dir.join("db.xdb");
    let s = |p: &Path| p.display().to_string();
    crossloc(&["build-db", "--input", &s(&reference), "--out", &s(&db)]);

    // localise: RESULT.json with one frame.
    let result = dir.join("result.json");
    crossloc(&[
        "localise",
        "--db",
        &s(&db),
        "--input",
        &s(&rescan),
        "--session-seed",
        "5",
        "--out",
        &s(&result),
    ]);
    let r = json(&result);
    let frames = r["frames"].as_array().expect("frames");
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0]["state"], "localised");
    let T = frames[0]["T_map_session"].as_array().expect("a 4×4 matrix");
    assert_eq!(T.len(), 4);
    assert_eq!(
        r["simulation"]["T_session_map"].as_array().map(Vec::len),
        Some(4)
    );
    assert_eq!(r["events"][0]["kind"], "localised");

    // eval reloc: scored against the structure alignment of the two scans.
    let scores = dir.join("scores.json");
    crossloc(&[
        "eval",
        "reloc",
        "--db",
        &s(&db),
        "--input",
        &s(&rescan),
        "--session-seed",
        "5",
        "--reference-scan",
        "reference",
        "--json",
        &s(&scores),
    ]);
    let v = json(&scores);
    assert_eq!(v["frames"], 1);
    assert_eq!(v["localisable_frames"], 1);
    assert_eq!(v["false_fix_rate"], 0.0);
    assert_eq!(v["success_rate_5cm5deg"], 1.0);
    assert!(v["scan"]["translation_error_m"].as_f64().expect("error") < 0.05);

    // Another room against this database: no fix, no false fix.
    let scores = dir.join("other.json");
    crossloc(&[
        "eval",
        "reloc",
        "--db",
        &s(&db),
        "--input",
        &s(&other),
        "--session-seed",
        "5",
        "--reference-scan",
        "none",
        "--json",
        &s(&scores),
    ]);
    let v = json(&scores);
    assert_eq!(v["scan"]["fixed"], false);
    assert_eq!(v["false_fix_rate"], 0.0);
    assert_eq!(v["localisable_frames"], 0);
}
