//! A closest-point lookup table: a regular grid over a point set's bounding box
//! (grown by a reach) that stores, for every cell within the reach of the set,
//! the point nearest the cell's centre. A query is then one array read instead
//! of a tree search; the answer is the nearest point to the query's cell centre,
//! which is at most half a cell diagonal further from the query than the true
//! nearest point. Made for the coarse stages of registration, whose radii are
//! decimetres.
//!
//! The table is filled by an exact distance transform over the cells (three
//! passes of a one-dimensional transform), each occupied cell standing for its
//! point nearest the centre; it takes time linear in the number of cells and is
//! deterministic. The point a cell holds is therefore the nearest up to about a
//! cell: a query gets a point at most two cell diagonals further than its true
//! nearest point, and on surfaces sampled more densely than the cells, much
//! less.

use nalgebra::{Point3, Vector3};

/// Marks a cell with no point within the reach.
const NONE: u32 = u32::MAX;

/// Nearest-point lookup on a regular grid; see the module documentation.
#[derive(Debug, Clone)]
pub struct ClosestPointGrid {
    /// Corner of cell (0, 0, 0).
    origin: Vector3<f32>,
    /// Cell edge, metres.
    cell: f32,
    /// Cells along x, y, z.
    dims: [usize; 3],
    /// Distance from the points within which cells hold a point.
    reach: f32,
    /// Per cell (x fastest), the index of the point nearest its centre, or [`NONE`].
    nearest: Vec<u32>,
}

impl ClosestPointGrid {
    /// The table of `points` with cells of `cell` metres, filled within `reach`
    /// metres of the points. `None` when there is no finite point, `cell` or
    /// `reach` is not positive and finite, there are more points than `u32`
    /// indices, or the grid would have more than `max_cells` cells (a very large
    /// space: a tree search serves it better).
    pub fn new(
        points: &[Point3<f32>],
        cell: f32,
        reach: f32,
        max_cells: usize,
    ) -> Option<ClosestPointGrid> {
        if !(cell.is_finite() && cell > 0.0 && reach.is_finite() && reach > 0.0)
            || points.len() >= NONE as usize
        {
            return None;
        }
        let finite = |p: &&Point3<f32>| p.coords.iter().all(|v| v.is_finite());
        let mut lo = Vector3::repeat(f32::INFINITY);
        let mut hi = Vector3::repeat(f32::NEG_INFINITY);
        for p in points.iter().filter(finite) {
            lo = lo.inf(&p.coords);
            hi = hi.sup(&p.coords);
        }
        if lo.x > hi.x {
            return None;
        }
        let origin = lo - Vector3::repeat(reach);
        let mut dims = [0usize; 3];
        let mut total = 1usize;
        for (k, d) in dims.iter_mut().enumerate() {
            let n = ((hi[k] - lo[k] + 2.0 * reach) / cell).floor() + 1.0;
            if !n.is_finite() || n > max_cells as f32 {
                return None;
            }
            *d = n as usize;
            total = total.checked_mul(*d)?;
        }
        if total > max_cells {
            return None;
        }
        let mut grid = ClosestPointGrid {
            origin,
            cell,
            dims,
            reach,
            nearest: vec![NONE; total],
        };
        grid.fill(points);
        Some(grid)
    }

    /// Exact Euclidean distance transform of the occupied cells (Felzenszwalb
    /// and Huttenlocher's lower envelope of parabolas, one axis after the other)
    /// carrying each cell's nearest occupied cell's point along; cells further
    /// than the reach keep [`NONE`].
    fn fill(&mut self, points: &[Point3<f32>]) {
        let n = self.nearest.len();
        // Squared distance in cell units; an occupied cell starts at the squared
        // offset of its point nearest the centre.
        let mut dist = vec![f32::INFINITY; n];
        for (i, p) in points.iter().enumerate() {
            let Some(c) = self.cell_of(p) else {
                continue;
            };
            let d = ((self.centre(c) - p.coords) / self.cell).norm_squared();
            if d < dist[c] {
                dist[c] = d;
                self.nearest[c] = i as u32;
            }
        }
        let [nx, ny, _] = self.dims;
        let strides = [1, nx, nx * ny];
        // Distances beyond the reach are never wanted, and a cell that far from
        // every point of its line passes nothing on: it drops out.
        let limit = (self.reach / self.cell).powi(2);
        let mut line = LineTransform {
            limit,
            ..LineTransform::default()
        };
        for axis in 0..3 {
            let len = self.dims[axis];
            let (a, b) = match axis {
                0 => (1, 2),
                1 => (0, 2),
                _ => (0, 1),
            };
            for j in 0..self.dims[b] {
                for i in 0..self.dims[a] {
                    let start = i * strides[a] + j * strides[b];
                    line.run(&mut dist, &mut self.nearest, start, strides[axis], len);
                }
            }
        }
        for (d, s) in dist.iter().zip(self.nearest.iter_mut()) {
            if d.is_nan() || *d > limit {
                *s = NONE;
            }
        }
    }

    /// Linear index of the cell holding `p`; `None` outside the grid.
    fn cell_of(&self, p: &Point3<f32>) -> Option<usize> {
        let mut idx = [0usize; 3];
        for k in 0..3 {
            let c = ((p[k] - self.origin[k]) / self.cell).floor();
            if !(c >= 0.0 && c < self.dims[k] as f32) {
                return None;
            }
            idx[k] = c as usize;
        }
        Some(idx[0] + self.dims[0] * (idx[1] + self.dims[1] * idx[2]))
    }

    /// Centre of cell `c`.
    fn centre(&self, c: usize) -> Vector3<f32> {
        let [nx, ny, _] = self.dims;
        let (x, y, z) = (c % nx, (c / nx) % ny, c / (nx * ny));
        self.origin + Vector3::new(x as f32 + 0.5, y as f32 + 0.5, z as f32 + 0.5) * self.cell
    }

    /// Index of the point nearest the centre of `p`'s cell, when one lies within
    /// the reach of that centre; `None` for non-finite `p`, or one outside the
    /// grid (then no point is within the reach of `p`).
    pub fn nearest(&self, p: &Point3<f32>) -> Option<usize> {
        let c = self.cell_of(p)?;
        let i = *self.nearest.get(c)?;
        (i != NONE).then_some(i as usize)
    }

    /// Distance from the points within which the table answers.
    pub fn reach(&self) -> f32 {
        self.reach
    }

    /// Cell edge, metres.
    pub fn cell(&self) -> f32 {
        self.cell
    }

    /// Number of cells (memory: four bytes each).
    pub fn cells(&self) -> usize {
        self.nearest.len()
    }
}

/// Scratch space of the one-dimensional distance transform.
#[derive(Default)]
struct LineTransform {
    /// Largest squared distance kept (cells²); larger ones become infinite.
    limit: f32,
    f: Vec<f32>,
    site: Vec<u32>,
    v: Vec<usize>,
    z: Vec<f32>,
}

impl LineTransform {
    /// Transforms the line of `len` cells from `start` with `stride` in place:
    /// each cell gets `min_p (q − p)² + dist[p]` and that `p`'s site.
    fn run(
        &mut self,
        dist: &mut [f32],
        sites: &mut [u32],
        start: usize,
        stride: usize,
        len: usize,
    ) {
        // A line with no cell within the limit passes nothing on and keeps its
        // cells as they are (most lines of a room's box, in the first passes).
        let limit = self.limit;
        if !(0..len).any(|q| dist[start + q * stride] <= limit) {
            return;
        }
        self.f.clear();
        self.site.clear();
        for q in 0..len {
            let c = start + q * stride;
            self.f.push(dist[c]);
            self.site.push(sites[c]);
        }
        self.v.clear();
        self.z.clear();
        for q in 0..len {
            let fq = self.f[q];
            if fq.is_nan() || fq > self.limit {
                continue;
            }
            let qf = q as f32;
            loop {
                let Some(&p) = self.v.last() else {
                    self.z.push(f32::NEG_INFINITY);
                    self.v.push(q);
                    break;
                };
                let pf = p as f32;
                let s = ((fq + qf * qf) - (self.f[p] + pf * pf)) / (2.0 * (qf - pf));
                if self.z.last().is_some_and(|&zk| s <= zk) {
                    self.v.pop();
                    self.z.pop();
                } else {
                    self.z.push(s);
                    self.v.push(q);
                    break;
                }
            }
        }
        if self.v.is_empty() {
            return;
        }
        let mut k = 0;
        for q in 0..len {
            let qf = q as f32;
            while k + 1 < self.v.len() && self.z[k + 1] < qf {
                k += 1;
            }
            let p = self.v[k];
            let c = start + q * stride;
            let d = (qf - p as f32).powi(2) + self.f[p];
            if d <= self.limit {
                dist[c] = d;
                sites[c] = self.site[p];
            } else {
                dist[c] = f32::INFINITY;
                sites[c] = NONE;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(points: &[Point3<f32>], q: &Point3<f32>) -> (usize, f32) {
        points
            .iter()
            .enumerate()
            .map(|(i, p)| (i, (p - q).norm()))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap()
    }

    /// A wall, a floor and a box: points on planes 3 cm apart.
    fn room() -> Vec<Point3<f32>> {
        let mut pts = Vec::new();
        for i in 0..60 {
            for j in 0..40 {
                let (u, v) = (i as f32 * 0.03, j as f32 * 0.03);
                pts.push(Point3::new(u, v, 0.0));
                pts.push(Point3::new(u, 0.0, v));
            }
        }
        for i in 0..10 {
            for j in 0..10 {
                pts.push(Point3::new(
                    0.8 + i as f32 * 0.03,
                    0.5 + j as f32 * 0.03,
                    0.4,
                ));
            }
        }
        pts
    }

    #[test]
    fn answers_close_to_the_true_nearest() {
        let pts = room();
        let cell = 0.04;
        let g = ClosestPointGrid::new(&pts, cell, 0.5, 1 << 24).unwrap();
        let slack = 2.0 * cell * 3f32.sqrt();
        let mut excess = 0.0;
        let mut rng = crate::rng::Rng::new(5);
        let (mut found, mut none) = (0, 0);
        for _ in 0..3000 {
            let q = Point3::new(
                rng.range(-0.4, 2.2),
                rng.range(-0.4, 1.6),
                rng.range(-0.4, 1.6),
            );
            let (_, d) = brute(&pts, &q);
            match g.nearest(&q) {
                Some(i) => {
                    found += 1;
                    let got = (pts[i] - q).norm();
                    assert!(got <= d + slack, "{got} vs nearest {d} at {q:?}");
                    excess += got - d;
                    assert!(got <= 0.5 + slack);
                }
                None => {
                    none += 1;
                    assert!(d > 0.5 - slack, "nothing found but a point at {d}");
                }
            }
        }
        assert!(found > 500 && none > 100, "{found} found, {none} none");
        let mean = excess / found as f32;
        assert!(mean < 0.25 * cell, "mean excess {mean}");
    }

    #[test]
    fn refuses_bad_input_and_huge_grids() {
        let pts = room();
        assert!(ClosestPointGrid::new(&[], 0.04, 0.5, 1 << 24).is_none());
        assert!(ClosestPointGrid::new(&pts, 0.0, 0.5, 1 << 24).is_none());
        assert!(ClosestPointGrid::new(&pts, 0.04, f32::NAN, 1 << 24).is_none());
        assert!(ClosestPointGrid::new(&pts, 0.04, 0.5, 1000).is_none());
        let nan = [Point3::new(f32::NAN, 0.0, 0.0)];
        assert!(ClosestPointGrid::new(&nan, 0.04, 0.5, 1 << 24).is_none());
        let g = ClosestPointGrid::new(&pts, 0.04, 0.5, 1 << 24).unwrap();
        assert_eq!(g.nearest(&Point3::new(f32::NAN, 0.0, 0.0)), None);
        assert_eq!(g.nearest(&Point3::new(50.0, 0.0, 0.0)), None);
        let i = g.nearest(&pts[7]).unwrap();
        assert!((pts[i] - pts[7]).norm() <= 0.04 * 3f32.sqrt());
    }
}
