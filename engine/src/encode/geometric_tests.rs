//! Tests of the geometric/colour descriptor on synthetic furniture.

use std::time::Instant;

use nalgebra::{Point3, Quaternion, Translation3, UnitQuaternion, Vector3};

use super::*;
use crate::encode::cosine;
use crate::frame::Pose;

/// One surface of a synthetic object, with its colour.
#[derive(Clone, Copy)]
enum Surface {
    /// Closed axis-aligned box between two corners.
    Cuboid([f32; 3], [f32; 3]),
    /// Open-top cylinder standing on `base` (axis z).
    Cylinder([f32; 3], f32, f32),
}

fn area(s: &Surface) -> f32 {
    match *s {
        Surface::Cuboid(a, b) => {
            let d = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
            2.0 * (d[0] * d[1] + d[1] * d[2] + d[0] * d[2])
        }
        Surface::Cylinder(_, r, h) => std::f32::consts::TAU * r * h + std::f32::consts::PI * r * r,
    }
}

fn sample_on(s: &Surface, rng: &mut Rng) -> (Point3<f32>, Vector3<f32>) {
    match *s {
        Surface::Cuboid(a, b) => {
            let d = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
            let faces = [d[1] * d[2], d[0] * d[2], d[0] * d[1]];
            let mut x = rng.f32() * (faces[0] + faces[1] + faces[2]);
            let mut axis = 2;
            for (k, f) in faces.iter().enumerate() {
                if x < *f {
                    axis = k;
                    break;
                }
                x -= f;
            }
            let mut p = [0.0; 3];
            for k in 0..3 {
                p[k] = rng.range(a[k], b[k]);
            }
            let high = rng.chance(0.5);
            p[axis] = if high { b[axis] } else { a[axis] };
            let mut n = Vector3::zeros();
            n[axis] = if high { 1.0 } else { -1.0 };
            (Point3::from(p), n)
        }
        Surface::Cylinder(base, r, h) => {
            let side = std::f32::consts::TAU * r * h;
            if rng.f32() * area(s) < side {
                let t = rng.range(0.0, std::f32::consts::TAU);
                let n = Vector3::new(t.cos(), t.sin(), 0.0);
                let p = Point3::new(
                    base[0] + r * n.x,
                    base[1] + r * n.y,
                    base[2] + rng.range(0.0, h),
                );
                (p, n)
            } else {
                let rr = r * rng.f32().sqrt();
                let t = rng.range(0.0, std::f32::consts::TAU);
                let p = Point3::new(base[0] + rr * t.cos(), base[1] + rr * t.sin(), base[2]);
                (p, -Vector3::z())
            }
        }
    }
}

/// Samples `n` points area-uniformly over the parts, with normals and colours
/// (±8 colour noise).
fn sample(parts: &[(Surface, [u8; 3])], n: usize, seed: u64) -> PointCloud {
    let mut rng = Rng::new(seed);
    let areas: Vec<f32> = parts.iter().map(|(s, _)| area(s)).collect();
    let total: f32 = areas.iter().sum();
    let mut cloud = PointCloud {
        colors: Some(Vec::new()),
        normals: Some(Vec::new()),
        ..Default::default()
    };
    for _ in 0..n {
        let mut x = rng.f32() * total;
        let mut k = parts.len() - 1;
        for (i, a) in areas.iter().enumerate() {
            if x < *a {
                k = i;
                break;
            }
            x -= a;
        }
        let (p, nrm) = sample_on(&parts[k].0, &mut rng);
        let c = parts[k]
            .1
            .map(|v| (v as f32 + rng.range(-8.0, 8.0)).clamp(0.0, 255.0) as u8);
        cloud.points.push(p);
        cloud.normals.as_mut().unwrap().push(nrm);
        cloud.colors.as_mut().unwrap().push(c);
    }
    cloud
}

fn legs(x: f32, y: f32, side: f32, h: f32, color: [u8; 3]) -> Parts {
    [
        (0.0, 0.0),
        (x - side, 0.0),
        (0.0, y - side),
        (x - side, y - side),
    ]
    .iter()
    .map(|&(a, b)| (Surface::Cuboid([a, b, 0.0], [a + side, b + side, h]), color))
    .collect()
}

fn chair() -> Parts {
    let red = [170, 35, 35];
    let mut p = vec![
        (Surface::Cuboid([0.0, 0.0, 0.42], [0.45, 0.45, 0.47]), red),
        (Surface::Cuboid([0.0, 0.40, 0.47], [0.45, 0.45, 0.9]), red),
    ];
    p.extend(legs(0.45, 0.45, 0.04, 0.42, [40, 30, 30]));
    p
}

fn table() -> Parts {
    let mut p = vec![(
        Surface::Cuboid([0.0, 0.0, 0.71], [1.6, 0.8, 0.75]),
        [140, 95, 55],
    )];
    p.extend(legs(1.6, 0.8, 0.06, 0.71, [110, 75, 45]));
    p
}

fn mug() -> Parts {
    vec![(Surface::Cylinder([0.0, 0.0, 0.0], 0.04, 0.1), [40, 70, 190])]
}

fn bookshelf() -> Parts {
    let wood = [228, 226, 218];
    let mut p = vec![
        (Surface::Cuboid([0.0, 0.0, 0.0], [0.02, 0.3, 2.0]), wood),
        (Surface::Cuboid([0.78, 0.0, 0.0], [0.8, 0.3, 2.0]), wood),
        (Surface::Cuboid([0.0, 0.28, 0.0], [0.8, 0.3, 2.0]), wood),
    ];
    for k in 0..6 {
        let z = k as f32 * 0.39;
        p.push((
            Surface::Cuboid([0.02, 0.0, z], [0.78, 0.28, z + 0.02]),
            wood,
        ));
    }
    p
}

fn sofa() -> Parts {
    let green = [70, 110, 80];
    vec![
        (Surface::Cuboid([0.0, 0.0, 0.0], [1.9, 0.9, 0.45]), green),
        (Surface::Cuboid([0.0, 0.7, 0.45], [1.9, 0.9, 0.9]), green),
        (Surface::Cuboid([0.0, 0.0, 0.45], [0.2, 0.7, 0.65]), green),
        (Surface::Cuboid([1.7, 0.0, 0.45], [1.9, 0.7, 0.65]), green),
    ]
}

/// Coloured surfaces making up one synthetic object.
type Parts = Vec<(Surface, [u8; 3])>;

fn objects() -> Vec<(&'static str, Parts)> {
    vec![
        ("chair", chair()),
        ("table", table()),
        ("mug", mug()),
        ("bookshelf", bookshelf()),
        ("sofa", sofa()),
    ]
}

fn random_pose(rng: &mut Rng) -> Pose {
    let q = Quaternion::new(rng.normal(), rng.normal(), rng.normal(), rng.normal());
    let t = Translation3::new(
        rng.range(-20.0, 20.0),
        rng.range(-20.0, 20.0),
        rng.range(-5.0, 5.0),
    );
    Pose::from_parts(t, UnitQuaternion::from_quaternion(q))
}

/// Independent resample, random rigid pose, 5 mm noise on points, perturbed
/// normals, colour exposure 0.85.
fn live_view(parts: &[(Surface, [u8; 3])], n: usize, seed: u64) -> PointCloud {
    let mut rng = Rng::derive(seed, 99);
    let mut c = sample(parts, n, seed);
    for p in &mut c.points {
        *p += Vector3::new(rng.normal(), rng.normal(), rng.normal()) * 0.005;
    }
    for nrm in c.normals.as_mut().unwrap() {
        *nrm = (*nrm + Vector3::new(rng.normal(), rng.normal(), rng.normal()) * 0.05).normalize();
    }
    for col in c.colors.as_mut().unwrap() {
        *col = col.map(|v| (v as f32 * 0.85).round() as u8);
    }
    c.transform(&random_pose(&mut rng));
    c
}

fn subset(c: &PointCloud, keep: impl Fn(usize, &Point3<f32>) -> bool) -> PointCloud {
    let idx: Vec<usize> = (0..c.len()).filter(|&i| keep(i, &c.points[i])).collect();
    PointCloud {
        points: idx.iter().map(|&i| c.points[i]).collect(),
        colors: c
            .colors
            .as_ref()
            .map(|v| idx.iter().map(|&i| v[i]).collect()),
        normals: c
            .normals
            .as_ref()
            .map(|v| idx.iter().map(|&i| v[i]).collect()),
        ..Default::default()
    }
}

fn block(enc: &GeometricColorEncoder, d: &[f32], b: Block) -> Vec<f32> {
    d[enc.config().block_range(b)].to_vec()
}

#[test]
fn layout_dim_unit_norm_and_determinism() {
    let enc = GeometricColorEncoder::default();
    assert_eq!(enc.dim(), 128);
    assert_eq!(enc.modality(), Modality::Point);
    let cfg = enc.config();
    let mut next = 0;
    for b in Block::ALL {
        let r = cfg.block_range(b);
        assert_eq!(r.start, next);
        next = r.end;
    }
    assert_eq!(next, enc.dim());
    for (_, parts) in objects() {
        let c = sample(&parts, 2000, 1);
        let a = enc.encode(&c).unwrap();
        let b = enc.encode(&c).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), enc.dim());
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5);
        assert!(a.iter().all(|x| x.is_finite() && *x >= 0.0));
    }
}

#[test]
fn invariant_to_rigid_transforms() {
    let enc = GeometricColorEncoder::default();
    let mut rng = Rng::new(5);
    for (name, parts) in objects() {
        let c = sample(&parts, 2000, 2);
        let d = enc.encode(&c).unwrap();
        for _ in 0..5 {
            let mut moved = c.clone();
            moved.transform(&random_pose(&mut rng));
            let cos = cosine(&d, &enc.encode(&moved).unwrap());
            assert!(cos >= 0.99, "{name}: cosine {cos}");
        }
    }
}

#[test]
fn robust_to_random_half_subsets() {
    let enc = GeometricColorEncoder::default();
    let mut rng = Rng::new(11);
    for (name, parts) in objects() {
        let c = sample(&parts, 3000, 3);
        let d = enc.encode(&c).unwrap();
        let keep: Vec<bool> = (0..c.len()).map(|_| rng.chance(0.5)).collect();
        let half = subset(&c, |i, _| keep[i]);
        let cos = cosine(&d, &enc.encode(&half).unwrap());
        assert!(cos >= 0.95, "{name}: cosine {cos}");
    }
}

fn similarity_matrix(enc: &GeometricColorEncoder, queries: &[PointCloud]) -> Vec<Vec<f32>> {
    let db: Vec<Vec<f32>> = objects()
        .iter()
        .map(|(_, p)| enc.encode(&sample(p, 3000, 7)).unwrap())
        .collect();
    queries
        .iter()
        .map(|q| {
            let dq = enc.encode(q).unwrap();
            db.iter().map(|d| cosine(&dq, d)).collect()
        })
        .collect()
}

fn argmax(v: impl Iterator<Item = f32>) -> usize {
    v.enumerate()
        .fold(
            (0, f32::MIN),
            |best, (i, x)| if x > best.1 { (i, x) } else { best },
        )
        .0
}

#[test]
fn each_object_is_its_own_mutual_nearest_neighbour() {
    let enc = GeometricColorEncoder::default();
    let objs = objects();
    let queries: Vec<PointCloud> = objs
        .iter()
        .enumerate()
        .map(|(i, (_, p))| live_view(p, 1200, 100 + i as u64))
        .collect();
    let m = similarity_matrix(&enc, &queries);
    for row in &m {
        println!("{row:.3?}");
    }
    for (i, row) in m.iter().enumerate() {
        let (name, _) = objs[i];
        assert_eq!(argmax(row.iter().copied()), i, "{name}: row {row:?}");
        assert_eq!(argmax(m.iter().map(|r| r[i])), i, "{name}: column");
        let runner_up = row
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, x)| *x)
            .fold(f32::MIN, f32::max);
        assert!(row[i] > 0.9, "{name}: self similarity {}", row[i]);
        assert!(row[i] - runner_up > 0.05, "{name}: margin {row:?}");
    }
}

/// Without colours the geometry alone still ranks each full view first, but with
/// small margins between the similar-sized table, sofa and bookshelf (documented:
/// colour, and later the layout, carry the rest).
#[test]
fn geometry_alone_ranks_full_views_first() {
    let enc = GeometricColorEncoder::default();
    let objs = objects();
    let db: Vec<Vec<f32>> = objs
        .iter()
        .map(|(_, p)| {
            let mut c = sample(p, 3000, 7);
            c.colors = None;
            enc.encode(&c).unwrap()
        })
        .collect();
    for round in 0..3u64 {
        for (i, (name, p)) in objs.iter().enumerate() {
            let mut q = live_view(p, 1500, 300 + 10 * round + i as u64);
            q.colors = None;
            let d = enc.encode(&q).unwrap();
            let row: Vec<f32> = db.iter().map(|x| cosine(x, &d)).collect();
            assert_eq!(
                argmax(row.iter().copied()),
                i,
                "{name} round {round}: {row:?}"
            );
        }
    }
}

#[test]
fn partial_views_still_find_their_object() {
    let enc = GeometricColorEncoder::default();
    let objs = objects();
    let mut rng = Rng::new(21);
    for round in 0..3 {
        let queries: Vec<PointCloud> = objs
            .iter()
            .enumerate()
            .map(|(i, (_, p))| {
                let full = live_view(p, 2000, 200 + 10 * round + i as u64);
                // Cut away the part beyond a random plane through a point 20% of
                // the way out from the centroid: about 70% of the points remain.
                let centroid = full
                    .points
                    .iter()
                    .fold(Vector3::zeros(), |a, p| a + p.coords)
                    / full.len() as f32;
                let dir = Vector3::new(rng.normal(), rng.normal(), rng.normal()).normalize();
                let proj: Vec<f32> = full
                    .points
                    .iter()
                    .map(|p| (p.coords - centroid).dot(&dir))
                    .collect();
                let mut sorted = proj.clone();
                sorted.sort_by(f32::total_cmp);
                let cut = sorted[(sorted.len() as f32 * 0.7) as usize];
                subset(&full, |k, _| proj[k] <= cut)
            })
            .collect();
        let m = similarity_matrix(&enc, &queries);
        for (i, row) in m.iter().enumerate() {
            assert_eq!(
                argmax(row.iter().copied()),
                i,
                "{} round {round}: {row:?}",
                objs[i].0
            );
        }
    }
}

/// Exposure (one gain) leaves the colour block unchanged up to 8-bit rounding;
/// moderate white-balance gains (±6 %) cost little; strong casts (±12 %, or a 0.7/0.9
/// red/blue ratio) turn near-white and low-saturation colours (the white bookshelf,
/// the grey-green sofa) partly chromatic or shift their hue, so there only the whole
/// descriptor is bounded (a white bookshelf under a warm cast looks like wood, and
/// may then retrieve the wooden table). Elsewhere every object must retrieve itself.
#[test]
fn robust_to_exposure_and_white_balance() {
    let enc = GeometricColorEncoder::default();
    let cases: [([f32; 3], f32, f32); 7] = [
        ([0.6, 0.6, 0.6], 0.95, 0.98),
        ([1.25, 1.25, 1.25], 0.95, 0.98),
        ([0.8, 0.8, 0.8], 0.95, 0.98),
        ([1.06, 1.0, 0.94], 0.9, 0.97),
        ([0.94, 1.0, 1.06], 0.9, 0.97),
        ([1.12, 1.0, 0.88], 0.0, 0.85),
        ([0.7, 0.8, 0.9], 0.0, 0.85),
    ];
    let objs = objects();
    let clouds: Vec<PointCloud> = objs.iter().map(|(_, p)| sample(p, 2000, 4)).collect();
    let db: Vec<Vec<f32>> = clouds.iter().map(|c| enc.encode(c).unwrap()).collect();
    for (gains, min_color, min_all) in cases {
        for (i, c) in clouds.iter().enumerate() {
            let name = objs[i].0;
            let d = &db[i];
            let mut lit = c.clone();
            for col in lit.colors.as_mut().unwrap() {
                for k in 0..3 {
                    col[k] = (col[k] as f32 * gains[k]).round().clamp(0.0, 255.0) as u8;
                }
            }
            let e = enc.encode(&lit).unwrap();
            let cb = cosine(
                &block(&enc, d, Block::Color),
                &block(&enc, &e, Block::Color),
            );
            let all = cosine(d, &e);
            println!("{name} {gains:?}: colour block {cb:.4}, whole {all:.4}");
            assert!(
                cb >= min_color,
                "{name} {gains:?}: colour block cosine {cb}"
            );
            assert!(all >= min_all, "{name} {gains:?}: cosine {all}");
            if min_color > 0.0 {
                assert_eq!(
                    argmax(db.iter().map(|x| cosine(x, &e))),
                    i,
                    "{name} {gains:?}"
                );
            }
        }
    }
}

#[test]
fn colour_and_size_each_discriminate() {
    let enc = GeometricColorEncoder::default();
    let c = sample(&chair(), 2000, 5);
    let d = enc.encode(&c).unwrap();
    // Same chair painted blue.
    let mut blue = c.clone();
    for col in blue.colors.as_mut().unwrap() {
        *col = [col[2], col[1], col[0]];
    }
    let db = enc.encode(&blue).unwrap();
    let cb = cosine(
        &block(&enc, &d, Block::Color),
        &block(&enc, &db, Block::Color),
    );
    assert!(cb < 0.5, "colour block cosine {cb}");
    // Same chair at 1.6x scale.
    let mut big = c.clone();
    for p in &mut big.points {
        p.coords *= 1.6;
    }
    let dbig = enc.encode(&big).unwrap();
    let ce = cosine(
        &block(&enc, &d, Block::Extent),
        &block(&enc, &dbig, Block::Extent),
    );
    assert!(ce < 0.8, "extent block cosine {ce}");
    // Identical chairs sampled independently look identical (documented).
    let twin = enc.encode(&sample(&chair(), 2000, 6)).unwrap();
    assert!(cosine(&d, &twin) > 0.98);
}

#[test]
fn bad_inputs_give_errors_or_are_ignored_never_panic() {
    let enc = GeometricColorEncoder::default();
    let few = sample(&mug(), MIN_POINTS - 1, 1);
    assert_eq!(
        enc.encode(&few),
        Err(EncodeError::TooFewPoints {
            found: MIN_POINTS - 1,
            needed: MIN_POINTS
        })
    );
    assert!(matches!(
        enc.encode(&PointCloud::default()),
        Err(EncodeError::TooFewPoints { found: 0, .. })
    ));

    let c = sample(&mug(), 500, 2);
    let mut bad = c.clone();
    bad.colors.as_mut().unwrap().pop();
    assert!(matches!(
        enc.encode(&bad),
        Err(EncodeError::Inconsistent(_))
    ));
    let mut bad = c.clone();
    bad.instance_ids = Some(vec![1; 3]);
    assert!(matches!(
        enc.encode(&bad),
        Err(EncodeError::Inconsistent(_))
    ));

    // NaN, infinite and absurd points are ignored with their attributes: the
    // descriptor equals the one of the clean cloud.
    let mut dirty = c.clone();
    for (k, p) in [f32::NAN, f32::INFINITY, 1e30].into_iter().enumerate() {
        dirty.points.insert(k * 7, Point3::new(0.0, p, 0.0));
        dirty.colors.as_mut().unwrap().insert(k * 7, [1, 2, 3]);
        dirty.normals.as_mut().unwrap().insert(k * 7, Vector3::x());
    }
    assert_eq!(enc.encode(&dirty).unwrap(), enc.encode(&c).unwrap());
    let all_nan = PointCloud {
        points: vec![Point3::new(f32::NAN, 0.0, 0.0); 50],
        ..Default::default()
    };
    assert!(matches!(
        enc.encode(&all_nan),
        Err(EncodeError::TooFewPoints { found: 0, .. })
    ));

    // Degenerate geometry and attributes still give a finite unit descriptor.
    let mut same = PointCloud {
        points: vec![Point3::new(3.0, 3.0, 3.0); 20],
        normals: Some(vec![Vector3::zeros(); 20]),
        colors: Some(vec![[0, 0, 0]; 20]),
        ..Default::default()
    };
    let d = enc.encode(&same).unwrap();
    assert!(d.iter().all(|x| x.is_finite()));
    same.normals = Some(vec![Vector3::new(f32::NAN, 0.0, 0.0); 20]);
    assert!(enc.encode(&same).unwrap().iter().all(|x| x.is_finite()));
}

#[test]
fn large_inputs_are_subsampled_deterministically() {
    let enc = GeometricColorEncoder::default();
    let big = sample(&sofa(), 20_000, 8);
    let a = enc.encode(&big).unwrap();
    assert_eq!(a, enc.encode(&big).unwrap());
    let small = sample(&sofa(), 3000, 9);
    assert!(cosine(&a, &enc.encode(&small).unwrap()) > 0.97);
}

#[test]
fn config_is_validated() {
    let ok = GeometricColorConfig::default();
    assert!(GeometricColorEncoder::new(ok.clone()).is_ok());
    let mut c = ok.clone();
    c.hue_bins = 1;
    assert!(matches!(
        GeometricColorEncoder::new(c),
        Err(ConfigError::Bins { .. })
    ));
    let mut c = ok.clone();
    c.distance_range_m = (0.0, 1.0);
    assert!(matches!(
        GeometricColorEncoder::new(c),
        Err(ConfigError::Range { .. })
    ));
    let mut c = ok.clone();
    c.weights = BlockWeights {
        extent: 0.0,
        shape_ratios: 0.0,
        distances: 0.0,
        angles: 0.0,
        normal_angles: 0.0,
        color: 0.0,
    };
    assert!(matches!(
        GeometricColorEncoder::new(c),
        Err(ConfigError::Value(_))
    ));
    let mut c = ok;
    c.weights.color = f32::NAN;
    assert!(GeometricColorEncoder::new(c).is_err());
    // Custom sizes change dim accordingly.
    let c = GeometricColorConfig {
        hue_bins: 8,
        distance_bins: 20,
        ..Default::default()
    };
    let enc = GeometricColorEncoder::new(c).unwrap();
    assert_eq!(enc.dim(), 128 - 24 + 16 + 4);
    assert_eq!(
        enc.encode(&sample(&mug(), 300, 1)).unwrap().len(),
        enc.dim()
    );
}

#[test]
fn encodes_two_thousand_points_well_under_a_millisecond() {
    let enc = GeometricColorEncoder::default();
    let c = sample(&chair(), 2000, 10);
    let mut best = f64::MAX;
    let mut total = 0.0;
    let runs = 50;
    for _ in 0..runs {
        let t = Instant::now();
        let d = enc.encode(&c).unwrap();
        let dt = t.elapsed().as_secs_f64();
        assert_eq!(d.len(), enc.dim());
        best = best.min(dt);
        total += dt;
    }
    println!(
        "encode 2000 points: best {:.1} us, mean {:.1} us",
        best * 1e6,
        total / runs as f64 * 1e6
    );
    // The best of 50 runs resists load from parallel tests; the target is well
    // under 1 ms in release builds.
    assert!(best < 1e-3, "best {best} s");
}
