//! Benchmark of the scene database's embedding search: `EmbeddingIndex::top_k` and
//! `top_k_batch` against a naive per-row loop (sequential dot product per row, full
//! sort), on a synthetic database of 10,000 instances with 64-d and 256-d
//! unit-length descriptors.
//!
//! Run: `cargo run --release -p crossloc --example db_search_bench`

use std::hint::black_box;
use std::time::Instant;

use crossloc::db::{DbInstance, Descriptor, EmbeddingIndex, OrientedBox, Scene, SceneDatabase};
use crossloc::encode::Modality;
use crossloc::rng::Rng;
use nalgebra::{Point3, Vector3};

const SCENES: usize = 100;
const PER_SCENE: usize = 100;
const K: usize = 10;
const BATCH: usize = 50;
const REPEATS: usize = 200;

fn unit(rng: &mut Rng, d: usize) -> Vec<f32> {
    let mut v: Vec<f32> = (0..d).map(|_| rng.normal()).collect();
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

fn database(d: usize) -> SceneDatabase {
    let mut rng = Rng::new(d as u64);
    let mut db = SceneDatabase::new();
    for s in 0..SCENES {
        let mut scene = Scene::new(format!("scene{s}"), "benchmark");
        for i in 0..PER_SCENE {
            scene.instances.push(DbInstance {
                id: i as u32,
                label: String::new(),
                centroid: Point3::origin(),
                bbox: OrientedBox::axis_aligned(Point3::origin(), Vector3::repeat(0.2)),
                descriptors: vec![Descriptor {
                    modality: Modality::Point,
                    values: unit(&mut rng, d),
                }],
                points: vec![],
                normals: vec![],
                colors: vec![],
                observations: 1,
            });
        }
        db.add_scene(scene).expect("unique names");
    }
    db
}

/// The naive reference: one sequential dot product per row, then a full sort.
fn naive_top_k(index: &EmbeddingIndex, q: &[f32], k: usize) -> Vec<(f32, usize)> {
    let mut all: Vec<(f32, usize)> = (0..index.len())
        .map(|r| {
            let row = index.row(r).expect("row in range");
            (row.iter().zip(q).map(|(a, b)| a * b).sum::<f32>(), r)
        })
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    all.truncate(k);
    all
}

/// Median and minimum of the per-call times, microseconds.
fn median_us(mut t: Vec<f64>) -> (f64, f64) {
    t.sort_by(f64::total_cmp);
    (t[t.len() / 2], t[0])
}

fn time_us(mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64() * 1e6
}

fn main() {
    println!(
        "embedding search, {} instances, k = {K}, median of {REPEATS} runs (batch: of 20 runs)",
        SCENES * PER_SCENE
    );
    println!("times in µs as median (min); speedup = naive / fast, by median");
    println!(
        "{:>4} | {:>15} | {:>15} | {:>17} | {:>9} | {:>17} | {:>7} | {:>7}",
        "dim", "top_k", "naive", "batch of 50", "per query", "naive 50", "single", "batch"
    );
    for d in [64usize, 256] {
        let db = database(d);
        let t = Instant::now();
        let index = EmbeddingIndex::build(&db, Modality::Point).expect("one dimension");
        let build_ms = t.elapsed().as_secs_f64() * 1e3;
        let mut rng = Rng::new(1000 + d as u64);
        let queries: Vec<Vec<f32>> = (0..BATCH).map(|_| unit(&mut rng, d)).collect();

        // Same answers as the naive loop.
        for q in &queries {
            let fast: Vec<usize> = index
                .top_k(q, K)
                .iter()
                .map(|h| h.1 * PER_SCENE + h.2)
                .collect();
            let slow: Vec<usize> = naive_top_k(&index, q, K).iter().map(|h| h.1).collect();
            assert_eq!(fast, slow, "top_k disagrees with the naive loop");
        }

        let single = median_us(
            (0..REPEATS)
                .map(|i| time_us(|| drop(black_box(index.top_k(&queries[i % BATCH], K)))))
                .collect(),
        );
        let naive = median_us(
            (0..REPEATS)
                .map(|i| time_us(|| drop(black_box(naive_top_k(&index, &queries[i % BATCH], K)))))
                .collect(),
        );
        let batch = median_us(
            (0..20)
                .map(|_| time_us(|| drop(black_box(index.top_k_batch(&queries, K)))))
                .collect(),
        );
        let naive_batch = median_us(
            (0..20)
                .map(|_| {
                    time_us(|| {
                        for q in &queries {
                            black_box(naive_top_k(&index, q, K));
                        }
                    })
                })
                .collect(),
        );
        let cell = |(m, n): (f64, f64)| format!("{m:.1} ({n:.1})");
        println!(
            "{d:>4} | {:>15} | {:>15} | {:>17} | {:>9.1} | {:>17} | {:>6.1}x | {:>6.1}x",
            cell(single),
            cell(naive),
            cell(batch),
            batch.0 / BATCH as f64,
            cell(naive_batch),
            naive.0 / single.0,
            naive_batch.0 / batch.0
        );
        println!("      (index build {build_ms:.1} ms)");
    }
    file_round_trip();
}

/// Writes and reads back a database of the same size with 100 surface points per
/// instance, and reports the file size and times.
fn file_round_trip() {
    let mut db = database(256);
    let mut rng = Rng::new(5);
    for scene in &mut db.scenes {
        for inst in &mut scene.instances {
            inst.points = (0..100)
                .map(|_| {
                    Point3::new(
                        rng.range(-3.0, 3.0),
                        rng.range(-3.0, 3.0),
                        rng.range(0.0, 2.5),
                    )
                })
                .collect();
            inst.normals = vec![Vector3::z(); 100];
            inst.colors = vec![[120, 80, 40]; 100];
        }
    }
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("bench.xloc");
    let t = Instant::now();
    db.save(&path).expect("write");
    let write_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let back = SceneDatabase::load(&path).expect("read");
    let read_ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(back, db, "round trip changed the database");
    let mb = std::fs::metadata(&path).map_or(0, |m| m.len()) as f64 / 1e6;
    println!(
        "file: {} instances, 256-d descriptors, 100 points each: {mb:.1} MB, write {write_ms:.0} ms (incl. fsync), read+validate {read_ms:.0} ms",
        db.instance_count()
    );
}
