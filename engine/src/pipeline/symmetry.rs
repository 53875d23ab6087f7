//! A room's own symmetry: whether the map looks the same turned half a turn
//! about a vertical axis through its centre (identical furniture in a
//! symmetric layout), and which of its surface points tell the two apart.
//!
//! In such a room a pose and its turned twin explain the live data about as
//! well, and which one scores higher depends on how completely the reference
//! mapped each half more than on the room: a twin can lead round after round.
//! What decides is the map's *asymmetric* surface: points whose turned place
//! the reference saw empty ([`crate::db::Scene::seen_space`]): an object with
//! no twin, a twin that is not there. Live points lying on those at a pose are
//! evidence for it that its twin cannot have.

use nalgebra::{Translation3, Unit, UnitQuaternion, Vector3};

use crate::db::Scene;
use crate::frame::Pose;
use crate::localise::pairs::Direction;
use crate::localise::verify::{Agreement, LiveSample, VerificationTarget};

/// A turned place this close to a map point (metres) is no evidence of
/// asymmetry: the twin stands a few centimetres off.
const TWIN_REACH_M: f32 = 0.1;

/// The bounds (least and greatest corner) of a scene's structure points;
/// `None` without structure.
pub(crate) fn structure_bounds(scene: &Scene) -> Option<(Vector3<f32>, Vector3<f32>)> {
    let first = scene.structure_points.first()?.coords;
    Some(
        scene
            .structure_points
            .iter()
            .fold((first, first), |(lo, hi), p| {
                (lo.inf(&p.coords), hi.sup(&p.coords))
            }),
    )
}

/// Half a turn about the axis along `dir` through `centre` (map frame);
/// `None` for a zero direction.
pub(crate) fn half_turn(dir: Vector3<f32>, centre: Vector3<f32>) -> Option<Pose> {
    let axis = Unit::try_new(dir, 1e-6)?;
    let q = UnitQuaternion::from_axis_angle(&axis, std::f32::consts::PI);
    Some(Pose::from_parts(Translation3::from(centre - q * centre), q))
}

/// A scene's half-turn symmetry about its most self-similar vertical axis.
#[derive(Debug, Clone)]
pub(crate) struct SceneSymmetry {
    /// The half turn (map frame).
    pub(crate) turn: Pose,
    /// Share of the map's surface points whose turned place lies within the
    /// agreement search radius of a map point.
    pub(crate) similarity: f32,
    /// Per surface point of the verification target: its turned place was
    /// seen empty by the reference and no map point lies near it.
    asymmetric: Vec<bool>,
}

impl SceneSymmetry {
    /// The symmetry of `scene` about the vertical ones of `dirs` (through the
    /// centre of its structure's bounds); `None` without structure, seen
    /// space or a vertical direction.
    pub(crate) fn of(
        scene: &Scene,
        target: &VerificationTarget,
        dirs: &[Direction],
        tol: &Agreement,
    ) -> Option<SceneSymmetry> {
        let space = scene.seen_space.as_ref()?;
        let (lo, hi) = structure_bounds(scene)?;
        let centre = (lo + hi) / 2.0;
        let points = target.surface.points();
        let mut best: Option<(Pose, f32)> = None;
        for d in dirs.iter().filter(|d| d.dir.z.abs() > 0.9) {
            let Some(turn) = half_turn(d.dir, centre) else {
                continue;
            };
            let same = points
                .iter()
                .filter(|p| {
                    target
                        .surface
                        .nearest_within(&(turn * *p), tol.search_radius)
                        .is_some()
                })
                .count();
            let similarity = same as f32 / points.len().max(1) as f32;
            if best.as_ref().is_none_or(|b| similarity > b.1) {
                best = Some((turn, similarity));
            }
        }
        let (turn, similarity) = best?;
        let asymmetric = points
            .iter()
            .map(|p| {
                let t = turn * p;
                space.seen_empty(&t) && target.surface.nearest_within(&t, TWIN_REACH_M).is_none()
            })
            .collect();
        Some(SceneSymmetry {
            turn,
            similarity,
            asymmetric,
        })
    }

    /// Live points of `live` that agree at `T_map_session` with an asymmetric
    /// map point.
    pub(crate) fn evidence(
        &self,
        target: &VerificationTarget,
        live: &LiveSample,
        T_map_session: &Pose,
        tol: &Agreement,
    ) -> usize {
        let (pts, normals) = (target.surface.points(), target.surface.normals());
        live.points
            .iter()
            .zip(&live.normals)
            .filter(|(p, n)| {
                let q = T_map_session * *p;
                let len = n.norm();
                target
                    .surface
                    .nearest_within(&q, tol.search_radius)
                    .is_some_and(|(j, _)| {
                        self.asymmetric.get(j).copied().unwrap_or(false)
                            && len > 1e-6
                            && normals[j].dot(&(q - pts[j])).abs() <= tol.plane_distance
                            && (T_map_session.rotation * *n).dot(&normals[j]).abs()
                                >= tol.min_cos * len
                    })
            })
            .count()
    }
}
