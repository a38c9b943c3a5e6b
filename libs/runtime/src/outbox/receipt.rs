//! What a request appended to the outbox, so the request path delivers up to its own events
//! (never later ones) and knows whether its own events were set aside, even when another
//! replica or the background loop delivered them.
//!
//! The server stack opens a receipt around every request ([`scope`]); [`super::append`] writes
//! the sequence numbers it was given into it. Store methods therefore need not hand sequence
//! numbers back through every signature. Outside a request (a spawned import stream, a test)
//! there is no receipt and the relay falls back to everything committed so far.

use std::cell::RefCell;
use std::future::Future;

use lms_kernel::TenantId;

tokio::task_local! {
    static APPENDED: RefCell<Vec<(TenantId, i64)>>;
}

/// Runs `request` with an empty receipt.
pub fn scope<F: Future>(request: F) -> impl Future<Output = F::Output> {
    APPENDED.scope(RefCell::new(Vec::new()), request)
}

/// Notes that this request appended `sequence` for `tenant` (no-op outside a request).
pub(crate) fn record(tenant: TenantId, sequence: i64) {
    let _ = APPENDED.try_with(|appended| appended.borrow_mut().push((tenant, sequence)));
}

/// The sequence numbers this request appended for `tenant`; `None` outside a request.
pub(crate) fn appended(tenant: TenantId) -> Option<Vec<i64>> {
    APPENDED
        .try_with(|appended| {
            appended
                .borrow()
                .iter()
                .filter(|(of, _)| *of == tenant)
                .map(|(_, sequence)| *sequence)
                .collect()
        })
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_sees_only_what_it_appended_and_nothing_outside_one() {
        let (tenant, other) = (TenantId::generate(), TenantId::generate());
        assert_eq!(appended(tenant), None);
        record(tenant, 1);
        let seen = scope(async move {
            record(tenant, 7);
            record(other, 8);
            record(tenant, 9);
            appended(tenant)
        })
        .await;
        assert_eq!(seen, Some(vec![7, 9]));
    }
}
