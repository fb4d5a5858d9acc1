//! Sharding a suite over several machines: Chainsaw's `--shard-index` / `--shard-count`
//! and nextest's `--partition count:M/N`.
//!
//! Every machine of a CI matrix loads the same suite and keeps its share: the scenario
//! runs (a table row is one run) sorted by name and dealt round-robin, so the shards
//! differ in size by at most one, whatever the file layout, and the same name always
//! lands in the same shard. Nothing is hashed and nothing depends on the machine.

use crate::report::model::ShardInfo;

/// One shard of a suite: index `index` (from 0) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// From 0.
    pub index: usize,
    /// At least 1.
    pub count: usize,
}

/// A wrong shard description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    /// `--shard-count` is 0 while an index is given, or the index is out of range.
    #[error("shard index {index} is out of range for {count} shard(s): expected 0 to {}", count.saturating_sub(1))]
    OutOfRange {
        /// The index given.
        index: usize,
        /// The count given.
        count: usize,
    },
    /// `--partition` is not `count:M/N`.
    #[error("{0:?}: expected count:M/N (M from 1 to N), as nextest's --partition")]
    Partition(String),
    /// `--partition hash:M/N`: not balanced, not supported.
    #[error("{0:?}: hash partitions are not supported (they are not balanced); use count:M/N")]
    Hash(String),
}

impl Shard {
    /// Chainsaw's flags: `count` 0 means no sharding (as in Chainsaw); otherwise the
    /// index must be below the count.
    pub fn from_flags(index: usize, count: usize) -> Result<Option<Self>, ShardError> {
        if count == 0 {
            return if index == 0 {
                Ok(None)
            } else {
                Err(ShardError::OutOfRange { index, count })
            };
        }
        if index >= count {
            return Err(ShardError::OutOfRange { index, count });
        }
        Ok(Some(Self { index, count }))
    }

    /// nextest's `count:M/N`, M from 1.
    pub fn parse_partition(text: &str) -> Result<Self, ShardError> {
        let bad = || ShardError::Partition(text.to_string());
        if text.starts_with("hash:") {
            return Err(ShardError::Hash(text.to_string()));
        }
        let rest = text.strip_prefix("count:").ok_or_else(bad)?;
        let (m, n) = rest.split_once('/').ok_or_else(bad)?;
        let m: usize = m.trim().parse().map_err(|_| bad())?;
        let n: usize = n.trim().parse().map_err(|_| bad())?;
        if m == 0 || n == 0 || m > n {
            return Err(bad());
        }
        Ok(Self {
            index: m - 1,
            count: n,
        })
    }

    /// Which of `names` this shard keeps, in their order: sorted by name, the k-th
    /// belongs to shard `k % count`.
    pub fn keeps(&self, names: &[&str]) -> Vec<bool> {
        let mut order: Vec<usize> = (0..names.len()).collect();
        // Stable, so equal names (which a run does not have) still split deterministically.
        order.sort_by(|&a, &b| names[a].cmp(names[b]));
        let mut keep = vec![false; names.len()];
        for (rank, &i) in order.iter().enumerate() {
            keep[i] = rank % self.count == self.index;
        }
        keep
    }

    /// The report's record of this shard.
    pub fn info(&self) -> ShardInfo {
        ShardInfo {
            index: self.index,
            count: self.count,
        }
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "shard {} of {} (index {})",
            self.index + 1,
            self.count,
            self.index
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn names(n: usize) -> Vec<String> {
        // Not in sorted order, as a discovery order would be.
        (0..n).map(|i| format!("t{:02}", (i * 7) % n)).collect()
    }

    #[rstest]
    #[case(1, 1)]
    #[case(5, 2)]
    #[case(46, 3)]
    #[case(10, 4)]
    #[case(3, 5)]
    fn shards_cover_every_name_exactly_once_and_differ_by_at_most_one(
        #[case] n: usize,
        #[case] count: usize,
    ) {
        let owned = names(n);
        let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
        let mut owners = vec![0usize; n];
        let mut sizes = Vec::new();
        for index in 0..count {
            let keep = Shard { index, count }.keeps(&refs);
            sizes.push(keep.iter().filter(|k| **k).count());
            for (i, k) in keep.iter().enumerate() {
                if *k {
                    owners[i] += 1;
                }
            }
        }
        assert!(owners.iter().all(|o| *o == 1), "{owners:?}");
        let (min, max) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        assert!(max - min <= 1, "{sizes:?}");
    }

    #[test]
    fn a_name_lands_in_the_same_shard_whatever_the_discovery_order() {
        let a = ["b", "d", "a", "c", "e"];
        let mut b = a;
        b.reverse();
        let shard = Shard { index: 1, count: 2 };
        let kept = |names: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = names
                .iter()
                .zip(shard.keeps(names))
                .filter(|(_, k)| *k)
                .map(|(n, _)| n.to_string())
                .collect();
            v.sort();
            v
        };
        assert_eq!(kept(&a), ["b", "d"]);
        assert_eq!(kept(&a), kept(&b));
    }

    #[test]
    fn chainsaw_flags_and_nextest_partitions() {
        assert_eq!(Shard::from_flags(0, 0), Ok(None));
        assert_eq!(
            Shard::from_flags(1, 3),
            Ok(Some(Shard { index: 1, count: 3 }))
        );
        assert_eq!(
            Shard::from_flags(3, 3).unwrap_err().to_string(),
            "shard index 3 is out of range for 3 shard(s): expected 0 to 2"
        );
        assert!(Shard::from_flags(1, 0).is_err());
        assert_eq!(
            Shard::parse_partition("count:2/3"),
            Ok(Shard { index: 1, count: 3 })
        );
        for bad in ["count:0/3", "count:4/3", "2/3", "count:a/3", "count:1/0"] {
            assert!(
                matches!(Shard::parse_partition(bad), Err(ShardError::Partition(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            Shard::parse_partition("hash:1/2"),
            Err(ShardError::Hash(_))
        ));
        assert_eq!(
            Shard { index: 0, count: 2 }.to_string(),
            "shard 1 of 2 (index 0)"
        );
    }
}
