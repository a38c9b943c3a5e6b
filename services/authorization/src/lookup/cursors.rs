//! Lookup cursors: a lookup's computed set is kept for a minute under a cursor id, so paging
//! through it reads the store once, not once per page. The page token carries the cursor and
//! the last id answered; a cursor that expired or was evicted (or a token of the old form, the
//! last id alone) recomputes and goes on after that id.
//!
//! A cursor answers only the request that made it (the same caller, tenant and question), so a
//! token cannot read someone else's set. Its pages are one snapshot, taken at the consistency
//! the first page asked for; a later page asking for a newer token, or fully consistent while
//! the tenant changed since the set was computed, recomputes.

use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use lms_runtime::ApiError;
use lms_runtime::paging::page_size;
use moka::sync::Cache;
use uuid::Uuid;

use crate::store::Revision;

/// How long a computed set stays pageable.
const CURSOR_TTL: Duration = Duration::from_secs(60);

/// Ids kept across every cursor of a replica (16 bytes each): about 32 MiB.
const KEPT_IDS: u64 = 2_000_000;

/// One computed lookup.
#[derive(Debug)]
pub struct Computed {
    /// Which request made it; a cursor answers only the same request.
    pub question: String,
    /// Every object of the type (a tenant-wide grant): nothing is listed.
    pub all_of_type: bool,
    /// The ids, ordered.
    pub ids: BTreeSet<Uuid>,
    /// A fan-out limit cut the set.
    pub truncated: bool,
    /// The revision the set is at least as fresh as.
    pub revision: Revision,
}

/// Where a page starts.
#[derive(Clone, Copy, Debug, Default)]
pub struct Token {
    /// The set to continue, when it is still kept.
    pub cursor: Option<Uuid>,
    /// The last id of the previous page.
    pub after: Option<Uuid>,
}

impl Token {
    /// Reads a page token: empty, `<cursor>.<last id>`, or a last id alone.
    pub fn parse(token: &str) -> Result<Token, ApiError> {
        let bad = || ApiError::invalid_field("page_token", "is not a token from this lookup");
        let id = |text: &str| Uuid::try_parse(text).map_err(|_| bad());
        Ok(match token.split_once('.') {
            _ if token.is_empty() => Token::default(),
            Some((cursor, after)) => Token {
                cursor: Some(id(cursor)?),
                after: Some(id(after)?),
            },
            None => Token {
                cursor: None,
                after: Some(id(token)?),
            },
        })
    }
}

/// The computed sets kept for paging, bounded in time and in ids held.
#[derive(Debug)]
pub struct Cursors {
    sets: Cache<Uuid, Arc<Computed>>,
}

impl Default for Cursors {
    fn default() -> Self {
        Cursors {
            sets: Cache::builder()
                .time_to_live(CURSOR_TTL)
                .weigher(|_, set: &Arc<Computed>| {
                    u32::try_from(set.ids.len()).unwrap_or(u32::MAX).max(1)
                })
                .max_capacity(KEPT_IDS)
                .build(),
        }
    }
}

impl Cursors {
    /// The set `token` continues, when it is still kept, was made by the same `question` and
    /// is at least at `floor` (`Core::page_floor`).
    pub fn resume(
        &self,
        token: Token,
        question: &str,
        floor: Option<Revision>,
    ) -> Option<(Uuid, Arc<Computed>)> {
        let cursor = token.cursor?;
        let set = self.sets.get(&cursor)?;
        let fresh = floor.is_none_or(|floor| set.revision >= floor);
        (set.question == question && fresh).then_some((cursor, set))
    }

    /// One page of `set` after the token's id, and the token of the next page (empty on the
    /// last). A set with more pages is kept under `cursor` (a new one when `None`).
    pub fn page(
        &self,
        set: Arc<Computed>,
        cursor: Option<Uuid>,
        token: Token,
        size: i32,
    ) -> (Vec<String>, String) {
        let after = token.after.map_or(Bound::Unbounded, Bound::Excluded);
        let limit = page_size(size, 1000, 10_000) as usize;
        let mut shown: Vec<Uuid> = set
            .ids
            .range((after, Bound::Unbounded))
            .take(limit + 1)
            .copied()
            .collect();
        if shown.len() <= limit {
            return (shown.iter().map(Uuid::to_string).collect(), String::new());
        }
        shown.truncate(limit);
        let cursor = match cursor {
            Some(cursor) => cursor,
            None => {
                let cursor = Uuid::new_v4();
                self.sets.insert(cursor, set);
                cursor
            }
        };
        let last = shown.last().copied().unwrap_or_default();
        (
            shown.iter().map(Uuid::to_string).collect(),
            format!("{cursor}.{last}"),
        )
    }
}
