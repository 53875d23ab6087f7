//! Object regions: union-find over the 4-neighbourhood of the grid cells left after
//! plane removal.
//!
//! Two neighbouring cells (both with a valid depth and a normal, neither on a
//! structural plane) are joined when
//! - their depths are continuous ([`super::maps::depth_continuous`]), and
//! - their normals differ by at most `normal_angle_deg`, or, with `convex_merge`,
//!   the edge between them is convex (`(p_j - p_i) · (n_j - n_i) > 0`, the
//!   surface turns away from the camera, as at a box's edge) and they differ by at
//!   most `max_convex_angle_deg`; concave creases (an object standing on a
//!   surface, two objects leaning together) separate, and
//! - with `color_jump = Some(t)`, their colours differ by at most `t` (sum of
//!   absolute RGB differences).
//!
//! Neighbouring cells of the same object-surface plane (`groups`) are joined
//! whenever their depths are continuous, whatever their normals and colours. At
//! the edge of such a surface, the crease test uses the plane's normal in place
//! of the surface cell's, and a neighbour lying above the plane (on the camera's
//! side by more than the plane inlier distance) never joins: what stands on a
//! table top stays apart from the table, while the table's own sides, below its
//! top's convex edge, join it.
//!
//! Regions smaller than `min_segment_points` cells are dropped. The result is
//! deterministic: regions are sorted by size (descending), then by their first cell
//! in raster order, and each region's cells are in raster order.

use nalgebra::Vector3;

use super::SegmentConfig;
use super::maps::{GridMaps, depth_continuous};

/// Disjoint-set forest over grid cells (path halving, union by size).
struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    fn new(n: usize) -> UnionFind {
        UnionFind {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] as usize != i {
            let p = self.parent[i] as usize;
            self.parent[i] = self.parent[p];
            i = self.parent[i] as usize;
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        let (big, small) = if self.size[ra] >= self.size[rb] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        self.parent[small] = big as u32;
        self.size[big] += self.size[small];
    }
}

/// Grows object regions over the cells where `eligible` is true. `groups` holds a
/// surface id per cell (0 = none; id `g` is the plane `surfaces[g - 1]`, a unit
/// normal towards the camera and an offset), `colors` one RGB triple per cell
/// when colour edges are in use.
pub(crate) fn grow_regions(
    maps: &GridMaps,
    eligible: &[bool],
    groups: &[u32],
    surfaces: &[(Vector3<f32>, f32)],
    colors: Option<&[[u8; 3]]>,
    cfg: &SegmentConfig,
) -> Vec<Vec<usize>> {
    let (w, h) = (maps.width, maps.height);
    let n = w * h;
    if eligible.len() != n || groups.len() != n {
        return Vec::new();
    }
    let cos_smooth = cfg.normal_angle_deg.to_radians().cos();
    let cos_convex = cfg.max_convex_angle_deg.to_radians().cos();
    let color_ok = |i: usize, j: usize| match (cfg.color_jump, colors) {
        (Some(t), Some(c)) => match (c.get(i), c.get(j)) {
            (Some(a), Some(b)) => {
                let d: u32 = (0..3).map(|k| a[k].abs_diff(b[k]) as u32).sum();
                d <= t
            }
            _ => true,
        },
        _ => true,
    };
    let joins = |i: usize, j: usize| -> bool {
        if !eligible[j] || !depth_continuous(maps.depth[i], maps.depth[j], cfg) {
            return false;
        }
        let (gi, gj) = (groups[i], groups[j]);
        if gi != 0 && gi == gj {
            return true;
        }
        let (mut ni, mut nj) = (maps.normals[i], maps.normals[j]);
        // At a surface's edge: the plane's normal, and nothing standing on it.
        for (g, other, n_cell) in [(gi, j, &mut ni), (gj, i, &mut nj)] {
            let Some((n, d)) = (g as usize).checked_sub(1).and_then(|k| surfaces.get(k)) else {
                continue;
            };
            let tol = cfg.plane_inlier_distance + cfg.plane_inlier_rel * maps.depth[other];
            if n.dot(&maps.points[other]) + d > tol {
                return false;
            }
            *n_cell = *n;
        }
        let (ni, nj) = (&ni, &nj);
        let c = ni.dot(nj);
        let smooth = c >= cos_smooth;
        let convex = cfg.convex_merge
            && c >= cos_convex
            && (maps.points[j] - maps.points[i]).dot(&(nj - ni)) > 0.0;
        (smooth || convex) && color_ok(i, j)
    };
    let mut uf = UnionFind::new(n);
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            if !eligible[i] {
                continue;
            }
            if x + 1 < w && joins(i, i + 1) {
                uf.union(i, i + 1);
            }
            if y + 1 < h && joins(i, i + w) {
                uf.union(i, i + w);
            }
        }
    }
    // Group cells by root, in raster order, keeping the first cell's position.
    let mut slot = vec![u32::MAX; n];
    let mut regions: Vec<Vec<usize>> = Vec::new();
    for i in 0..n {
        if !eligible[i] {
            continue;
        }
        let r = uf.find(i);
        let s = match slot[r] {
            u32::MAX => {
                slot[r] = regions.len() as u32;
                regions.push(Vec::new());
                regions.len() - 1
            }
            s => s as usize,
        };
        if let Some(region) = regions.get_mut(s) {
            region.push(i);
        }
    }
    regions.retain(|r| r.len() >= cfg.min_segment_points.max(1));
    // Regions were created in order of their first cell; a stable sort by size
    // keeps that order for ties.
    regions.sort_by_key(|r| std::cmp::Reverse(r.len()));
    regions
}
