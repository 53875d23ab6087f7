//! A uniform-grid point index for fixed-radius "is any point near" queries, so that
//! overlap tests can use every stored point of a database instance instead of a
//! sparse sample (a sparse sample leaves gaps wider than the test radius).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use nalgebra::Point3;

use crate::fuse::voxel::KeyHasher;

/// Cell key → the cell's points with their indices in the build slice.
type Cells = HashMap<(i32, i32, i32), Vec<(usize, Point3<f32>)>, BuildHasherDefault<KeyHasher>>;

/// Points bucketed in cubic cells of the query radius, each with its index in the
/// slice the grid was built from.
#[derive(Debug, Clone, Default)]
pub struct PointGrid {
    cell: f32,
    cells: Cells,
    len: usize,
}

impl PointGrid {
    /// Indexes `points` for queries of radius up to `radius` (metres, > 0).
    pub fn new(points: &[Point3<f32>], radius: f32) -> PointGrid {
        let cell = if radius.is_finite() && radius > 0.0 {
            radius
        } else {
            0.05
        };
        let mut g = PointGrid {
            cell,
            cells: HashMap::default(),
            len: 0,
        };
        for (i, p) in points
            .iter()
            .enumerate()
            .filter(|(_, p)| p.coords.iter().all(|c| c.is_finite()))
        {
            g.cells.entry(g.key(p)).or_default().push((i, *p));
            g.len += 1;
        }
        g
    }

    fn key(&self, p: &Point3<f32>) -> (i32, i32, i32) {
        let k = |v: f32| (v / self.cell).floor() as i32;
        (k(p.x), k(p.y), k(p.z))
    }

    /// Number of indexed points.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no point is indexed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// True when some indexed point lies within `radius` of `p` (`radius` at most
    /// the radius the grid was built for).
    pub fn any_within(&self, p: &Point3<f32>, radius: f32) -> bool {
        let r2 = radius * radius;
        let (x, y, z) = self.key(p);
        for dx in -1..=1 {
            for dy in -1..=1 {
                for dz in -1..=1 {
                    if let Some(v) = self.cells.get(&(x + dx, y + dy, z + dz))
                        && v.iter().any(|(_, q)| (q - p).norm_squared() <= r2)
                    {
                        return true;
                    }
                }
            }
        }
        false
    }

    /// The nearest indexed point within `radius` of `p` (`radius` at most the
    /// radius the grid was built for) as its index in the build slice and squared
    /// distance; on equal distances the lowest index, as a linear scan finds it.
    pub fn nearest_within(&self, p: &Point3<f32>, radius: f32) -> Option<(usize, f32)> {
        let r2 = radius * radius;
        let (x, y, z) = self.key(p);
        let mut best: Option<(usize, f32)> = None;
        for dx in -1..=1 {
            for dy in -1..=1 {
                for dz in -1..=1 {
                    let Some(v) = self.cells.get(&(x + dx, y + dy, z + dz)) else {
                        continue;
                    };
                    for (i, q) in v {
                        let d = (q - p).norm_squared();
                        if d <= r2 && best.is_none_or(|(bi, bd)| d < bd || (d == bd && *i < bi)) {
                            best = Some((*i, d));
                        }
                    }
                }
            }
        }
        best
    }

    /// Share of `points` within `radius` of some indexed point (0 when either is empty).
    pub fn share_within(&self, points: &[Point3<f32>], radius: f32) -> f32 {
        if points.is_empty() || self.is_empty() {
            return 0.0;
        }
        let hits = points.iter().filter(|p| self.any_within(p, radius)).count();
        hits as f32 / points.len() as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_points_within_the_radius_only() {
        let pts = vec![Point3::new(0.0, 0.0, 0.0), Point3::new(1.0, 1.0, 1.0)];
        let g = PointGrid::new(&pts, 0.05);
        assert_eq!(g.len(), 2);
        assert!(g.any_within(&Point3::new(0.04, 0.0, 0.0), 0.05));
        assert!(g.any_within(&Point3::new(1.0, 1.03, 0.97), 0.05));
        assert!(!g.any_within(&Point3::new(0.06, 0.0, 0.0), 0.05));
        assert!(!g.any_within(&Point3::new(-0.04, -0.04, -0.04), 0.05));
        let q = [
            Point3::new(0.01, 0.0, 0.0),
            Point3::new(0.5, 0.5, 0.5),
            Point3::new(0.99, 1.0, 1.0),
            Point3::new(3.0, 0.0, 0.0),
        ];
        assert!((g.share_within(&q, 0.05) - 0.5).abs() < 1e-6);
        assert_eq!(PointGrid::new(&[], 0.05).share_within(&q, 0.05), 0.0);
    }

    #[test]
    fn nearest_within_matches_a_linear_scan() {
        let mut rng = crate::rng::Rng::new(4);
        let pts: Vec<Point3<f32>> = (0..500)
            .map(|_| Point3::new(rng.f32() * 2.0, rng.f32() * 2.0, rng.f32()))
            .chain([Point3::new(5.0, 5.0, 5.0), Point3::new(5.0, 5.0, 5.0)])
            .collect();
        let g = PointGrid::new(&pts, 0.3);
        for k in 0..300 {
            let p = Point3::new(rng.f32() * 2.4 - 0.2, rng.f32() * 2.4 - 0.2, rng.f32());
            let r = 0.05 + 0.25 * (k as f32 / 300.0);
            let linear = pts
                .iter()
                .enumerate()
                .map(|(i, q)| (i, (q - p).norm_squared()))
                .filter(|(_, d)| *d <= r * r)
                .fold(None, |b: Option<(usize, f32)>, (i, d)| match b {
                    Some((_, bd)) if bd <= d => b,
                    _ => Some((i, d)),
                });
            assert_eq!(g.nearest_within(&p, r), linear, "{p:?} {r}");
        }
        // Equal distances: the lower index.
        assert_eq!(
            g.nearest_within(&Point3::new(5.0, 5.0, 5.1), 0.3)
                .map(|x| x.0),
            Some(500)
        );
    }
}
