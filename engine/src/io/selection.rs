//! Frame range and stride selection (`--frames A..B`, `--stride S`).
//!
//! The range selects by the index in the file names (end exclusive), so
//! `600..1000` means the same frames in any copy of a dataset, whatever the first
//! index on disk. The stride then keeps every S-th selected frame, counted from the
//! first selected one.

use std::str::FromStr;

/// Which frames of a sequence to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSelection {
    /// First index to include (inclusive); `None` = from the first frame.
    pub start: Option<u64>,
    /// Index to stop before (exclusive); `None` = to the last frame.
    pub end: Option<u64>,
    /// Keep every `stride`-th selected frame (1 = all).
    pub stride: usize,
}

impl Default for FrameSelection {
    fn default() -> Self {
        FrameSelection::ALL
    }
}

/// Why a frame-range text could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid frame range {text:?}: {message} (expected A..B, A.., ..B or N)")]
pub struct SelectionParseError {
    text: String,
    message: String,
}

impl FrameSelection {
    /// Every frame.
    pub const ALL: FrameSelection = FrameSelection {
        start: None,
        end: None,
        stride: 1,
    };

    /// Frames with index in `start..end`.
    pub fn range(start: u64, end: u64) -> FrameSelection {
        FrameSelection {
            start: Some(start),
            end: Some(end),
            stride: 1,
        }
    }

    /// The same selection with a stride (0 is taken as 1).
    pub fn with_stride(mut self, stride: usize) -> FrameSelection {
        self.stride = stride.max(1);
        self
    }

    /// True when `index` lies in the range (ignoring the stride).
    pub fn in_range(&self, index: u64) -> bool {
        self.start.is_none_or(|s| index >= s) && self.end.is_none_or(|e| index < e)
    }

    /// Applies range and stride to a sorted list of indices, keeping the order.
    pub fn apply(&self, sorted_indices: &[u64]) -> Vec<u64> {
        sorted_indices
            .iter()
            .copied()
            .filter(|&i| self.in_range(i))
            .step_by(self.stride.max(1))
            .collect()
    }

    /// Applies range and stride to items carrying an index, keeping their order.
    pub fn apply_by<T>(&self, items: Vec<T>, index_of: impl Fn(&T) -> u64) -> Vec<T> {
        items
            .into_iter()
            .filter(|t| self.in_range(index_of(t)))
            .step_by(self.stride.max(1))
            .collect()
    }
}

impl FromStr for FrameSelection {
    type Err = SelectionParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |message: &str| SelectionParseError {
            text: text.to_string(),
            message: message.to_string(),
        };
        let t = text.trim();
        let parse = |s: &str| -> Result<Option<u64>, SelectionParseError> {
            if s.is_empty() {
                Ok(None)
            } else {
                s.parse::<u64>()
                    .map(Some)
                    .map_err(|_| err("bounds must be non-negative integers"))
            }
        };
        let (start, end) = match t.split_once("..") {
            Some((a, b)) => (parse(a)?, parse(b)?),
            None => {
                let n = parse(t)?.ok_or_else(|| err("empty"))?;
                (Some(n), Some(n + 1))
            }
        };
        if let (Some(a), Some(b)) = (start, end)
            && b <= a
        {
            return Err(err("the end must be greater than the start"));
        }
        Ok(FrameSelection {
            start,
            end,
            stride: 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ranges() {
        let s: FrameSelection = "600..1000".parse().unwrap();
        assert_eq!(s, FrameSelection::range(600, 1000));
        assert!(s.in_range(600) && s.in_range(999) && !s.in_range(1000) && !s.in_range(599));
        let open: FrameSelection = "5..".parse().unwrap();
        assert!(open.in_range(1_000_000) && !open.in_range(4));
        let single: FrameSelection = "7".parse().unwrap();
        assert_eq!(single.apply(&[6, 7, 8]), vec![7]);
        assert!("9..3".parse::<FrameSelection>().is_err());
        assert!("a..b".parse::<FrameSelection>().is_err());
    }

    #[test]
    fn stride_counts_from_first_selected() {
        let s = FrameSelection::range(3, 12).with_stride(4);
        let idx: Vec<u64> = (0..20).collect();
        assert_eq!(s.apply(&idx), vec![3, 7, 11]);
    }
}
