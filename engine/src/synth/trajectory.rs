//! Hand-held camera trajectories through a room: a person walking a smooth loop
//! about a metre from the walls at head height, looking into the room.
//!
//! Guarantees (tested): camera centres stay inside the floor plan at least
//! [`MIN_WALL_DISTANCE`] from every wall, at heights in
//! [`CAMERA_MIN_HEIGHT`]..=[`CAMERA_MAX_HEIGHT`], outside every object's bounding
//! box grown by 10 cm; frame-to-frame motion is at most [`MAX_STEP_M`] and
//! [`MAX_TURN_DEG`] (a person at 30 fps); roll stays within ±3°. The reference
//! scan's walk starts at the loop's first corner and, given enough frames, goes
//! once around the room; rescans start elsewhere, may walk the other way, cover
//! part of the loop and look in other directions. Poses are `T_map_camera` with
//! the camera frame x right, y down, z forward.

use std::f32::consts::{PI, TAU};

use nalgebra::{Matrix3, Point2, Point3, Rotation3, UnitQuaternion, Vector2, Vector3};

use super::footprint::Footprint;
use super::room::Room;
use crate::frame::Pose;
use crate::rng::Rng;

/// Lowest camera height, metres.
pub const CAMERA_MIN_HEIGHT: f32 = 1.4;
/// Highest camera height, metres.
pub const CAMERA_MAX_HEIGHT: f32 = 1.8;
/// Least distance of the camera centre from any wall, metres.
pub const MIN_WALL_DISTANCE: f32 = 0.5;
/// Largest camera translation between consecutive frames, metres.
pub const MAX_STEP_M: f32 = 0.05;
/// Largest camera rotation between consecutive frames, degrees.
pub const MAX_TURN_DEG: f32 = 6.0;

/// Largest change of the walker's heading between frames, radians (2°).
const MAX_BASE_TURN: f32 = 0.035;

/// `T_map_camera` for a camera at `position` looking along heading `yaw` (from map
/// x towards map y), tilted up by `pitch` and rolled by `roll` (radians).
pub fn camera_pose(position: Point3<f32>, yaw: f32, pitch: f32, roll: f32) -> Pose {
    let f = Vector3::new(
        pitch.cos() * yaw.cos(),
        pitch.cos() * yaw.sin(),
        pitch.sin(),
    );
    let r0 = Vector3::new(yaw.sin(), -yaw.cos(), 0.0);
    let d0 = f.cross(&r0);
    let (s, c) = roll.sin_cos();
    let r = r0 * c + d0 * s;
    let d = d0 * c - r0 * s;
    let m = Matrix3::from_columns(&[r, d, f]);
    let rot = UnitQuaternion::from_rotation_matrix(&Rotation3::from_matrix_unchecked(m));
    Pose::from_parts(position.coords.into(), rot)
}

/// A closed, smoothed loop inside the room.
struct LoopPath {
    pts: Vec<Point2<f32>>,
    inward: Vec<Vector2<f32>>,
    cum: Vec<f32>,
    total: f32,
}

const STEP: f32 = 0.02;

impl LoopPath {
    fn new(room: &Room, inset: f32, height: f32) -> Option<LoopPath> {
        let corners = room.plan.inset_outline(inset);
        let mut dense: Vec<Point2<f32>> = Vec::new();
        for i in 0..corners.len() {
            let (a, b) = (*corners.get(i)?, *corners.get((i + 1) % corners.len())?);
            let n = (((b - a).norm() / STEP).ceil() as usize).max(1);
            for k in 0..n {
                dense.push(a + (b - a) * (k as f32 / n as f32));
            }
        }
        let n = dense.len();
        if n < 8 {
            return None;
        }
        // walk around furniture: low pieces when possible (soft), tall ones always
        // (hard; they stand at the walls, so the loop passes them anyway)
        let grown = |o: &super::objects::Object, g: f32| {
            let mut f = Footprint::of(&o.model, &o.T_map_object);
            f.half += Vector2::repeat(g);
            f
        };
        let is_tall = |o: &super::objects::Object| {
            o.T_map_object.translation.z + o.model.height() > height - 0.5
        };
        let hard: Vec<Footprint> = room
            .objects
            .iter()
            .filter(|o| is_tall(o))
            .map(|o| grown(o, 0.3))
            .collect();
        let soft: Vec<Footprint> = room
            .objects
            .iter()
            .filter(|o| o.support.is_none() && !is_tall(o) && o.model.height() > 0.3)
            .map(|o| grown(o, 0.25))
            .collect();
        let clear = |q: Point2<f32>| {
            room.plan.contains_with_margin(q, MIN_WALL_DISTANCE + 0.15)
                && hard.iter().all(|f| !f.contains_point(q, 0.0))
        };
        for _ in 0..3 {
            for p in dense.iter_mut() {
                for f in &soft {
                    if let Some(q) = push_out(f, *p)
                        && clear(q)
                    {
                        *p = q;
                    }
                }
            }
        }
        for p in dense.iter_mut() {
            for f in &hard {
                if let Some(q) = push_out(f, *p)
                    && room.plan.contains_with_margin(q, MIN_WALL_DISTANCE + 0.15)
                {
                    *p = q;
                }
            }
        }
        let w = (0.4 / STEP) as isize;
        let at = |v: &Vec<Point2<f32>>, i: isize| v[i.rem_euclid(n as isize) as usize];
        let pts: Vec<Point2<f32>> = (0..n as isize)
            .map(|i| {
                let s: Vector2<f32> = (-w..=w).map(|k| at(&dense, i + k).coords).sum();
                Point2::from(s / (2 * w + 1) as f32)
            })
            .collect();
        let normals: Vec<Vector2<f32>> = (0..n as isize)
            .map(|i| {
                let t = at(&pts, i + 1) - at(&pts, i - 1);
                Vector2::new(-t.y, t.x)
                    .try_normalize(1e-9)
                    .unwrap_or_else(Vector2::x)
            })
            .collect();
        let wn = (0.8 / STEP) as isize;
        let inward: Vec<Vector2<f32>> = (0..n as isize)
            .map(|i| {
                let s: Vector2<f32> = (-wn..=wn)
                    .map(|k| normals[(i + k).rem_euclid(n as isize) as usize])
                    .sum();
                s.try_normalize(1e-9).unwrap_or_else(Vector2::x)
            })
            .collect();
        let mut cum = Vec::with_capacity(n + 1);
        let mut acc = 0.0;
        cum.push(0.0);
        for i in 0..n {
            acc += (pts[(i + 1) % n] - pts[i]).norm();
            cum.push(acc);
        }
        Some(LoopPath {
            pts,
            inward,
            cum,
            total: acc,
        })
    }

    /// Position and smoothed inward direction at arc length `s` (wrapping).
    fn at(&self, s: f32) -> (Point2<f32>, Vector2<f32>) {
        let n = self.pts.len();
        let s = s.rem_euclid(self.total.max(1e-6));
        let i = self
            .cum
            .partition_point(|&c| c <= s)
            .saturating_sub(1)
            .min(n - 1);
        let seg = (self.cum[i + 1] - self.cum[i]).max(1e-9);
        let t = ((s - self.cum[i]) / seg).clamp(0.0, 1.0);
        let (a, b) = (self.pts[i], self.pts[(i + 1) % n]);
        let (na, nb) = (self.inward[i], self.inward[(i + 1) % n]);
        let dir = (na * (1.0 - t) + nb * t).try_normalize(1e-9).unwrap_or(na);
        (a + (b - a) * t, dir)
    }
}

/// The nearest point just outside footprint `f` when `p` is inside it.
fn push_out(f: &Footprint, p: Point2<f32>) -> Option<Point2<f32>> {
    if !f.contains_point(p, 0.0) {
        return None;
    }
    let (ax, ay) = f.axes();
    let d = p - f.centre;
    let (dx, dy) = (d.dot(&ax), d.dot(&ay));
    let sign = |v: f32| if v < 0.0 { -1.0 } else { 1.0 };
    let push = if f.half.x - dx.abs() < f.half.y - dy.abs() {
        ax * (sign(dx) * f.half.x - dx)
    } else {
        ay * (sign(dy) * f.half.y - dy)
    };
    Some(p + push * 1.01)
}

/// Parameters of one walk.
struct Walk {
    start: f32,
    direction: f32,
    inset: f32,
    speed: f32,
    height: f32,
    yaw_bias: f32,
    pan_amp: f32,
    pan_period: f32,
    pitch: f32,
    /// A point (map x, y) the walker keeps looking towards instead of straight
    /// into the room from the path.
    focus: Option<Point2<f32>>,
}

/// Smooth random wobble: a sum of two sines with random phases, in `[-1, 1]`.
struct Wobble {
    p1: f32,
    p2: f32,
    f1: f32,
    f2: f32,
}

impl Wobble {
    fn new(rng: &mut Rng, period_frames: f32) -> Wobble {
        Wobble {
            p1: rng.range(0.0, TAU),
            p2: rng.range(0.0, TAU),
            f1: TAU / (period_frames * rng.range(0.8, 1.25)),
            f2: TAU / (period_frames * rng.range(0.37, 0.53)),
        }
    }

    fn at(&self, i: f32) -> f32 {
        0.7 * (self.f1 * i + self.p1).sin() + 0.3 * (self.f2 * i + self.p2).sin()
    }
}

fn walk(room: &Room, frames: usize, w: &Walk, rng: &mut Rng) -> Vec<Pose> {
    let Some(path) = LoopPath::new(room, w.inset, w.height) else {
        // degenerate room: stand in the middle and look around
        let c = room
            .plan
            .random_point(0.0, rng)
            .unwrap_or_else(Point2::origin);
        return (0..frames)
            .map(|i| {
                camera_pose(
                    Point3::new(c.x, c.y, w.height),
                    i as f32 * 0.02,
                    w.pitch,
                    0.0,
                )
            })
            .collect();
    };
    let speed_wobble = Wobble::new(rng, 120.0);
    let pan = Wobble::new(rng, w.pan_period);
    let tilt = Wobble::new(rng, 160.0);
    let roll = Wobble::new(rng, 90.0);
    let shake = Wobble::new(rng, 14.0);
    let mut s = w.start;
    let mut out = Vec::with_capacity(frames);
    let mut base: Option<f32> = None;
    for i in 0..frames {
        let fi = i as f32;
        let (p, inward) = path.at(s);
        let bob = 0.012 * (TAU * fi / 17.0).sin() * (w.speed / 0.03).min(1.0);
        // the walker's heading into the room (or towards the focus), turning at
        // most MAX_BASE_TURN per frame
        let target = match w.focus {
            Some(f) if (f - p).norm() > 0.5 => (f.y - p.y).atan2(f.x - p.x),
            _ => inward.y.atan2(inward.x),
        };
        let b = match base {
            None => target,
            Some(prev) => {
                let d = (target - prev + PI).rem_euclid(TAU) - PI;
                prev + d.clamp(-MAX_BASE_TURN, MAX_BASE_TURN)
            }
        };
        base = Some(b);
        let yaw = b + w.yaw_bias + w.pan_amp * pan.at(fi) + 0.006 * shake.at(fi);
        let pitch = w.pitch + 0.12 * tilt.at(fi) + 0.004 * shake.at(fi + 3.0);
        let r = 0.025 * roll.at(fi);
        out.push(camera_pose(
            Point3::new(p.x, p.y, w.height + bob),
            yaw,
            pitch,
            r,
        ));
        s += w.direction * w.speed * (1.0 + 0.2 * speed_wobble.at(fi));
    }
    out
}

fn max_inset(room: &Room) -> f32 {
    let (lo, hi) = room.plan.bounds();
    let mut narrow = (hi.x - lo.x).min(hi.y - lo.y);
    for r in &room.plan.rects {
        narrow = narrow.min((r[2] - r[0]).max(r[3] - r[1]));
    }
    (0.5 * narrow - 0.35).max(MIN_WALL_DISTANCE + 0.1)
}

/// The mean position (map x, y) of the room's objects, if it has any.
fn furniture_centre(room: &Room) -> Option<Point2<f32>> {
    if room.objects.is_empty() {
        return None;
    }
    let n = room.objects.len() as f32;
    let sum = room.objects.iter().fold(Vector2::zeros(), |a, o| {
        let t = o.T_map_object.translation.vector;
        a + Vector2::new(t.x, t.y)
    });
    Some(Point2::from(sum / n))
}

/// The reference scan's walk: once around the room (when `frames` allows at
/// ≤ 3.5 cm per frame), looking into the room with a slow pan.
pub fn reference_trajectory(room: &Room, frames: usize, rng: &mut Rng) -> Vec<Pose> {
    let inset = 1.1f32.min(max_inset(room));
    let perimeter = LoopPath::new(room, inset, 1.6)
        .map(|p| p.total)
        .unwrap_or(1.0);
    let w = Walk {
        start: 0.0,
        direction: 1.0,
        inset,
        speed: (perimeter / frames.max(1) as f32).clamp(0.008, 0.035),
        height: rng.range(1.48, 1.72),
        yaw_bias: 0.0,
        pan_amp: rng.range(0.45, 0.65),
        pan_period: rng.range(150.0, 220.0),
        pitch: -rng.range(0.2, 0.38),
        focus: None,
    };
    walk(room, frames, &w, rng)
}

/// A rescan's walk: partial coverage starting a quarter to three quarters of the
/// loop away from the reference start, either direction, looking towards the
/// room's furniture (the mean of the object positions) a little off-centre, as a
/// person rescanning a room does.
pub fn rescan_trajectory(room: &Room, frames: usize, rng: &mut Rng) -> Vec<Pose> {
    let inset = rng.range(0.95, 1.35).min(max_inset(room));
    let perimeter = LoopPath::new(room, inset, 1.6)
        .map(|p| p.total)
        .unwrap_or(1.0);
    let speed = rng
        .range(0.012, 0.03)
        .min(0.55 * perimeter / frames.max(1) as f32)
        .max(0.004);
    let bias = rng.range(0.1, 0.35) * if rng.chance(0.5) { 1.0 } else { -1.0 };
    let w = Walk {
        start: perimeter * rng.range(0.25, 0.75),
        direction: if rng.chance(0.5) { 1.0 } else { -1.0 },
        inset,
        speed,
        height: rng.range(1.45, 1.75),
        yaw_bias: bias,
        pan_amp: rng.range(0.3, 0.45),
        pan_period: rng.range(130.0, 200.0),
        pitch: -rng.range(0.15, 0.45),
        focus: furniture_centre(room),
    };
    walk(room, frames, &w, rng)
}

const TRAJECTORY_STREAM: u64 = 0x5452_414A_0000_0000;

/// The trajectory of scan `scan` (0 = reference) of `room`, deterministic in
/// `(seed, room.index, scan, frames)`.
pub fn scan_trajectory(room: &Room, seed: u64, scan: usize, frames: usize) -> Vec<Pose> {
    let mut rng = Rng::derive(
        seed,
        TRAJECTORY_STREAM | ((room.index as u64) << 16) | scan as u64,
    );
    if scan == 0 {
        reference_trajectory(room, frames, &mut rng)
    } else {
        rescan_trajectory(room, frames, &mut rng)
    }
}

/// Angle between the viewing directions of two camera poses, degrees.
pub fn turn_deg(a: &Pose, b: &Pose) -> f32 {
    (a.rotation.inverse() * b.rotation).angle().to_degrees()
}

/// The roll of a camera pose (rotation of its x axis out of the horizontal), radians.
pub fn roll_of(T_map_camera: &Pose) -> f32 {
    let x = T_map_camera.rotation * Vector3::x();
    let f = T_map_camera.rotation * Vector3::z();
    let level = f.cross(&Vector3::z());
    let level = level.try_normalize(1e-9).unwrap_or(x);
    let s = x.cross(&level).dot(&f);
    s.atan2(x.dot(&level)).clamp(-PI, PI)
}
