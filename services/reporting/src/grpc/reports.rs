//! `ReportService`: scoped reports. Each report asks authorization what the caller holds the
//! report permission through (one ListGrants, as the caller), turns that into SQL over the
//! projections ([`crate::scope_sql`]) and reads one page. `ListAttendance` answers
//! `UNIMPLEMENTED` (the generated default) until bookings are projected.

use std::sync::Arc;

use lms_api::reporting::v1::report_service_server::{ReportService, ReportServiceServer};
use lms_api::reporting::v1::{
    LearnerProgressRow, ListLearnerProgressRequest, ListLearnerProgressResponse, ProgressOrder,
    ProgressState,
};
use lms_kernel::{CourseId, GroupId, Permission, UnitId, UserId};
use lms_runtime::auth::acting;
use lms_runtime::paging::{page, page_size};
use lms_runtime::peers::Authorization;
use lms_runtime::request::timestamp;
use lms_runtime::{ApiError, Database, clock};
use tonic::{Request, Response, Status};

use crate::progress::{self, Filters, Order, ProgressRow};
use crate::scope_sql::ReportScope;

/// What the report handlers share.
#[derive(Debug, Clone)]
pub struct Reports(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    database: Database,
    authorization: Authorization,
}

/// The gRPC service.
pub fn service(database: Database, authorization: Authorization) -> ReportServiceServer<Reports> {
    ReportServiceServer::new(Reports(Arc::new(Shared {
        database,
        authorization,
    })))
}

/// A store failure: UNAVAILABLE when the store is out of reach, else INTERNAL (logged).
fn store_failed(error: sqlx::Error) -> ApiError {
    if lms_runtime::store::is_outage(&error) {
        tracing::warn!(%error, "reporting store unavailable");
        return ApiError::Unavailable {
            dependency: "reporting store",
        };
    }
    ApiError::Internal(Box::new(error))
}

/// An optional id filter: empty is none, anything else must be an id of its kind.
fn optional_id<T: ToString>(
    field: &str,
    value: &str,
    parse: impl Fn(&str) -> Result<T, lms_kernel::IdError>,
) -> Result<Option<String>, ApiError> {
    if value.is_empty() {
        return Ok(None);
    }
    parse(value)
        .map(|id| Some(id.to_string()))
        .map_err(|_| ApiError::invalid_field(field, "is not an id"))
}

fn filters(r: &ListLearnerProgressRequest) -> Result<(Filters, Order), ApiError> {
    let state = match ProgressState::try_from(r.state) {
        Ok(ProgressState::Unspecified) => None,
        // The report's states share delegation's enrolment numbers.
        Ok(state) => Some(state as i16),
        Err(_) => return Err(ApiError::invalid_field("state", "is not a progress state")),
    };
    let order = match ProgressOrder::try_from(r.order) {
        Ok(ProgressOrder::Unspecified | ProgressOrder::Learner) => Order::Learner,
        Ok(ProgressOrder::Course) => Order::Course,
        Err(_) => return Err(ApiError::invalid_field("order", "is not a progress order")),
    };
    let filters = Filters {
        course: optional_id("course_id", &r.course_id, CourseId::parse)?,
        user: optional_id("user_id", &r.user_id, UserId::parse)?,
        group: optional_id("group_id", &r.group_id, GroupId::parse)?,
        unit: optional_id("unit_id", &r.unit_id, UnitId::parse)?,
        state,
    };
    Ok((filters, order))
}

fn progress_row(row: ProgressRow) -> LearnerProgressRow {
    let display_name = [row.given_name.as_str(), row.family_name.as_str()]
        .iter()
        .filter(|part| !part.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    LearnerProgressRow {
        user_id: row.user_id,
        display_name,
        course_id: row.course_id,
        course_title: row.title,
        state: i32::from(row.state),
        completed_at: row.completed_at.map(timestamp),
        email: row.email,
        enrolment_id: row.enrolment_id,
        tenant_id: row.tenant_id.to_string(),
        enrolled_at: row.enrolled_at.map(timestamp),
        started_at: row.started_at.map(timestamp),
        score: row.score,
    }
}

#[tonic::async_trait]
impl ReportService for Reports {
    async fn list_learner_progress(
        &self,
        request: Request<ListLearnerProgressRequest>,
    ) -> Result<Response<ListLearnerProgressResponse>, Status> {
        let acting = acting(&request)?;
        let r = request.get_ref();
        let (filters, order) = filters(r)?;
        let after = progress::start_after(&r.page_token, &filters, order)?;
        let limit = page_size(r.page_size, 100, 1000);
        let grants = self
            .0
            .authorization
            .grants(&acting, Permission::ReportsRead)
            .await?;
        let scope = ReportScope::from_grants(acting.tenant, acting.user, &grants)?;
        if scope.is_empty() {
            return Ok(Response::new(ListLearnerProgressResponse::default()));
        }
        let sql = progress::statement(
            &scope,
            &filters,
            order,
            after.as_deref(),
            limit + 1,
            clock::now(),
        );
        let rows = progress::rows(&self.0.database, &sql)
            .await
            .map_err(store_failed)?;
        let (rows, next_page_token) = page(rows, limit, |row| {
            progress::page_token(row, &filters, order)
        });
        Ok(Response::new(ListLearnerProgressResponse {
            rows: rows.into_iter().map(progress_row).collect(),
            next_page_token,
        }))
    }
}
