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
/// slice the grid was built from. Grids over a small region also keep a dense
/// index of cells a third of that edge ([`FineCells`]), which answers
/// [`PointGrid::nearest_within`] by visiting cells outwards from the query and
/// stopping once nothing unvisited can be nearer (same result, far fewer points).
#[derive(Debug, Clone, Default)]
pub struct PointGrid {
    cell: f32,
    cells: Cells,
    fine: Option<FineCells>,
    len: usize,
    /// Corners of the box the indexed points span (queries further than their
    /// radius from it are answered without visiting cells).
    bounds: Option<(Point3<f32>, Point3<f32>)>,
}

/// Most cells of a [`FineCells`] index (larger regions go without one).
const MAX_FINE_CELLS: usize = 1 << 16;

/// A dense box of small cells: `start[c]..start[c + 1]` are the entries of cell
/// `c` (x fastest), each entry a point with its index in the build slice.
#[derive(Debug, Clone)]
struct FineCells {
    cell: f32,
    origin: [i32; 3],
    dims: [i32; 3],
    start: Vec<u32>,
    entries: Vec<(usize, Point3<f32>)>,
}

impl FineCells {
    /// Indexes the finite `points` (with their indices) in cells of edge `cell`;
    /// `None` when the box they span needs more than [`MAX_FINE_CELLS`] cells.
    fn new(points: &[(usize, Point3<f32>)], cell: f32) -> Option<FineCells> {
        let key = |p: &Point3<f32>| -> [i32; 3] {
            let k = |v: f32| (v / cell).floor() as i32;
            [k(p.x), k(p.y), k(p.z)]
        };
        let first = points.first()?;
        let (mut lo, mut hi) = (key(&first.1), key(&first.1));
        for (_, p) in points {
            let k = key(p);
            for a in 0..3 {
                lo[a] = lo[a].min(k[a]);
                hi[a] = hi[a].max(k[a]);
            }
        }
        let dims = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
        let total = dims
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(usize::try_from(d).ok()?))?;
        if total > MAX_FINE_CELLS {
            return None;
        }
        let flat = |k: [i32; 3]| -> usize {
            let (x, y, z) = (k[0] - lo[0], k[1] - lo[1], k[2] - lo[2]);
            ((z * dims[1] + y) * dims[0] + x) as usize
        };
        let mut start = vec![0u32; total + 1];
        for (_, p) in points {
            if let Some(c) = start.get_mut(flat(key(p)) + 1) {
                *c += 1;
            }
        }
        for c in 1..start.len() {
            start[c] += start[c - 1];
        }
        let mut fill = start.clone();
        let mut entries = vec![(0usize, Point3::origin()); points.len()];
        for &(i, p) in points {
            if let Some(slot) = fill.get_mut(flat(key(&p))) {
                if let Some(e) = entries.get_mut(*slot as usize) {
                    *e = (i, p);
                }
                *slot += 1;
            }
        }
        Some(FineCells {
            cell,
            origin: lo,
            dims,
            start,
            entries,
        })
    }

    /// The entries of cell `k` (relative to the box; empty outside it).
    fn cell_entries(&self, k: [i32; 3]) -> &[(usize, Point3<f32>)] {
        if (0..3).any(|a| k[a] < 0 || k[a] >= self.dims[a]) {
            return &[];
        }
        let c = ((k[2] * self.dims[1] + k[1]) * self.dims[0] + k[0]) as usize;
        match (self.start.get(c), self.start.get(c + 1)) {
            (Some(&a), Some(&b)) => self.entries.get(a as usize..b as usize).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Grid coordinates of the cell holding `p` (unclamped).
    fn cell_of(&self, p: &Point3<f32>) -> [i32; 3] {
        let k = |v: f32, o: i32| ((v / self.cell).floor() as i32).saturating_sub(o);
        [
            k(p.x, self.origin[0]),
            k(p.y, self.origin[1]),
            k(p.z, self.origin[2]),
        ]
    }

    /// True when some entry lies within `radius` of `p` (rings outwards from `p`'s
    /// cell, stopping at the first such entry).
    fn any_within(&self, p: &Point3<f32>, radius: f32) -> bool {
        let r2 = radius * radius;
        let c = self.cell_of(p);
        let rings = (radius / self.cell).floor() as i32 + 1;
        let hit = |cell: [i32; 3]| {
            self.cell_entries(cell)
                .iter()
                .any(|(_, q)| (q - p).norm_squared() <= r2)
        };
        for ring in 0..=rings {
            let range = |a: usize| ((c[a] - ring).max(0), (c[a] + ring).min(self.dims[a] - 1));
            let ((x0, x1), (y0, y1), (z0, z1)) = (range(0), range(1), range(2));
            for z in z0..=z1 {
                for y in y0..=y1 {
                    if (z - c[2]).abs() < ring && (y - c[1]).abs() < ring {
                        for x in [c[0] - ring, c[0] + ring] {
                            if x >= x0 && x <= x1 && hit([x, y, z]) {
                                return true;
                            }
                        }
                    } else if (x0..=x1).any(|x| hit([x, y, z])) {
                        return true;
                    }
                }
            }
        }
        false
    }

    /// The nearest entry within `radius` of `p` (lowest index on equal distances):
    /// rings of cells around `p`'s cell, outwards, until the nearest found so far
    /// is closer than any cell of the next ring can hold.
    fn nearest_within(&self, p: &Point3<f32>, radius: f32) -> Option<(usize, f32)> {
        let r2 = radius * radius;
        let c = self.cell_of(p);
        // A point within `radius` is at most `radius / cell` (rounded up) cells
        // away on each axis; one more ring absorbs rounding.
        let rings = (radius / self.cell).floor() as i32 + 1;
        let mut best: Option<(usize, f32)> = None;
        let visit = |cell: [i32; 3], best: &mut Option<(usize, f32)>| {
            for (i, q) in self.cell_entries(cell) {
                let d = (q - p).norm_squared();
                if d <= r2 && best.is_none_or(|(bi, bd)| d < bd || (d == bd && *i < bi)) {
                    *best = Some((*i, d));
                }
            }
        };
        for ring in 0..=rings {
            // Cells of this ring that overlap the box.
            let range = |a: usize| {
                let lo = (c[a] - ring).max(0);
                let hi = (c[a] + ring).min(self.dims[a] - 1);
                (lo, hi)
            };
            let ((x0, x1), (y0, y1), (z0, z1)) = (range(0), range(1), range(2));
            for z in z0..=z1 {
                for y in y0..=y1 {
                    let inner = (z - c[2]).abs() < ring && (y - c[1]).abs() < ring;
                    if inner {
                        // Only the two x ends of the ring.
                        for x in [c[0] - ring, c[0] + ring] {
                            if x >= x0 && x <= x1 {
                                visit([x, y, z], &mut best);
                            }
                        }
                    } else {
                        for x in x0..=x1 {
                            visit([x, y, z], &mut best);
                        }
                    }
                }
            }
            // Every cell of ring `ring + 1` is at least `ring` whole cells from `p`.
            let reach = ring as f32 * self.cell * 0.999;
            if best.is_some_and(|(_, d)| d < reach * reach) {
                break;
            }
        }
        best
    }
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
            fine: None,
            len: 0,
            bounds: None,
        };
        let finite: Vec<(usize, Point3<f32>)> = points
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, p)| p.coords.iter().all(|c| c.is_finite()))
            .collect();
        for (i, p) in &finite {
            g.cells.entry(g.key(p)).or_default().push((*i, *p));
            g.len += 1;
            g.bounds = Some(match g.bounds {
                None => (*p, *p),
                Some((lo, hi)) => (lo.inf(p), hi.sup(p)),
            });
        }
        g.fine = FineCells::new(&finite, cell / 3.0);
        g
    }

    fn key(&self, p: &Point3<f32>) -> (i32, i32, i32) {
        let k = |v: f32| (v / self.cell).floor() as i32;
        (k(p.x), k(p.y), k(p.z))
    }

    /// False when `p` is further than `radius` from the box of the indexed
    /// points (so no point can be within `radius`); true when it may be near.
    fn may_be_near(&self, p: &Point3<f32>, radius: f32) -> bool {
        let Some((lo, hi)) = &self.bounds else {
            return false;
        };
        let gap = |v: f32, a: f32, b: f32| (a - v).max(v - b).max(0.0);
        let d2 = gap(p.x, lo.x, hi.x).powi(2)
            + gap(p.y, lo.y, hi.y).powi(2)
            + gap(p.z, lo.z, hi.z).powi(2);
        d2 <= radius * radius
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
        if !self.may_be_near(p, radius) {
            return false;
        }
        if let Some(fine) = &self.fine {
            return fine.any_within(p, radius);
        }
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
        if !self.may_be_near(p, radius) {
            return None;
        }
        if let Some(fine) = &self.fine {
            return fine.nearest_within(p, radius);
        }
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
        // At the radius beyond the box of the points, and just further.
        assert!(g.any_within(&Point3::new(-0.05, 0.0, 0.0), 0.05));
        assert_eq!(
            g.nearest_within(&Point3::new(1.0, 1.05, 1.0), 0.05)
                .map(|x| x.0),
            Some(1)
        );
        assert!(!g.any_within(&Point3::new(-0.0501, 0.0, 0.0), 0.05));
        assert_eq!(g.nearest_within(&Point3::new(1.0, 1.0501, 1.0), 0.05), None);
        assert!(!PointGrid::default().any_within(&Point3::origin(), 1.0));
        let q = [
            Point3::new(0.01, 0.0, 0.0),
            Point3::new(0.5, 0.5, 0.5),
            Point3::new(0.99, 1.0, 1.0),
            Point3::new(3.0, 0.0, 0.0),
        ];
        assert!((g.share_within(&q, 0.05) - 0.5).abs() < 1e-6);
        assert_eq!(PointGrid::new(&[], 0.05).share_within(&q, 0.05), 0.0);
    }

    /// The nearest point within `r` by a scan of every point (lowest index on ties).
    fn linear_nearest(pts: &[Point3<f32>], p: &Point3<f32>, r: f32) -> Option<(usize, f32)> {
        pts.iter()
            .enumerate()
            .map(|(i, q)| (i, (q - p).norm_squared()))
            .filter(|(_, d)| *d <= r * r)
            .fold(None, |b, (i, d)| match b {
                Some((_, bd)) if bd <= d => b,
                _ => Some((i, d)),
            })
    }

    #[test]
    fn fine_cells_match_a_linear_scan() {
        let mut rng = crate::rng::Rng::new(9);
        // A small region (so the dense index is built), with duplicates for ties.
        let mut pts: Vec<Point3<f32>> = (0..400)
            .map(|_| Point3::new(rng.f32(), rng.f32() * 0.8, rng.f32() * 0.5))
            .collect();
        pts.extend_from_within(0..40);
        let g = PointGrid::new(&pts, 0.3);
        assert!(g.fine.is_some());
        for k in 0..600 {
            // Inside, near and well outside the box, radii from tiny to the cell.
            let p = Point3::new(
                rng.f32() * 1.8 - 0.4,
                rng.f32() * 1.6 - 0.4,
                rng.f32() * 1.3 - 0.4,
            );
            let r = 0.01 + 0.29 * (k as f32 / 600.0);
            let linear = linear_nearest(&pts, &p, r);
            assert_eq!(g.nearest_within(&p, r), linear, "{p:?} {r}");
            assert_eq!(g.any_within(&p, r), linear.is_some(), "{p:?} {r}");
        }
        // A duplicate resolves to the lower index.
        let q = pts[3] + nalgebra::Vector3::new(0.001, 0.0, 0.0);
        assert_eq!(g.nearest_within(&q, 0.05).map(|x| x.0), Some(3));
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
            let linear = linear_nearest(&pts, &p, r);
            assert_eq!(g.nearest_within(&p, r), linear, "{p:?} {r}");
        }
        // Equal distances: the lower index.
        assert!(g.fine.is_none(), "the far pair makes the box too large");
        assert_eq!(
            g.nearest_within(&Point3::new(5.0, 5.0, 5.1), 0.3)
                .map(|x| x.0),
            Some(500)
        );
    }
}
