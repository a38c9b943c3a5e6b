//! The purchases report: shop orders with their seats bought, invitations waiting and taken
//! (the buyer's invitees) and seats free, newest first, inside the caller's [`ReportScope`]: an
//! order shows when the caller may report on its buyer. Its course does not open it: a
//! Purchaser is no learner of the course, so its tutors and administrators may not report on
//! them. Keyset pages by order id, descending (ids are time-ordered).

use lms_api::delegation::v1::BuyerRole;
use lms_runtime::ApiError;

use crate::listing::{Listing, newest_first, only};
use crate::scope_sql::{Columns, ReportScope, Sql};

/// One order with its buyer and course.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct PurchaseRow {
    /// The buyer's tenant.
    pub tenant_id: uuid::Uuid,
    /// The order.
    pub order_id: String,
    /// The shop's id of it.
    pub shop_order_id: String,
    /// The course.
    pub course_id: String,
    /// The course title; empty while the course's record has not arrived.
    pub title: String,
    /// The buyer.
    pub buyer_id: String,
    /// The buyer's names; empty for the anonymised.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Seats bought.
    pub seats: i32,
    /// The role the order gave its buyer (delegation's `BuyerRole` number).
    pub buyer_role: i16,
    /// Invitations waiting.
    pub waiting: i32,
    /// Invitations taken.
    pub taken: i32,
    /// When placed (seconds).
    pub placed_at: i64,
}

impl PurchaseRow {
    /// Seats neither waiting nor taken: only a Purchaser's seats are offered (a Student's seat
    /// is their own, by delegation's rule, carried in the record).
    pub fn free(&self) -> i32 {
        if i32::from(self.buyer_role) != BuyerRole::Purchaser as i32 {
            return 0;
        }
        (self.seats - self.waiting - self.taken).max(0)
    }
}

/// Only this course, only this buyer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    /// Only this course.
    pub course: Option<String>,
    /// Only this buyer.
    pub buyer: Option<String>,
}

fn fingerprint(filters: &Filters) -> String {
    format!(
        "purchases/{}/{}",
        filters.course.clone().unwrap_or_default(),
        filters.buyer.clone().unwrap_or_default(),
    )
}

/// The purchases listing.
#[derive(Clone, Copy, Debug)]
pub struct Purchases;

impl Listing for Purchases {
    type Filters = Filters;
    type After = String;
    type Row = PurchaseRow;

    fn start_after(token: &str, filters: &Filters) -> Result<Option<String>, ApiError> {
        crate::page_token::decode_id(token, &fingerprint(filters))
    }

    /// The statement of one page: `limit` orders of `scope` under `filters`, before `after`
    /// (newest first), at `now`.
    fn statement(
        scope: &ReportScope,
        filters: &Filters,
        after: Option<&String>,
        limit: i64,
        now: i64,
    ) -> Sql {
        let columns = Columns {
            tenant: "o.tenant_id",
            user: "o.buyer_id",
            course: None,
            event: None,
        };
        let mut sql = scope.select(
            "SELECT o.tenant_id, o.order_id, o.shop_order_id, o.course_id, \
             COALESCE(c.title, '') AS title, o.buyer_id, p.given_name, p.family_name, o.seats, \
             o.buyer_role, o.waiting, o.taken, o.placed_at \
             FROM projected_orders o \
             JOIN projected_people p ON p.tenant_id = o.tenant_id AND p.user_id = o.buyer_id \
             LEFT JOIN projected_courses c ON c.course_id = o.course_id AND NOT c.removed \
             WHERE NOT p.removed AND ",
            columns,
            now,
        );
        only(&mut sql, "o.course_id", filters.course.as_ref());
        only(&mut sql, "o.buyer_id", filters.buyer.as_ref());
        newest_first(&mut sql, "o.order_id", after, limit);
        sql
    }

    fn page_token(row: &PurchaseRow, filters: &Filters) -> String {
        crate::page_token::encode_id(&fingerprint(filters), &row.order_id)
    }

    /// Orders show by their buyer alone.
    fn shows_any(scope: &ReportScope) -> bool {
        scope.reaches_people()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(role: BuyerRole, seats: i32, waiting: i32, taken: i32) -> PurchaseRow {
        PurchaseRow {
            tenant_id: uuid::Uuid::nil(),
            order_id: String::new(),
            shop_order_id: String::new(),
            course_id: String::new(),
            title: String::new(),
            buyer_id: String::new(),
            given_name: String::new(),
            family_name: String::new(),
            seats,
            buyer_role: role as i16,
            waiting,
            taken,
            placed_at: 0,
        }
    }

    #[test]
    fn free_seats_are_those_neither_offered_nor_taken() {
        assert_eq!(row(BuyerRole::Purchaser, 5, 2, 1).free(), 2);
        assert_eq!(row(BuyerRole::Purchaser, 5, 0, 5).free(), 0);
        // A Student's seat is their own, never offered.
        assert_eq!(row(BuyerRole::Student, 1, 0, 0).free(), 0);
    }
}
