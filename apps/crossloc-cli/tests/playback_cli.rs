//! How `localise` plays a sequence: `--rounds latest` and `--pace`, on a
//! generated synthetic room.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use serde_json::Value;

/// A scratch folder removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crossloc"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("crossloc runs")
}

fn ok(args: &[&str]) {
    let out = run(args);
    assert!(
        out.status.success(),
        "crossloc {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("written")).expect("JSON")
}

#[test]
fn latest_rounds_and_a_paced_replay_pass_every_frame_on() {
    let dir = std::env::temp_dir().join(format!("crossloc-playback-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    let scratch = Scratch(dir);
    let s = |p: &Path| p.display().to_string();
    let data = scratch.0.join("synth");
    let db = scratch.0.join("db.xdb");
    ok(&[
        "synth",
        "--seed",
        "5",
        "--rooms",
        "1",
        "--rescans",
        "1",
        "--frames",
        "30",
        "--out",
        &s(&data),
    ]);
    ok(&["build-db", "--input", &s(&data), "--out", &s(&db)]);
    let scan = data.join("room_000").join("scan_01");
    let result = scratch.0.join("result.json");
    let started = Instant::now();
    ok(&[
        "localise",
        "--db",
        &s(&db),
        "--input",
        &s(&scan),
        "--session-seed",
        "3",
        "--rounds",
        "latest",
        "--pace",
        "40",
        "--out",
        &s(&result),
    ]);
    // 30 frames at 40 a second: the last one is pushed 29/40 s after the first.
    assert!(started.elapsed().as_secs_f64() >= 29.0 / 40.0);
    let r = json(&result);
    assert_eq!(r["frames"].as_array().map(Vec::len), Some(30));
    let stats = &r["stats"];
    assert_eq!(stats["frames_in"], 30, "{stats}");
    assert_eq!(stats["frames_out"], 30, "{stats}");
    assert_eq!(stats["dropped"], 0, "{stats}");
    assert_eq!(stats["rounds"], 10, "{stats}");
    assert!(
        stats["rounds_skipped"].as_u64().expect("a count") < 10,
        "{stats}"
    );

    // A pace that is not a positive rate is refused with a clear error.
    let out = run(&[
        "localise",
        "--db",
        &s(&db),
        "--input",
        &s(&scan),
        "--pace",
        "0",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pace"), "{err}");
}
