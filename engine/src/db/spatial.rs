//! Spatial queries within one scene, on k-d trees (kiddo 6): instance centroids
//! and surface samples (instance points and floor/wall structure points).
//!
//! Guarantees:
//! - Positions and radii are in the map frame, metres; returned distances are
//!   Euclidean (not squared).
//! - Exact queries. Results are sorted by distance, then by index; radius queries
//!   include points at exactly `radius`. When several points tie at the k-th
//!   distance of a nearest query, which of them is kept is up to the tree.
//! - Points with a non-finite coordinate are left out of the trees (logged); a
//!   query at a non-finite position, or with a negative or NaN radius, returns
//!   nothing.

use std::num::NonZeroUsize;

use kiddo::{ImmutableKdTree, SquaredEuclidean};
use nalgebra::Point3;

use super::error::DbError;
use super::model::{InstanceIdx, Scene};

/// Which surface a surface sample belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SurfaceOwner {
    /// `Scene::instances[i].points`.
    Instance(InstanceIdx),
    /// `Scene::structure_points`.
    Structure,
}

/// A surface sample found by a query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurfaceHit {
    /// Euclidean distance from the query, metres.
    pub distance: f32,
    /// The surface the sample belongs to.
    pub owner: SurfaceOwner,
    /// Index of the sample in its owner's point list.
    pub index: usize,
}

/// A k-d tree over 3-D points with a mapping from tree item to caller index.
struct PointTree<I> {
    tree: Option<ImmutableKdTree<f32, 3>>,
    items: Vec<I>,
}

impl<I> std::fmt::Debug for PointTree<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PointTree")
            .field("len", &self.items.len())
            .finish()
    }
}

fn finite(p: &Point3<f32>) -> bool {
    p.coords.iter().all(|v| v.is_finite())
}

impl<I: Copy + Ord> PointTree<I> {
    fn build(points: impl Iterator<Item = (Point3<f32>, I)>, what: &str) -> Result<Self, DbError> {
        let mut coords = Vec::new();
        let mut items = Vec::new();
        let mut skipped = 0usize;
        for (p, i) in points {
            if finite(&p) {
                coords.push([p.x, p.y, p.z]);
                items.push(i);
            } else {
                skipped += 1;
            }
        }
        if skipped > 0 {
            log::warn!("spatial index: {skipped} {what} with non-finite coordinates left out");
        }
        let tree = if coords.is_empty() {
            None
        } else {
            Some(ImmutableKdTree::new_from_slice(&coords).map_err(|e| {
                DbError::Invalid(format!("cannot build a k-d tree over {what}: {e}"))
            })?)
        };
        Ok(PointTree { tree, items })
    }

    fn len(&self) -> usize {
        self.items.len()
    }

    fn collect(&self, found: impl Iterator<Item = (f32, u32)>) -> Vec<(f32, I)> {
        let mut out: Vec<(f32, I)> = found
            .filter_map(|(d2, item)| {
                self.items
                    .get(item as usize)
                    .map(|&i| (d2.max(0.0).sqrt(), i))
            })
            .collect();
        out.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        out
    }

    fn within(&self, p: &Point3<f32>, radius: f32) -> Vec<(f32, I)> {
        let Some(tree) = &self.tree else {
            return Vec::new();
        };
        if !finite(p) || radius.is_nan() || radius < 0.0 {
            return Vec::new();
        }
        let q = [p.x, p.y, p.z];
        let found = tree
            .query(&q)
            .within::<SquaredEuclidean<f32>>(radius * radius)
            .execute();
        self.collect(found.into_iter().map(|r| (r.distance, r.item)))
    }

    fn nearest(&self, p: &Point3<f32>, k: usize) -> Vec<(f32, I)> {
        let (Some(tree), Some(k)) = (&self.tree, NonZeroUsize::new(k)) else {
            return Vec::new();
        };
        if !finite(p) {
            return Vec::new();
        }
        let q = [p.x, p.y, p.z];
        let found = tree
            .query(&q)
            .nearest_n::<SquaredEuclidean<f32>>(k)
            .execute();
        self.collect(found.into_iter().map(|r| (r.distance, r.item)))
    }
}

/// Spatial index of one scene: instance centroids and surface samples.
#[derive(Debug)]
pub struct SceneSpatialIndex {
    centroids: PointTree<InstanceIdx>,
    surface: PointTree<(SurfaceOwner, usize)>,
}

impl SceneSpatialIndex {
    /// Builds the trees of `scene` (map frame).
    pub fn build(scene: &Scene) -> Result<SceneSpatialIndex, DbError> {
        let centroids = PointTree::build(
            scene
                .instances
                .iter()
                .enumerate()
                .map(|(i, inst)| (inst.centroid, i)),
            "instance centroids",
        )?;
        let instance_points = scene.instances.iter().enumerate().flat_map(|(i, inst)| {
            inst.points
                .iter()
                .enumerate()
                .map(move |(j, p)| (*p, (SurfaceOwner::Instance(i), j)))
        });
        let structure = scene
            .structure_points
            .iter()
            .enumerate()
            .map(|(j, p)| (*p, (SurfaceOwner::Structure, j)));
        let surface = PointTree::build(instance_points.chain(structure), "surface points")?;
        log::debug!(
            "scene {:?}: spatial index over {} centroids, {} surface points",
            scene.name,
            centroids.len(),
            surface.len()
        );
        Ok(SceneSpatialIndex { centroids, surface })
    }

    /// Number of instance centroids indexed.
    pub fn centroid_count(&self) -> usize {
        self.centroids.len()
    }

    /// Number of surface samples indexed.
    pub fn surface_count(&self) -> usize {
        self.surface.len()
    }

    /// Instances whose centroid lies within `radius` metres of `p`, as
    /// `(distance, instance index)`, nearest first.
    pub fn within(&self, p: &Point3<f32>, radius: f32) -> Vec<(f32, InstanceIdx)> {
        self.centroids.within(p, radius)
    }

    /// The `k` instances whose centroids are nearest to `p`, as
    /// `(distance, instance index)`, nearest first.
    pub fn nearest(&self, p: &Point3<f32>, k: usize) -> Vec<(f32, InstanceIdx)> {
        self.centroids.nearest(p, k)
    }

    /// Surface samples within `radius` metres of `p`, nearest first.
    pub fn surface_within(&self, p: &Point3<f32>, radius: f32) -> Vec<SurfaceHit> {
        to_hits(self.surface.within(p, radius))
    }

    /// The `k` surface samples nearest to `p`, nearest first.
    pub fn surface_nearest(&self, p: &Point3<f32>, k: usize) -> Vec<SurfaceHit> {
        to_hits(self.surface.nearest(p, k))
    }
}

fn to_hits(found: Vec<(f32, (SurfaceOwner, usize))>) -> Vec<SurfaceHit> {
    found
        .into_iter()
        .map(|(distance, (owner, index))| SurfaceHit {
            distance,
            owner,
            index,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::model::{DbInstance, OrientedBox};
    use crate::rng::Rng;
    use nalgebra::Vector3;

    fn scene(seed: u64, n: usize) -> Scene {
        let mut rng = Rng::new(seed);
        let mut s = Scene::new("s", "");
        for i in 0..n {
            let c = Point3::new(
                rng.range(-5.0, 5.0),
                rng.range(-5.0, 5.0),
                rng.range(0.0, 3.0),
            );
            let points: Vec<_> = (0..10)
                .map(|_| {
                    c + Vector3::new(
                        rng.range(-0.3, 0.3),
                        rng.range(-0.3, 0.3),
                        rng.range(-0.3, 0.3),
                    )
                })
                .collect();
            s.instances.push(DbInstance {
                id: i as u32,
                label: String::new(),
                centroid: c,
                bbox: OrientedBox::axis_aligned(c, Vector3::repeat(0.3)),
                descriptors: vec![],
                normals: vec![Vector3::z(); points.len()],
                points,
                colors: vec![],
                observations: 1,
            });
        }
        for _ in 0..200 {
            s.structure_points
                .push(Point3::new(rng.range(-5.0, 5.0), rng.range(-5.0, 5.0), 0.0));
            s.structure_normals.push(Vector3::z());
        }
        s
    }

    #[test]
    fn centroid_queries_match_brute_force() {
        let s = scene(1, 300);
        let index = SceneSpatialIndex::build(&s).unwrap();
        assert_eq!(index.centroid_count(), 300);
        assert_eq!(index.surface_count(), 300 * 10 + 200);
        let mut rng = Rng::new(2);
        for _ in 0..20 {
            let p = Point3::new(
                rng.range(-6.0, 6.0),
                rng.range(-6.0, 6.0),
                rng.range(-1.0, 4.0),
            );
            let mut brute: Vec<(f32, usize)> = s
                .instances
                .iter()
                .enumerate()
                .map(|(i, inst)| ((inst.centroid - p).norm(), i))
                .collect();
            brute.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let near = index.nearest(&p, 7);
            assert_eq!(
                near.iter().map(|x| x.1).collect::<Vec<_>>(),
                brute[..7].iter().map(|x| x.1).collect::<Vec<_>>()
            );
            for (a, b) in near.iter().zip(&brute) {
                assert!((a.0 - b.0).abs() < 1e-4);
            }
            let within = index.within(&p, 1.5);
            let expect: Vec<usize> = brute.iter().filter(|b| b.0 <= 1.5).map(|b| b.1).collect();
            assert_eq!(within.iter().map(|x| x.1).collect::<Vec<_>>(), expect);
        }
    }

    #[test]
    fn surface_queries_report_owners() {
        let s = scene(3, 20);
        let index = SceneSpatialIndex::build(&s).unwrap();
        let target = s.instances[7].points[4];
        let hit = index.surface_nearest(&target, 1);
        assert_eq!(hit.len(), 1);
        assert_eq!((hit[0].owner, hit[0].index), (SurfaceOwner::Instance(7), 4));
        assert!(hit[0].distance < 1e-6);
        let floor = s.structure_points[123];
        let hits = index.surface_within(&floor, 0.0);
        assert!(
            hits.iter()
                .any(|h| h.owner == SurfaceOwner::Structure && h.index == 123)
        );
        let around = index.surface_within(&target, 0.5);
        assert!(around.windows(2).all(|w| w[0].distance <= w[1].distance));
        assert!(around.iter().all(|h| h.distance <= 0.5));
        let brute = s
            .instances
            .iter()
            .flat_map(|i| &i.points)
            .chain(&s.structure_points)
            .filter(|p| (*p - target).norm() <= 0.5)
            .count();
        assert_eq!(around.len(), brute);
    }

    #[test]
    fn empty_and_invalid_inputs_give_nothing() {
        let mut s = Scene::new("empty", "");
        let index = SceneSpatialIndex::build(&s).unwrap();
        assert!(index.nearest(&Point3::origin(), 3).is_empty());
        assert!(index.within(&Point3::origin(), 10.0).is_empty());
        assert!(index.surface_nearest(&Point3::origin(), 3).is_empty());
        s = scene(4, 5);
        s.instances[2].centroid.x = f32::NAN;
        let index = SceneSpatialIndex::build(&s).unwrap();
        assert_eq!(index.centroid_count(), 4);
        assert!(
            index
                .nearest(&Point3::origin(), 10)
                .iter()
                .all(|h| h.1 != 2)
        );
        assert_eq!(index.nearest(&Point3::origin(), 10).len(), 4);
        assert!(
            index
                .nearest(&Point3::new(f32::NAN, 0.0, 0.0), 3)
                .is_empty()
        );
        assert!(index.within(&Point3::origin(), -1.0).is_empty());
        assert!(index.within(&Point3::origin(), f32::NAN).is_empty());
        assert!(index.nearest(&Point3::origin(), 0).is_empty());
        // Many identical points build and query fine.
        let mut dup = Scene::new("dup", "");
        dup.structure_points = vec![Point3::new(1.0, 1.0, 1.0); 500];
        dup.structure_normals = vec![Vector3::z(); 500];
        let index = SceneSpatialIndex::build(&dup).unwrap();
        assert_eq!(
            index
                .surface_within(&Point3::new(1.0, 1.0, 1.0), 0.01)
                .len(),
            500
        );
        let near = index.surface_nearest(&Point3::origin(), 3);
        assert_eq!(near.len(), 3);
    }
}
