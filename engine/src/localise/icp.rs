//! Point-to-plane ICP refinement of `T_map_session` against a fixed map surface.
//!
//! The target (map-frame surface samples with unit normals) is indexed once in a
//! k-d tree ([`IcpTarget`]) and reused for every source cloud. Each iteration
//! pairs every source point (moved by the current pose) with its nearest target
//! point within a maximum distance that shrinks geometrically from
//! `initial_max_distance` to `final_max_distance`, weights the point-to-plane
//! residuals with a robust kernel whose scale follows the current distance, and
//! solves the 6×6 Gauss–Newton normal equations in `f64`. Directions the geometry
//! does not constrain (e.g. sliding along a single plane) get no update and are
//! counted in [`IcpResult::degenerate_directions`] instead of drifting.
//!
//! Guarantees: lengths in metres; the returned pose maps session points into
//! the map frame; it converged when, at the final distance, an update moved it by
//! less than `translation_epsilon_m` and `rotation_epsilon_rad`. A source that
//! does not overlap the target is not an error: it gives a low
//! [`IcpResult::fitness`], which callers gate on.

use kiddo::{ImmutableKdTree, SquaredEuclidean};

use super::near_cells::NearCells;

use super::closest_grid::ClosestPointGrid;
use nalgebra::{Isometry3, Matrix6, Point3, Translation3, UnitQuaternion, Vector3, Vector6};
use serde::{Deserialize, Serialize};

use super::error::RegistrationError;
use crate::frame::Pose;

/// Robust weighting of point-to-plane residuals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RobustKernel {
    /// Plain least squares.
    None,
    /// Huber: weight `min(1, k/|r|)`.
    Huber,
    /// Tukey biweight: weight `(1 − (r/k)²)²` for `|r| < k`, else 0.
    Tukey,
}

/// ICP settings (lengths in metres).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IcpConfig {
    /// Most Gauss–Newton iterations.
    pub max_iterations: usize,
    /// Correspondence distance of the first iteration.
    pub initial_max_distance: f32,
    /// Correspondence distance the schedule shrinks to; also the distance
    /// [`IcpResult::fitness`] is measured at.
    pub final_max_distance: f32,
    /// Factor applied to the distance after each iteration, in `(0, 1]`.
    pub shrink: f32,
    /// Robust kernel.
    pub kernel: RobustKernel,
    /// Kernel scale `k` as a fraction of the current maximum distance.
    pub kernel_scale: f32,
    /// Fewest correspondences an iteration needs; with fewer, ICP stops.
    pub min_correspondences: usize,
    /// Convergence bound on the translation update.
    pub translation_epsilon_m: f32,
    /// Convergence bound on the rotation update, radians.
    pub rotation_epsilon_rad: f32,
    /// Eigenvalues of the normal matrix below this fraction of the largest are
    /// treated as unconstrained directions.
    pub degeneracy_ratio: f64,
}

impl Default for IcpConfig {
    fn default() -> Self {
        IcpConfig {
            max_iterations: 50,
            initial_max_distance: 1.0,
            final_max_distance: 0.05,
            shrink: 0.75,
            kernel: RobustKernel::Tukey,
            kernel_scale: 1.0,
            min_correspondences: 12,
            translation_epsilon_m: 1e-4,
            rotation_epsilon_rad: 1e-4,
            degeneracy_ratio: 1e-6,
        }
    }
}

impl IcpConfig {
    /// Checks every value's range.
    pub fn validate(&self) -> Result<(), RegistrationError> {
        let positive = |v: f32| v.is_finite() && v > 0.0;
        if !positive(self.initial_max_distance)
            || !positive(self.final_max_distance)
            || self.final_max_distance > self.initial_max_distance
        {
            return Err(RegistrationError::config(format!(
                "need 0 < final_max_distance ({}) <= initial_max_distance ({})",
                self.final_max_distance, self.initial_max_distance
            )));
        }
        if !(positive(self.shrink) && self.shrink <= 1.0) {
            return Err(RegistrationError::config(format!(
                "shrink must be in (0, 1], got {}",
                self.shrink
            )));
        }
        if !positive(self.kernel_scale) {
            return Err(RegistrationError::config("kernel_scale must be positive"));
        }
        let non_negative = |v: f32| v.is_finite() && v >= 0.0;
        if !non_negative(self.translation_epsilon_m) || !non_negative(self.rotation_epsilon_rad) {
            return Err(RegistrationError::config(
                "convergence epsilons must be finite and >= 0",
            ));
        }
        if !(self.degeneracy_ratio.is_finite() && self.degeneracy_ratio >= 0.0) {
            return Err(RegistrationError::config(
                "degeneracy_ratio must be finite and >= 0",
            ));
        }
        Ok(())
    }
}

/// The refined pose and its quality.
#[derive(Debug, Clone, PartialEq)]
pub struct IcpResult {
    /// Maps session points into the map frame.
    pub T_map_session: Pose,
    /// Share of (finite) source points whose nearest target point lies within
    /// `final_max_distance` at the returned pose, in `[0, 1]`.
    pub fitness: f32,
    /// Root mean square point-to-plane residual of those points, metres.
    pub inlier_rmse: f32,
    /// Pose updates applied (an iteration that found too few correspondences
    /// stops ICP without counting).
    pub iterations: usize,
    /// True when the convergence criteria were met.
    pub converged: bool,
    /// Unconstrained directions (0–6) in the last solve.
    pub degenerate_directions: usize,
}

/// Edge of the cells of [`IcpTarget`]'s occupancy prefilter, metres.
const NEAR_CELL_M: f32 = 0.25;
/// Cells of dilation of the prefilter: every point within
/// `NEAR_DILATION × NEAR_CELL_M` of a target point is in a marked cell.
const NEAR_DILATION: usize = 2;

/// The fixed map-frame surface ICP aligns to, indexed once for many queries.
///
/// Besides the k-d tree it keeps the set of coarse cells near the surface: a
/// nearest-neighbour search for a point far from every target point (as a wrong
/// hypothesis puts many) explores much of the tree, while the cell test answers
/// "nothing within the radius" at once.
pub struct IcpTarget {
    tree: ImmutableKdTree<f32, 3>,
    points: Vec<Point3<f32>>,
    normals: Vec<Vector3<f32>>,
    near: NearCells,
    /// Optional closest-point table, answering radius-bounded queries within its
    /// reach ([`IcpTarget::with_lookup`]).
    lookup: Option<ClosestPointGrid>,
}

impl std::fmt::Debug for IcpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IcpTarget")
            .field("points", &self.points.len())
            .finish_non_exhaustive()
    }
}

impl IcpTarget {
    /// Indexes map-frame `points` with their `normals` (any non-zero length;
    /// they are normalised).
    ///
    /// # Errors
    /// Empty or mismatched inputs, non-finite values, zero normals, or more
    /// points than the index can hold (`u32::MAX`).
    pub fn new(
        points: Vec<Point3<f32>>,
        normals: Vec<Vector3<f32>>,
    ) -> Result<IcpTarget, RegistrationError> {
        if points.len() != normals.len() {
            return Err(RegistrationError::LengthMismatch {
                what: "target points and normals",
                left: points.len(),
                right: normals.len(),
            });
        }
        if points.is_empty() {
            return Err(RegistrationError::TooFewPoints {
                what: "ICP target",
                found: 0,
                needed: 1,
            });
        }
        let mut unit = Vec::with_capacity(normals.len());
        for (index, (p, n)) in points.iter().zip(&normals).enumerate() {
            if !p.coords.iter().chain(n.iter()).all(|v| v.is_finite()) {
                return Err(RegistrationError::NonFinite {
                    what: "ICP target",
                    index,
                });
            }
            let len = n.norm();
            if len <= 1e-12 {
                return Err(RegistrationError::ZeroNormal { index });
            }
            unit.push(n / len);
        }
        let coords: Vec<[f32; 3]> = points.iter().map(|p| [p.x, p.y, p.z]).collect();
        let tree =
            ImmutableKdTree::new_from_slice(&coords).map_err(|e| RegistrationError::Index {
                message: e.to_string(),
            })?;
        let near = NearCells::new(&points, NEAR_CELL_M, NEAR_DILATION);
        Ok(IcpTarget {
            tree,
            points,
            normals: unit,
            near,
            lookup: None,
        })
    }

    /// This target with a closest-point table of `cell` metres filled within
    /// `reach` metres of the points (at most `max_cells` cells; beyond that the
    /// target stays as it is). With it, radius-bounded queries up to `reach`
    /// ([`IcpTarget::nearest_within`], ICP correspondences) return the point
    /// nearest the query's cell centre, within half a cell diagonal of the true
    /// nearest distance: for coarse registration stages, not final accuracy.
    pub fn with_lookup(mut self, cell: f32, reach: f32, max_cells: usize) -> IcpTarget {
        self.lookup = ClosestPointGrid::new(&self.points, cell, reach, max_cells);
        self
    }

    /// The closest-point table, when there is one.
    pub fn lookup(&self) -> Option<&ClosestPointGrid> {
        self.lookup.as_ref()
    }

    /// The target points, map frame.
    pub fn points(&self) -> &[Point3<f32>] {
        &self.points
    }

    /// The unit normals, one per point.
    pub fn normals(&self) -> &[Vector3<f32>] {
        &self.normals
    }

    /// Number of target points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// True when the target has no points (never, for a constructed target).
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The nearest target point to `p` (map frame): its index and distance.
    pub fn nearest(&self, p: &Point3<f32>) -> Option<(usize, f32)> {
        let r = self
            .tree
            .query(&[p.x, p.y, p.z])
            .nearest_one::<SquaredEuclidean<f32>>()
            .execute();
        let i = r.item as usize;
        (i < self.points.len()).then(|| (i, r.distance.max(0.0).sqrt()))
    }

    /// The nearest target point to `p` if it lies within `radius`: its index and
    /// distance. Far points are answered from the occupancy cells without a tree
    /// search when `radius` is within the cells' reach (0.5 m). With a
    /// closest-point table ([`IcpTarget::with_lookup`]) and `radius` within its
    /// reach, the table answers (approximately) instead.
    pub fn nearest_within(&self, p: &Point3<f32>, radius: f32) -> Option<(usize, f32)> {
        if let Some(g) = self.lookup.as_ref().filter(|g| radius <= g.reach()) {
            let i = g.nearest(p)?;
            let d = (self.points.get(i)? - p).norm();
            return (d <= radius).then_some((i, d));
        }
        if radius <= NEAR_CELL_M * NEAR_DILATION as f32 && !self.near.contains(p) {
            return None;
        }
        self.nearest(p).filter(|&(_, d)| d <= radius)
    }

    /// Nearest target point and normal within `max_dist` of `p`. An unbounded
    /// nearest-neighbour query then a distance test: measured faster than
    /// kiddo's radius-bounded `nearest_n(1).within(r)` for points near the surface
    /// (the common case once ICP is close), slower for points far from it.
    fn pair(&self, p: &Point3<f32>, max_dist: f32) -> Option<(&Point3<f32>, &Vector3<f32>)> {
        let (i, _) = self.nearest_within(p, max_dist)?;
        Some((self.points.get(i)?, self.normals.get(i)?))
    }

    /// Refines `init` (`T_map_session`) so that `source_session` lies on the
    /// target surface. Non-finite source points are ignored.
    ///
    /// # Errors
    /// An invalid config, a non-finite `init`, or fewer than
    /// `min_correspondences` finite source points.
    pub fn refine(
        &self,
        source_session: &[Point3<f32>],
        init: &Pose,
        cfg: &IcpConfig,
    ) -> Result<IcpResult, RegistrationError> {
        self.refine_scored(source_session, init, cfg, true)
    }

    /// [`IcpTarget::refine`] without the closing fitness pass, for callers that
    /// judge the pose their own way: the same pose, convergence and iterations,
    /// with `fitness` and `inlier_rmse` left at 0.
    ///
    /// # Errors
    /// As [`IcpTarget::refine`].
    pub fn refine_unscored(
        &self,
        source_session: &[Point3<f32>],
        init: &Pose,
        cfg: &IcpConfig,
    ) -> Result<IcpResult, RegistrationError> {
        self.refine_scored(source_session, init, cfg, false)
    }

    fn refine_scored(
        &self,
        source_session: &[Point3<f32>],
        init: &Pose,
        cfg: &IcpConfig,
        score: bool,
    ) -> Result<IcpResult, RegistrationError> {
        cfg.validate()?;
        let init_ok = init.translation.vector.iter().all(|v| v.is_finite())
            && init.rotation.coords.iter().all(|v| v.is_finite());
        if !init_ok {
            return Err(RegistrationError::NonFinite {
                what: "ICP initial pose",
                index: 0,
            });
        }
        let source: Vec<Point3<f32>> = source_session
            .iter()
            .filter(|p| p.coords.iter().all(|v| v.is_finite()))
            .copied()
            .collect();
        let needed = cfg.min_correspondences.max(6);
        if source.len() < needed {
            return Err(RegistrationError::TooFewPoints {
                what: "ICP source",
                found: source.len(),
                needed,
            });
        }

        let mut T: Isometry3<f64> = init.cast::<f64>();
        let mut max_dist = cfg.initial_max_distance;
        let mut iterations = 0;
        let mut converged = false;
        let mut degenerate = 0;
        let mut moved = Vec::with_capacity(source.len());
        for _ in 0..cfg.max_iterations {
            let T32: Pose = T.cast::<f32>();
            moved.clear();
            moved.extend(source.iter().map(|p| T32 * p));
            let centre = moved.iter().map(|p| p.coords).sum::<Vector3<f32>>() / moved.len() as f32;
            let centre = centre.cast::<f64>();
            let k = (cfg.kernel_scale * max_dist) as f64;

            let mut a = Matrix6::<f64>::zeros();
            let mut b = Vector6::<f64>::zeros();
            let mut count = 0usize;
            for p in &moved {
                let Some((q, n)) = self.pair(p, max_dist) else {
                    continue;
                };
                let n = n.cast::<f64>();
                let p64 = p.coords.cast::<f64>();
                let r = n.dot(&(p64 - q.coords.cast::<f64>()));
                let w = kernel_weight(cfg.kernel, r, k);
                if w <= 0.0 {
                    continue;
                }
                let c = (p64 - centre).cross(&n);
                let j = Vector6::new(c.x, c.y, c.z, n.x, n.y, n.z);
                a += j * j.transpose() * w;
                b -= j * (w * r);
                count += 1;
            }
            if count < needed {
                log::debug!("icp: {count} correspondences at {max_dist:.3} m, stopping");
                break;
            }
            let (xi, deg) = solve_constrained(&a, &b, cfg.degeneracy_ratio)?;
            iterations += 1;
            degenerate = deg;
            let omega = Vector3::new(xi[0], xi[1], xi[2]);
            let v = Vector3::new(xi[3], xi[4], xi[5]);
            // p ↦ centre + R(ω)(p − centre) + v, applied after the current pose.
            let delta = Isometry3::from_parts(
                Translation3::from(centre + v),
                UnitQuaternion::from_scaled_axis(omega),
            ) * Translation3::from(-centre);
            T = delta * T;
            let small = v.norm() < cfg.translation_epsilon_m as f64
                && omega.norm() < cfg.rotation_epsilon_rad as f64;
            let at_final = max_dist <= cfg.final_max_distance;
            log::trace!(
                "icp iter {iterations}: {count} pairs, d {max_dist:.3}, |v| {:.2e}, |w| {:.2e}",
                v.norm(),
                omega.norm()
            );
            if small && at_final {
                converged = true;
                break;
            }
            max_dist = (max_dist * cfg.shrink).max(cfg.final_max_distance);
        }

        let T_map_session: Pose = T.cast::<f32>();
        let (fitness, inlier_rmse) = if score {
            self.fitness(&source, &T_map_session, cfg.final_max_distance)
        } else {
            (0.0, 0.0)
        };
        Ok(IcpResult {
            T_map_session,
            fitness,
            inlier_rmse,
            iterations,
            converged,
            degenerate_directions: degenerate,
        })
    }

    /// Two-stage refinement: `coarse` (a wide correspondence radius that shrinks to
    /// about 10 cm, where a pose a few degrees off still pairs the far walls with
    /// themselves) and then `polish` from its result (a tight radius for the final
    /// accuracy). One tight schedule alone settles in a local minimum a degree or
    /// two off when it starts 10° away; the coarse stage alone leaves millimetres on
    /// the table. The result is the polish stage's, with the iterations of both.
    pub fn refine_staged(
        &self,
        source_session: &[Point3<f32>],
        init: &Pose,
        coarse: &IcpConfig,
        polish: &IcpConfig,
    ) -> Result<IcpResult, RegistrationError> {
        let first = self.refine(source_session, init, coarse)?;
        let mut second = self.refine(source_session, &first.T_map_session, polish)?;
        second.iterations += first.iterations;
        Ok(second)
    }

    /// Share of `source` points within `max_dist` of the target at `T`, and the
    /// RMS point-to-plane residual of those points.
    fn fitness(&self, source: &[Point3<f32>], T: &Pose, max_dist: f32) -> (f32, f32) {
        let mut count = 0usize;
        let mut sq = 0.0f64;
        for p in source {
            let p = T * p;
            if let Some((q, n)) = self.pair(&p, max_dist) {
                let r = n.dot(&(p - q)) as f64;
                sq += r * r;
                count += 1;
            }
        }
        if count == 0 || source.is_empty() {
            return (0.0, 0.0);
        }
        (
            count as f32 / source.len() as f32,
            (sq / count as f64).sqrt() as f32,
        )
    }
}

/// Robust weight of residual `r` with kernel scale `k`.
fn kernel_weight(kernel: RobustKernel, r: f64, k: f64) -> f64 {
    let a = r.abs();
    match kernel {
        RobustKernel::None => 1.0,
        RobustKernel::Huber => {
            if a <= k {
                1.0
            } else {
                k / a
            }
        }
        RobustKernel::Tukey => {
            if a >= k {
                0.0
            } else {
                let u = 1.0 - (a / k) * (a / k);
                u * u
            }
        }
    }
}

/// Solves `A x = b` (A symmetric positive semi-definite) in the eigenbasis of A,
/// leaving out directions whose eigenvalue is below `ratio` times the largest.
/// Returns the solution and the number of left-out directions.
fn solve_constrained(
    a: &Matrix6<f64>,
    b: &Vector6<f64>,
    ratio: f64,
) -> Result<(Vector6<f64>, usize), RegistrationError> {
    let eig = a.try_symmetric_eigen(f64::EPSILON, 10_000).ok_or_else(|| {
        RegistrationError::Numerical {
            message: "6x6 eigen decomposition did not converge".into(),
        }
    })?;
    let max = eig.eigenvalues.iter().fold(0.0f64, |m, &v| m.max(v));
    let mut x = Vector6::zeros();
    let mut left_out = 0;
    for (i, &lambda) in eig.eigenvalues.iter().enumerate() {
        if max <= 0.0 || lambda <= ratio * max {
            left_out += 1;
            continue;
        }
        let v = eig.eigenvectors.column(i);
        x += v * (v.dot(b) / lambda);
    }
    Ok((x, left_out))
}

/// One-shot point-to-plane ICP: indexes the target, then refines `init`. Build an
/// [`IcpTarget`] instead when the target is reused.
///
/// # Errors
/// See [`IcpTarget::new`] and [`IcpTarget::refine`].
pub fn refine_point_to_plane(
    source_session: &[Point3<f32>],
    target_map: &[Point3<f32>],
    target_normals: &[Vector3<f32>],
    init: &Pose,
    cfg: &IcpConfig,
) -> Result<IcpResult, RegistrationError> {
    IcpTarget::new(target_map.to_vec(), target_normals.to_vec())?.refine(source_session, init, cfg)
}
