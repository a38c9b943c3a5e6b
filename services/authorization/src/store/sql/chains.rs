//! Unit chains from the links a recursive query walked: the same on both backends, so compiled
//! once.

use std::collections::BTreeMap;

use lms_kernel::UnitId;
use uuid::Uuid;

use crate::store::StoreError;

/// How deep a unit tree may be before the store calls it corrupt: a chain holds at most this
/// many units. The recursive queries walk one level further, so a deeper tree shows.
pub(super) const MAX_UNIT_DEPTH: i64 = 64;

/// One step of a walk up the unit tree: `unit` lies `depth` levels above `start` (0 is `start`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(super) struct Link {
    /// The unit the walk started from.
    pub start: Uuid,
    /// How many levels up.
    pub depth: i64,
    /// The unit at that level.
    pub unit: Uuid,
}

/// Each start's chain, nearest first. A unit met twice on one chain is a cycle and a chain
/// longer than [`MAX_UNIT_DEPTH`] too deep: both [`StoreError::Corrupt`], as no decision can be
/// taken on them.
pub(super) fn unit_chains(
    mut links: Vec<Link>,
) -> Result<BTreeMap<UnitId, Vec<UnitId>>, StoreError> {
    links.sort();
    // A start listed twice would walk twice, link for link: once is the chain.
    links.dedup();
    let mut chains: BTreeMap<UnitId, Vec<UnitId>> = BTreeMap::new();
    for link in links {
        let chain = chains.entry(UnitId::from_uuid(link.start)).or_default();
        let unit = UnitId::from_uuid(link.unit);
        if chain.contains(&unit) {
            return Err(StoreError::Corrupt(format!("unit cycle at {unit}")));
        }
        if link.depth >= MAX_UNIT_DEPTH {
            return Err(StoreError::Corrupt(format!(
                "unit tree deeper than {MAX_UNIT_DEPTH}"
            )));
        }
        if usize::try_from(link.depth).ok() != Some(chain.len()) {
            return Err(StoreError::Corrupt(format!(
                "unit chain of {} skips to depth {}",
                link.start, link.depth
            )));
        }
        chain.push(unit);
    }
    Ok(chains)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(start: Uuid, depth: i64, unit: Uuid) -> Link {
        Link { start, depth, unit }
    }

    #[test]
    fn chains_are_nearest_first_whatever_order_the_rows_came_in() {
        let (a, b, c, d) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let chains = unit_chains(vec![
            link(a, 2, c),
            link(d, 0, d),
            link(a, 0, a),
            link(d, 1, c),
            link(a, 1, b),
            link(a, 1, b),
        ])
        .unwrap();
        let ids = |ids: &[Uuid]| {
            ids.iter()
                .map(|id| UnitId::from_uuid(*id))
                .collect::<Vec<_>>()
        };
        assert_eq!(chains[&UnitId::from_uuid(a)], ids(&[a, b, c]));
        assert_eq!(chains[&UnitId::from_uuid(d)], ids(&[d, c]));
    }

    #[test]
    fn a_cycle_or_a_tree_too_deep_is_corrupt() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let cycle = unit_chains(vec![link(a, 0, a), link(a, 1, b), link(a, 2, a)]);
        assert!(matches!(cycle, Err(StoreError::Corrupt(_))));
        let deep: Vec<Link> = (0..=MAX_UNIT_DEPTH)
            .map(|depth| link(a, depth, Uuid::now_v7()))
            .collect();
        assert!(unit_chains(deep[..deep.len() - 1].to_vec()).is_ok());
        assert!(matches!(unit_chains(deep), Err(StoreError::Corrupt(_))));
    }
}
