//! CPU kernels behind the embedding search: an inner product with eight
//! independent accumulators over contiguous slices (written so the compiler
//! vectorises it), and bounded top-k selection.
//!
//! Exactness: [`dot`] always adds in the same order, so a score does not depend on
//! how queries are batched. The order differs from a sequential sum, so scores can
//! differ from a naive loop by a few ULPs.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Accumulator lanes.
const LANES: usize = 8;

#[inline(always)]
fn reduce(acc: &[f32; LANES], tail: f32) -> f32 {
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// Inner product of two slices of equal length (extra entries of the longer one
/// are ignored).
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; LANES];
    let ca = a.chunks_exact(LANES);
    let cb = b.chunks_exact(LANES);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..LANES {
            acc[l] += x[l] * y[l];
        }
    }
    let mut tail = 0.0;
    for (x, y) in ra.iter().zip(rb) {
        tail += x * y;
    }
    reduce(&acc, tail)
}

/// A candidate: score and row. Ordered so that the heap's maximum is the worst
/// candidate (lowest score; among equal scores, the highest row).
#[derive(Debug, Clone, Copy)]
struct Entry {
    score: f32,
    row: usize,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .total_cmp(&self.score)
            .then(self.row.cmp(&other.row))
    }
}

/// Keeps the `k` best (score descending, then row ascending) of the candidates
/// offered; NaN scores are never kept.
#[derive(Debug)]
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Entry>,
    /// Scores at or above this may enter; `-inf` until the heap is full.
    threshold: f32,
}

impl TopK {
    pub fn new(k: usize) -> TopK {
        TopK {
            k,
            heap: BinaryHeap::with_capacity(k.min(1 << 16) + 1),
            threshold: f32::NEG_INFINITY,
        }
    }

    /// Offers a block of consecutive rows starting at `first_row`.
    #[inline]
    pub fn offer_block(&mut self, first_row: usize, scores: &[f32]) {
        for (i, &s) in scores.iter().enumerate() {
            // Fails for NaN, and for most rows once the heap is full.
            if s >= self.threshold {
                self.offer(s, first_row + i);
            }
        }
    }

    fn offer(&mut self, score: f32, row: usize) {
        if self.k == 0 || score.is_nan() {
            return;
        }
        let e = Entry { score, row };
        if self.heap.len() < self.k {
            self.heap.push(e);
        } else if let Some(mut worst) = self.heap.peek_mut() {
            if e < *worst {
                *worst = e;
            } else {
                return;
            }
        }
        if self.heap.len() == self.k {
            self.threshold = self.heap.peek().map_or(f32::NEG_INFINITY, |w| w.score);
        }
    }

    /// The kept candidates as `(score, row)`, best first.
    pub fn into_sorted(self) -> Vec<(f32, usize)> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|e| (e.score, e.row))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn dot_matches_naive_sum() {
        let mut rng = Rng::new(11);
        for n in [0usize, 1, 7, 8, 9, 63, 64, 65, 256] {
            let a: Vec<f32> = (0..n).map(|_| rng.range(-1.0, 1.0)).collect();
            let b: Vec<f32> = (0..n).map(|_| rng.range(-1.0, 1.0)).collect();
            let naive: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            assert!((dot(&a, &b) as f64 - naive).abs() < 1e-5, "n = {n}");
            // Extra entries of the longer slice are ignored.
            let mut longer = b.clone();
            longer.push(100.0);
            assert_eq!(dot(&a, &longer).to_bits(), dot(&a, &b).to_bits());
        }
    }

    #[test]
    fn top_k_keeps_best_with_ties_by_row_and_skips_nan() {
        let mut t = TopK::new(3);
        t.offer_block(10, &[0.5, f32::NAN, 0.9, 0.5, 0.5, -1.0]);
        t.offer_block(0, &[0.5]);
        assert_eq!(t.into_sorted(), vec![(0.9, 12), (0.5, 0), (0.5, 10)]);
        let mut t = TopK::new(0);
        t.offer_block(0, &[1.0]);
        assert!(t.into_sorted().is_empty());
        let mut t = TopK::new(5);
        t.offer_block(0, &[f32::NEG_INFINITY, 2.0]);
        assert_eq!(t.into_sorted(), vec![(2.0, 1), (f32::NEG_INFINITY, 0)]);
    }
}
