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
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// What this replica knows about one tenant's invalidations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Horizon {
    /// Entries read before this revision are not used (tenant-wide changes, lost invalidations).
    floor: i64,
    /// Every invalidation up to this revision has been applied (or concerns no usable entry).
    heard: i64,
    /// Invalidations heard beyond `heard`, waiting for the ones between.
    ahead: BTreeSet<i64>,
    /// The last round: when it began and the revision the store held then.
    last_round: Option<(i64, i64)>,
    /// When (ms since the epoch) a round began after which every write it could see has been
    /// heard: all writes committed before then are reflected in this replica's entries.
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
        if revision > self.heard {
            self.ahead.insert(revision);
            self.absorb();
        }
    }

    /// Moves `heard` over the invalidations that now follow it without a gap.
    fn absorb(&mut self) {
        while let Some(&next) = self.ahead.first() {
            if next > self.heard + 1 {
                break;
            }
            self.heard = self.heard.max(next);
            self.ahead.pop_first();
        }
    }

    /// Everything up to `revision` is accounted for by the floor.
    fn raise_floor(&mut self, revision: i64) {
        self.floor = self.floor.max(revision);
        self.heard = self.heard.max(revision);
        self.absorb();
    }
}

/// The horizons of every tenant this replica has entries or invalidations for.
#[derive(Debug, Default)]
pub struct Horizons {
    /// Read on every decision, written by invalidations and rounds.
    tenants: RwLock<HashMap<uuid::Uuid, Horizon>>,
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
    fn read(&self) -> RwLockReadGuard<'_, HashMap<uuid::Uuid, Horizon>> {
        self.tenants.read().unwrap_or_else(|p| p.into_inner())
    }

    fn lock(&self) -> RwLockWriteGuard<'_, HashMap<uuid::Uuid, Horizon>> {
        self.tenants.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts following `tenant` for an entry read at `revision` (a store read this replica
    /// made, so the tenant exists); answers whether such an entry may be kept.
    pub fn admit(&self, tenant: uuid::Uuid, revision: i64) -> bool {
        if let Some(h) = self.read().get(&tenant) {
            return h.floor <= revision;
        }
        self.lock()
            .entry(tenant)
            .or_insert_with(|| Horizon::starting_at(revision))
            .floor
            <= revision
    }

    /// Records an invalidation of `tenant` at `revision` (and its floor, when tenant-wide).
    pub fn hear(&self, tenant: uuid::Uuid, revision: i64, floor: Option<i64>) {
        let mut tenants = self.lock();
        let h = tenants
            .entry(tenant)
            .or_insert_with(|| Horizon::starting_at(revision));
        h.hear(revision);
        if let Some(floor) = floor {
            h.floor = h.floor.max(floor);
        }
    }

    /// How far an entry of `tenant` read at `revision` is trusted, `now_ms` being now and
    /// `bound_ms` the staleness bound. A tenant not followed yet trusts only young entries.
    pub fn trust(&self, tenant: uuid::Uuid, revision: i64, now_ms: i64, bound_ms: i64) -> Trust {
        match self.read().get(&tenant) {
            None => Trust::Young,
            Some(h) if revision < h.floor => Trust::Below,
            Some(h) if h.synced_at_ms.is_some_and(|at| now_ms - at <= bound_ms) => Trust::Synced,
            Some(_) => Trust::Young,
        }
    }

    /// The tenants whose revisions the next round reads.
    pub fn tenants(&self) -> Vec<uuid::Uuid> {
        self.read().keys().copied().collect()
    }

    /// One round: `stored` holds the revisions the store answered for tenants, read from a
    /// moment `started_ms` on. Answers the tenants whose floor rose (their invalidations were
    /// lost) with the new floor.
    pub fn reconcile(
        &self,
        started_ms: i64,
        stored: &[(uuid::Uuid, i64)],
    ) -> Vec<(uuid::Uuid, i64)> {
        let mut raised = Vec::new();
        let mut tenants = self.lock();
        for &(tenant, revision) in stored {
            let Some(h) = tenants.get_mut(&tenant) else {
                continue;
            };
            if let Some((last_started, last_revision)) = h.last_round {
                // Not heard a whole round after the store held it: lost, not late.
                if h.heard < last_revision {
                    h.raise_floor(last_revision);
                    raised.push((tenant, last_revision));
                }
                // Everything the last round could see is heard now.
                h.synced_at_ms = Some(last_started);
            }
            if h.heard >= revision {
                h.synced_at_ms = Some(started_ms);
            }
            h.last_round = Some((started_ms, revision));
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
        assert!(horizons.admit(tenant(), 5));
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
        assert!(horizons.admit(tenant(), 9));
        assert!(!horizons.admit(tenant(), 8));
        assert_eq!(horizons.trust(tenant(), 9, 0, BOUND), Trust::Young);
        assert_eq!(horizons.trust(tenant(), 8, 0, BOUND), Trust::Below);
    }

    #[test]
    fn a_tenant_never_read_is_not_followed() {
        let horizons = Horizons::default();
        assert_eq!(horizons.trust(tenant(), 0, 0, BOUND), Trust::Young);
        assert!(horizons.tenants().is_empty());
    }

    #[test]
    fn a_raised_floor_absorbs_the_invalidations_heard_beyond_it() {
        let horizons = Horizons::default();
        horizons.hear(tenant(), 5, None);
        horizons.reconcile(0, &[(tenant(), 6)]);
        // 6 is lost; 7 arrives before the next round, which reads 7.
        horizons.hear(tenant(), 7, None);
        assert_eq!(horizons.reconcile(250, &[(tenant(), 7)]), [(tenant(), 6)]);
        // 7 was heard: no second raise, and the tenant is in sync.
        assert!(horizons.reconcile(500, &[(tenant(), 7)]).is_empty());
        assert_eq!(horizons.trust(tenant(), 6, 600, BOUND), Trust::Synced);
    }

    #[test]
    fn a_busy_tenant_stays_in_sync_one_round_behind() {
        let horizons = Horizons::default();
        horizons.hear(tenant(), 1, None);
        // Every round reads a revision written just before it, heard just after.
        for round in 0..8_i64 {
            horizons.reconcile(round * 250, &[(tenant(), round + 2)]);
            horizons.hear(tenant(), round + 2, None);
        }
        assert_eq!(horizons.trust(tenant(), 1, 8 * 250, BOUND), Trust::Synced);
    }
}
