//! A uniform-grid point index for fixed-radius "is any point near" queries, so that
//! overlap tests can use every stored point of a database instance instead of a
//! sparse sample (a sparse sample leaves gaps wider than the test radius).

use std::collections::HashMap;

use nalgebra::Point3;

/// Points bucketed in cubic cells of the query radius.
#[derive(Debug, Clone, Default)]
pub struct PointGrid {
    cell: f32,
    cells: HashMap<(i32, i32, i32), Vec<Point3<f32>>>,
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
            cells: HashMap::new(),
            len: 0,
        };
        for p in points
            .iter()
            .filter(|p| p.coords.iter().all(|c| c.is_finite()))
        {
            g.cells.entry(g.key(p)).or_default().push(*p);
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
                        && v.iter().any(|q| (q - p).norm_squared() <= r2)
                    {
                        return true;
                    }
                }
            }
        }
        false
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
}
