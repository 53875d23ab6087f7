//! The coarse cells near a point set, as a dense grid of flags over their
//! bounding box: the occupied cells dilated by a cube of cells (one axis after
//! the other, which for a cube is exact). A query is an index computation and
//! one read. Sets spread so widely that the grid would exceed [`MAX_CELLS`]
//! keep every cell "near" (the prefilter then never rejects: correct, only
//! slower).

use nalgebra::Point3;

/// Largest grid (one byte a cell).
pub(crate) const MAX_CELLS: usize = 1 << 24;

/// Flags of the cells within a dilation of a point set; see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct NearCells {
    cell: f32,
    /// Cell coordinates of flag 0.
    lo: [i64; 3],
    dims: [usize; 3],
    /// Per cell (x fastest): near the set. Empty when every cell counts as near.
    near: Vec<bool>,
}

impl NearCells {
    /// The cells of `cell` metres within `dilation` cells (a cube) of a cell
    /// holding one of the finite `points`.
    pub(crate) fn new(points: &[Point3<f32>], cell: f32, dilation: usize) -> NearCells {
        let mut out = NearCells {
            cell,
            lo: [0; 3],
            dims: [0; 3],
            near: Vec::new(),
        };
        let cells: Vec<[i64; 3]> = points.iter().filter_map(|p| out.cell_of(p)).collect();
        let (Some(first), true) = (cells.first(), cell > 0.0) else {
            out.dims = [1; 3];
            out.near = vec![false];
            return out;
        };
        let (mut lo, mut hi) = (*first, *first);
        for c in &cells {
            for k in 0..3 {
                lo[k] = lo[k].min(c[k]);
                hi[k] = hi[k].max(c[k]);
            }
        }
        let d = dilation as i64;
        let mut total = 1usize;
        for k in 0..3 {
            lo[k] -= d;
            let n = usize::try_from(hi[k] + d - lo[k] + 1).unwrap_or(usize::MAX);
            out.dims[k] = n;
            total = total.saturating_mul(n);
        }
        if total > MAX_CELLS {
            // Every cell counts as near.
            out.dims = [0; 3];
            return out;
        }
        out.lo = lo;
        out.near = vec![false; total];
        for c in &cells {
            if let Some(i) = out.index(c) {
                out.near[i] = true;
            }
        }
        let [nx, ny, nz] = out.dims;
        let strides = [1, nx, nx * ny];
        let mut line = Vec::new();
        for axis in 0..3 {
            let (a, b) = match axis {
                0 => (1, 2),
                1 => (0, 2),
                _ => (0, 1),
            };
            let len = [nx, ny, nz][axis];
            for j in 0..out.dims[b] {
                for i in 0..out.dims[a] {
                    let start = i * strides[a] + j * strides[b];
                    dilate_line(
                        &mut out.near,
                        start,
                        strides[axis],
                        len,
                        dilation,
                        &mut line,
                    );
                }
            }
        }
        out
    }

    fn cell_of(&self, p: &Point3<f32>) -> Option<[i64; 3]> {
        let c = |v: f32| {
            let x = (v / self.cell).floor();
            (x.is_finite() && x.abs() < 1e15).then_some(x as i64)
        };
        Some([c(p.x)?, c(p.y)?, c(p.z)?])
    }

    fn index(&self, c: &[i64; 3]) -> Option<usize> {
        let mut idx = 0usize;
        let mut stride = 1usize;
        for k in 0..3 {
            let off = usize::try_from(c[k] - self.lo[k]).ok()?;
            if off >= self.dims[k] {
                return None;
            }
            idx += off * stride;
            stride *= self.dims[k];
        }
        Some(idx)
    }

    /// Whether the cell holding `p` is within the dilation of the set (always
    /// true when the set was too widely spread for the grid).
    pub(crate) fn contains(&self, p: &Point3<f32>) -> bool {
        if self.near.is_empty() {
            return true;
        }
        self.cell_of(p)
            .and_then(|c| self.index(&c))
            .is_some_and(|i| self.near[i])
    }
}

/// Marks every cell of one line within `d` cells of a marked one.
fn dilate_line(
    flags: &mut [bool],
    start: usize,
    stride: usize,
    len: usize,
    d: usize,
    line: &mut Vec<bool>,
) {
    line.clear();
    line.extend((0..len).map(|q| flags[start + q * stride]));
    // Distance to the last marked cell seen, running forwards then backwards.
    let mut since = usize::MAX;
    for q in 0..len {
        since = if line[q] { 0 } else { since.saturating_add(1) };
        if since <= d {
            flags[start + q * stride] = true;
        }
    }
    since = usize::MAX;
    for q in (0..len).rev() {
        since = if line[q] { 0 } else { since.saturating_add(1) };
        if since <= d {
            flags[start + q * stride] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The same set by brute force: every cell within `d` (a cube) of an
    /// occupied one.
    fn brute(points: &[Point3<f32>], cell: f32, d: i64) -> HashSet<[i64; 3]> {
        let mut set = HashSet::new();
        for p in points {
            let c = [
                (p.x / cell).floor() as i64,
                (p.y / cell).floor() as i64,
                (p.z / cell).floor() as i64,
            ];
            for dx in -d..=d {
                for dy in -d..=d {
                    for dz in -d..=d {
                        set.insert([c[0] + dx, c[1] + dy, c[2] + dz]);
                    }
                }
            }
        }
        set
    }

    #[test]
    fn marks_exactly_the_dilated_cells() {
        let mut rng = crate::rng::Rng::new(3);
        let points: Vec<Point3<f32>> = (0..60)
            .map(|_| {
                Point3::new(
                    rng.range(-2.0, 2.0),
                    rng.range(-0.5, 2.5),
                    rng.range(-1.7, 0.3),
                )
            })
            .collect();
        let cell = 0.25;
        let near = NearCells::new(&points, cell, 2);
        let truth = brute(&points, cell, 2);
        let mut inside = 0;
        for x in -16..16 {
            for y in -8..18 {
                for z in -14..8 {
                    let c = [x as i64, y as i64, z as i64];
                    // The centre of the cell stands for it.
                    let p = Point3::new(
                        (x as f32 + 0.5) * cell,
                        (y as f32 + 0.5) * cell,
                        (z as f32 + 0.5) * cell,
                    );
                    assert_eq!(near.contains(&p), truth.contains(&c), "cell {c:?}");
                    inside += usize::from(truth.contains(&c));
                }
            }
        }
        assert!(inside > 100);
    }

    #[test]
    fn an_empty_or_unbounded_set() {
        let empty = NearCells::new(&[], 0.25, 2);
        assert!(!empty.contains(&Point3::origin()));
        let nan = NearCells::new(&[Point3::new(f32::NAN, 0.0, 0.0)], 0.25, 2);
        assert!(!nan.contains(&Point3::origin()));
        // Two points a thousand kilometres apart: too many cells for the grid,
        // so everything counts as near (never wrongly rejected).
        let wide = NearCells::new(&[Point3::origin(), Point3::new(1e6, 1e6, 1e6)], 0.25, 2);
        assert!(wide.contains(&Point3::new(5e5, 0.0, 0.0)));
    }
}
