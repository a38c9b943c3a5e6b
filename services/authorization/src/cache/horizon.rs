//! How far each tenant's cached entries can be trusted: the invalidations this replica has heard
//! (by the revision each carries), the floor below which entries are dropped, and the last time
//! the replica knew it had heard everything the store holds.
//!
//! The store's revisions are the heartbeat. Every write bumps its tenant's revision by one and
//! publishes one invalidation carrying it, so the invalidations of a tenant are numbered without
//! gaps. A replica reads the revisions of the tenants it holds entries for every quarter of the
//! staleness bound ([`Horizons::reconcile`]): when it has heard every invalidation up to the
//! revision read, everything written before that read is already reflected in what it holds, so
//! it may keep trusting its entries however old they are. When an invalidation is missing
//! (Redis restarted, the subscription dropped, a publish failed, a writer crashed between its
//! commit and its publish), the replica waits one round for it and then raises the tenant's floor
//! to the revision read, dropping every older entry. Meanwhile, and whenever the store cannot be
//! read, only entries younger than the bound are used: never a stale answer past the bound.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

/// What this replica knows about one tenant's invalidations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Horizon {
    /// Entries read before this revision are not used (tenant-wide changes, lost invalidations).
    floor: i64,
    /// Every invalidation up to this revision has been applied (or concerns no usable entry).
    heard: i64,
    /// Invalidations heard beyond `heard`, waiting for the ones between.
    ahead: BTreeSet<i64>,
    /// A revision the store held at the last round that had not been heard yet.
    missing: Option<i64>,
    /// When (ms since the epoch) a round last found every stored revision heard: all writes
    /// committed before then are reflected in this replica's entries.
    synced_at_ms: Option<i64>,
}

impl Horizon {
    /// A tenant first seen at `revision`: nothing older is trusted, so nothing older matters.
    fn starting_at(revision: i64) -> Horizon {
        Horizon {
            floor: revision,
            heard: revision,
            ..Horizon::default()
        }
    }

    fn hear(&mut self, revision: i64) {
        if revision <= self.heard {
            return;
        }
        self.ahead.insert(revision);
        while self.ahead.first() == Some(&(self.heard + 1)) {
            self.heard += 1;
            self.ahead.pop_first();
        }
    }

    /// Everything up to `revision` is accounted for by the floor.
    fn raise_floor(&mut self, revision: i64) {
        self.floor = self.floor.max(revision);
        if revision > self.heard {
            self.heard = revision;
            self.ahead.retain(|r| *r > revision);
            self.hear(revision); // absorbs what follows contiguously
        }
    }
}

/// The horizons of every tenant this replica has entries or invalidations for.
#[derive(Debug, Default)]
pub struct Horizons {
    tenants: Mutex<HashMap<uuid::Uuid, Horizon>>,
}

/// Whether an entry may be used, as far as its tenant's horizon is concerned.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Trust {
    /// Read before the tenant's floor: never used.
    Below,
    /// Usable whatever its age: the replica has heard every change up to a moment within the
    /// bound.
    Synced,
    /// Usable only while younger than the bound.
    Young,
}

impl Horizons {
    fn with<T>(&self, tenant: uuid::Uuid, first: i64, f: impl FnOnce(&mut Horizon) -> T) -> T {
        let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        f(tenants
            .entry(tenant)
            .or_insert_with(|| Horizon::starting_at(first)))
    }

    /// Records an invalidation of `tenant` at `revision` (and its floor, when tenant-wide).
    pub fn hear(&self, tenant: uuid::Uuid, revision: i64, floor: Option<i64>) {
        self.with(tenant, revision, |h| {
            h.hear(revision);
            if let Some(floor) = floor {
                h.floor = h.floor.max(floor);
            }
        });
    }

    /// How far an entry of `tenant` read at `revision` is trusted, `now_ms` being now and
    /// `bound_ms` the staleness bound.
    pub fn trust(&self, tenant: uuid::Uuid, revision: i64, now_ms: i64, bound_ms: i64) -> Trust {
        self.with(tenant, revision, |h| {
            if revision < h.floor {
                Trust::Below
            } else if h.synced_at_ms.is_some_and(|at| now_ms - at <= bound_ms) {
                Trust::Synced
            } else {
                Trust::Young
            }
        })
    }

    /// The tenants whose revisions the next round reads.
    pub fn tenants(&self) -> Vec<uuid::Uuid> {
        let tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        tenants.keys().copied().collect()
    }

    /// One round: `stored` holds the revisions the store answered for tenants, read from a
    /// moment `started_ms` on. Answers the tenants whose floor rose (their invalidations were
    /// lost).
    pub fn reconcile(
        &self,
        started_ms: i64,
        stored: &[(uuid::Uuid, i64)],
    ) -> Vec<(uuid::Uuid, i64)> {
        let mut raised = Vec::new();
        let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        for &(tenant, revision) in stored {
            let Some(h) = tenants.get_mut(&tenant) else {
                continue;
            };
            // Missing since the last round: lost, not late.
            if let Some(missing) = h.missing.take()
                && h.heard < missing
            {
                h.raise_floor(missing);
                raised.push((tenant, missing));
            }
            if h.heard >= revision {
                h.synced_at_ms = Some(started_ms);
            } else {
                h.missing = Some(revision);
            }
        }
        raised
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUND: i64 = 1_000;

    fn tenant() -> uuid::Uuid {
        uuid::Uuid::from_u128(7)
    }

    #[test]
    fn entries_are_young_only_until_a_round_finds_everything_heard() {
        let horizons = Horizons::default();
        assert_eq!(horizons.trust(tenant(), 5, 10_000, BOUND), Trust::Young);
        horizons.reconcile(10_000, &[(tenant(), 5)]);
        assert_eq!(horizons.trust(tenant(), 5, 10_900, BOUND), Trust::Synced);
        // No round since: the moment the replica knew it was up to date is past the bound.
        assert_eq!(horizons.trust(tenant(), 5, 11_001, BOUND), Trust::Young);
    }

    #[test]
    fn a_missing_invalidation_is_waited_for_one_round_then_raises_the_floor() {
        let horizons = Horizons::default();
        horizons.hear(tenant(), 5, None);
        horizons.reconcile(0, &[(tenant(), 5)]);
        // Revisions 6 and 7 were written; only 7 was heard.
        horizons.hear(tenant(), 7, None);
        assert!(horizons.reconcile(250, &[(tenant(), 7)]).is_empty());
        assert_eq!(horizons.trust(tenant(), 5, 500, BOUND), Trust::Synced);
        // Still missing a round later: lost. Entries read before 7 go.
        assert_eq!(horizons.reconcile(500, &[(tenant(), 7)]), [(tenant(), 7)]);
        assert_eq!(horizons.trust(tenant(), 6, 600, BOUND), Trust::Below);
        assert_eq!(horizons.trust(tenant(), 7, 600, BOUND), Trust::Synced);
    }

    #[test]
    fn a_late_invalidation_heard_before_the_next_round_raises_nothing() {
        let horizons = Horizons::default();
        horizons.hear(tenant(), 5, None);
        horizons.reconcile(0, &[(tenant(), 6)]);
        horizons.hear(tenant(), 6, None);
        assert!(horizons.reconcile(250, &[(tenant(), 6)]).is_empty());
        assert_eq!(horizons.trust(tenant(), 5, 300, BOUND), Trust::Synced);
    }

    #[test]
    fn out_of_order_invalidations_count_once_all_have_arrived() {
        let horizons = Horizons::default();
        horizons.hear(tenant(), 5, None);
        horizons.hear(tenant(), 8, None);
        horizons.hear(tenant(), 7, None);
        horizons.reconcile(0, &[(tenant(), 8)]);
        assert_eq!(horizons.trust(tenant(), 5, 10, BOUND), Trust::Young);
        horizons.hear(tenant(), 6, None);
        horizons.reconcile(250, &[(tenant(), 8)]);
        assert_eq!(horizons.trust(tenant(), 5, 300, BOUND), Trust::Synced);
    }

    #[test]
    fn a_tenant_wide_floor_drops_older_entries_at_once() {
        let horizons = Horizons::default();
        horizons.hear(tenant(), 5, None);
        horizons.hear(tenant(), 6, Some(6));
        assert_eq!(horizons.trust(tenant(), 5, 0, BOUND), Trust::Below);
        assert_eq!(horizons.trust(tenant(), 6, 0, BOUND), Trust::Young);
    }

    #[test]
    fn a_tenant_first_seen_trusts_nothing_older_than_that_first_revision() {
        let horizons = Horizons::default();
        assert_eq!(horizons.trust(tenant(), 9, 0, BOUND), Trust::Young);
        assert_eq!(horizons.trust(tenant(), 8, 0, BOUND), Trust::Below);
    }
}
