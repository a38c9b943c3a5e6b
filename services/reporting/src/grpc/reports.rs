//! `ReportService`: scoped reports. Each report asks authorization what the caller holds the
//! report permission through (one ListGrants, as the caller), turns that into SQL over the
//! projections ([`crate::scope_sql`]) and reads one page, or streams them all as a file
//! ([`crate::export`]); attendance ([`crate::attendance`]) and the tenant summary
//! ([`crate::summary`]) are scoped the same way.

use std::sync::Arc;

use lms_api::delegation::v1::{BookingStatus, EnrolmentRequestStatus};
use lms_api::reporting::v1::report_service_server::{ReportService, ReportServiceServer};
use lms_api::reporting::v1::{
    AttendanceRow, CompetencySignOffRow, EnrolmentRequestRow, ExportFormat,
    ExportLearnerProgressRequest, ExportLearnerProgressResponse, GetTenantSummaryRequest,
    GetTenantSummaryResponse, LearnerProgressRow, ListAttendanceRequest, ListAttendanceResponse,
    ListCompetencySignOffsRequest, ListCompetencySignOffsResponse, ListEnrolmentRequestsRequest,
    ListEnrolmentRequestsResponse, ListLearnerProgressRequest, ListLearnerProgressResponse,
    ListPurchasesRequest, ListPurchasesResponse, ProgressOrder, ProgressState, ProgressTotals,
    PurchaseRow,
};
use lms_kernel::{CourseId, EventId, GroupId, Permission, UnitId, UserId};
use lms_runtime::auth::{Acting, acting};
use lms_runtime::paging::{page, page_size};
use lms_runtime::peers::Authorization;
use lms_runtime::request::timestamp;
use lms_runtime::{ApiError, Database, clock};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::attendance;
use crate::competencies;
use crate::export;
use crate::listing::Listing;
use crate::progress::{self, Filters, Order, ProgressRow};
use crate::purchases;
use crate::requests;
use crate::scope_sql::{ReportScope, fetch_all};
use crate::summary::{self, Totals};

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
    field: String,
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

/// The filters and order of a progress request, its fields named under `prefix` in errors.
fn filters(r: &ListLearnerProgressRequest, prefix: &str) -> Result<(Filters, Order), ApiError> {
    let field = |name: &str| format!("{prefix}{name}");
    let state = match ProgressState::try_from(r.state) {
        Ok(ProgressState::Unspecified) => None,
        // The report's states share delegation's enrolment numbers.
        Ok(state) => Some(state as i16),
        Err(_) => {
            return Err(ApiError::invalid_field(
                field("state"),
                "is not a progress state",
            ));
        }
    };
    let order = match ProgressOrder::try_from(r.order) {
        Ok(ProgressOrder::Unspecified | ProgressOrder::Learner) => Order::Learner,
        Ok(ProgressOrder::Course) => Order::Course,
        Err(_) => {
            return Err(ApiError::invalid_field(
                field("order"),
                "is not a progress order",
            ));
        }
    };
    let filters = Filters {
        course: optional_id(field("course_id"), &r.course_id, CourseId::parse)?,
        user: optional_id(field("user_id"), &r.user_id, UserId::parse)?,
        group: optional_id(field("group_id"), &r.group_id, GroupId::parse)?,
        unit: optional_id(field("unit_id"), &r.unit_id, UnitId::parse)?,
        state,
    };
    Ok((filters, order))
}

fn progress_row(row: ProgressRow) -> LearnerProgressRow {
    let display_name = display_name(&row.given_name, &row.family_name);
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
        main_role_id: row.main_role_id,
        team_name: row.team_name,
        unit_name: row.unit_name,
    }
}

impl Shared {
    /// One page of listing `L` for `acting` under `filters`: a bad page token is refused before
    /// authorization is asked, and a scope that can show nothing answers no rows. The rows and
    /// the next page's token (empty on the last page).
    async fn list<L: Listing>(
        &self,
        acting: &Acting,
        filters: &L::Filters,
        token: &str,
        requested: i32,
    ) -> Result<(Vec<L::Row>, String), ApiError> {
        let after = L::start_after(token, filters)?;
        let limit = page_size(requested, 100, 1000);
        let scope = self.scope(acting, Permission::ReportsRead).await?;
        if !L::shows_any(&scope) {
            return Ok((Vec::new(), String::new()));
        }
        let sql = L::statement(&scope, filters, after.as_ref(), limit + 1, clock::now());
        let rows = fetch_all::<L::Row>(&self.database, &sql)
            .await
            .map_err(store_failed)?;
        Ok(page(rows, limit, |row| L::page_token(row, filters)))
    }

    /// What `acting` may report on with `permission`, as authorization answers it now.
    async fn scope(
        &self,
        acting: &Acting,
        permission: Permission,
    ) -> Result<ReportScope, ApiError> {
        let grants = self.authorization.grants(acting, permission).await?;
        ReportScope::from_grants(acting.tenant, acting.user, &grants)
    }

    /// Streams `scope`'s rows under `filters` in `order` to `sender` as `format`, a page at a
    /// time; the last chunk says `complete`. Stops when the receiver is gone.
    async fn export(
        &self,
        scope: ReportScope,
        filters: Filters,
        order: Order,
        format: export::Format,
        sender: mpsc::Sender<Result<ExportLearnerProgressResponse, Status>>,
    ) -> Result<(), ApiError> {
        // One moment for every page, so rows never move between pages of one export.
        let now = clock::now();
        let total = progress::count(
            &self.database,
            &progress::count_statement(&scope, &filters, now),
        )
        .await
        .map_err(store_failed)?;
        let plan = progress::plan(&self.database, &scope, &filters, order, now)
            .await
            .map_err(store_failed)?;
        let (mut sent, mut after) = (0, None::<Vec<String>>);
        let mut data = export::header(format).into_bytes();
        loop {
            let rows = progress::page(
                &self.database,
                &scope,
                &filters,
                order,
                after.as_deref(),
                EXPORT_PAGE,
                now,
                plan,
            )
            .await
            .map_err(store_failed)?;
            let complete = rows.len() < EXPORT_PAGE as usize;
            after = rows.last().map(|row| row.key(order));
            sent += rows.len() as i64;
            for row in rows {
                data.extend(export::progress_line(&progress_row(row), format).into_bytes());
            }
            let chunk = ExportLearnerProgressResponse {
                data: std::mem::take(&mut data),
                rows_sent: sent,
                rows_total: total.max(sent),
                complete,
            };
            if sender.send(Ok(chunk)).await.is_err() || complete {
                return Ok(());
            }
        }
    }
}

/// Rows read and sent at a time by an export.
const EXPORT_PAGE: i64 = 1000;

/// The stream of an export (the generated trait names it, as it does for packages with
/// default methods).
type ExportStream = tonic::codegen::BoxStream<ExportLearnerProgressResponse>;

/// A person's name as reports show it: given and family, either left out when empty.
fn display_name(given: &str, family: &str) -> String {
    [given, family]
        .iter()
        .filter(|part| !part.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

fn attendance_row(row: attendance::AttendanceRow) -> AttendanceRow {
    let status = BookingStatus::try_from(i32::from(row.status)).unwrap_or_default();
    AttendanceRow {
        event_id: row.event_id,
        user_id: row.user_id,
        display_name: display_name(&row.given_name, &row.family_name),
        booking_status: status
            .as_str_name()
            .trim_start_matches("BOOKING_STATUS_")
            .to_lowercase(),
        attended: matches!(
            status,
            BookingStatus::Attended | BookingStatus::PartlyAttended
        ),
        booking_id: row.booking_id,
        course_id: row.course_id,
        event_title: row.title,
        starts_at: Some(timestamp(row.starts_at)),
        email: row.email,
        tenant_id: row.tenant_id.to_string(),
    }
}

fn totals(totals: Totals) -> ProgressTotals {
    let [_, not_started, in_progress, completed, withdrawn] = totals.by_state;
    ProgressTotals {
        tenant_id: match totals.tenant_id.is_nil() {
            true => String::new(),
            false => totals.tenant_id.to_string(),
        },
        course_id: totals.course_id,
        course_title: totals.title,
        not_started,
        in_progress,
        completed,
        withdrawn,
    }
}

fn sign_off_row(row: competencies::SignOffRow) -> CompetencySignOffRow {
    CompetencySignOffRow {
        display_name: display_name(&row.given_name, &row.family_name),
        check_id: row.check_id,
        course_id: row.course_id,
        course_title: row.title,
        user_id: row.user_id,
        signed_off_by: row.signed_off_by,
        signed_off_at: Some(timestamp(row.signed_off_at)),
        note: row.note,
        tenant_id: row.tenant_id.to_string(),
    }
}

fn request_row(row: requests::RequestRow) -> EnrolmentRequestRow {
    let status = EnrolmentRequestStatus::try_from(i32::from(row.status)).unwrap_or_default();
    EnrolmentRequestRow {
        display_name: display_name(&row.given_name, &row.family_name),
        request_id: row.request_id,
        course_id: row.course_id,
        course_title: row.title,
        user_id: row.user_id,
        status: status
            .as_str_name()
            .trim_start_matches("ENROLMENT_REQUEST_STATUS_")
            .to_lowercase(),
        requested_at: Some(timestamp(row.requested_at)),
        decided_at: row.decided_at.map(timestamp),
        tenant_id: row.tenant_id.to_string(),
    }
}

fn purchase_row(row: purchases::PurchaseRow) -> PurchaseRow {
    PurchaseRow {
        buyer_display_name: display_name(&row.given_name, &row.family_name),
        free: row.free(),
        order_id: row.order_id,
        shop_order_id: row.shop_order_id,
        course_id: row.course_id,
        course_title: row.title,
        buyer_user_id: row.buyer_id,
        seats: row.seats,
        waiting: row.waiting,
        taken: row.taken,
        placed_at: Some(timestamp(row.placed_at)),
        tenant_id: row.tenant_id.to_string(),
    }
}

#[tonic::async_trait]
impl ReportService for Reports {
    async fn list_enrolment_requests(
        &self,
        request: Request<ListEnrolmentRequestsRequest>,
    ) -> Result<Response<ListEnrolmentRequestsResponse>, Status> {
        let acting = acting(&request)?;
        let r = request.get_ref();
        let filters = requests::Filters {
            course: optional_id("course_id".into(), &r.course_id, CourseId::parse)?,
            user: optional_id("user_id".into(), &r.user_id, UserId::parse)?,
            waiting_only: r.waiting_only,
        };
        let (rows, next_page_token) = self
            .0
            .list::<requests::Requests>(&acting, &filters, &r.page_token, r.page_size)
            .await?;
        Ok(Response::new(ListEnrolmentRequestsResponse {
            rows: rows.into_iter().map(request_row).collect(),
            next_page_token,
        }))
    }

    async fn list_purchases(
        &self,
        request: Request<ListPurchasesRequest>,
    ) -> Result<Response<ListPurchasesResponse>, Status> {
        let acting = acting(&request)?;
        let r = request.get_ref();
        let filters = purchases::Filters {
            course: optional_id("course_id".into(), &r.course_id, CourseId::parse)?,
            buyer: optional_id("buyer_user_id".into(), &r.buyer_user_id, UserId::parse)?,
        };
        let (rows, next_page_token) = self
            .0
            .list::<purchases::Purchases>(&acting, &filters, &r.page_token, r.page_size)
            .await?;
        Ok(Response::new(ListPurchasesResponse {
            rows: rows.into_iter().map(purchase_row).collect(),
            next_page_token,
        }))
    }

    async fn list_competency_sign_offs(
        &self,
        request: Request<ListCompetencySignOffsRequest>,
    ) -> Result<Response<ListCompetencySignOffsResponse>, Status> {
        let acting = acting(&request)?;
        let r = request.get_ref();
        let filters = competencies::Filters {
            course: optional_id("course_id".into(), &r.course_id, CourseId::parse)?,
            user: optional_id("user_id".into(), &r.user_id, UserId::parse)?,
        };
        let (rows, next_page_token) = self
            .0
            .list::<competencies::SignOffs>(&acting, &filters, &r.page_token, r.page_size)
            .await?;
        Ok(Response::new(ListCompetencySignOffsResponse {
            rows: rows.into_iter().map(sign_off_row).collect(),
            next_page_token,
        }))
    }

    async fn list_attendance(
        &self,
        request: Request<ListAttendanceRequest>,
    ) -> Result<Response<ListAttendanceResponse>, Status> {
        let acting = acting(&request)?;
        let r = request.get_ref();
        let filters = attendance::Filters {
            event: optional_id("event_id".into(), &r.event_id, EventId::parse)?,
            course: optional_id("course_id".into(), &r.course_id, CourseId::parse)?,
        };
        let (rows, next_page_token) = self
            .0
            .list::<attendance::Attendance>(&acting, &filters, &r.page_token, r.page_size)
            .await?;
        Ok(Response::new(ListAttendanceResponse {
            rows: rows.into_iter().map(attendance_row).collect(),
            next_page_token,
        }))
    }

    async fn get_tenant_summary(
        &self,
        request: Request<GetTenantSummaryRequest>,
    ) -> Result<Response<GetTenantSummaryResponse>, Status> {
        let acting = acting(&request)?;
        let r = request.get_ref();
        let after = summary::start_after(&r.page_token)?;
        let limit = page_size(r.page_size, 100, 1000);
        let scope = self.0.scope(&acting, Permission::ReportsRead).await?;
        if !scope.reaches_whole_courses() {
            return Ok(Response::new(GetTenantSummaryResponse::default()));
        }
        let now = clock::now();
        let database = &self.0.database;
        let page_sql = summary::page_statement(&scope, after.as_ref(), limit + 1, now);
        let courses = summary::courses(database, &page_sql)
            .await
            .map_err(store_failed)?;
        let total = summary::total(database, &summary::total_statement(&scope, now))
            .await
            .map_err(store_failed)?;
        let (courses, next_page_token) = page(courses, limit, summary::page_token);
        Ok(Response::new(GetTenantSummaryResponse {
            courses: courses.into_iter().map(totals).collect(),
            total: Some(totals(total)),
            next_page_token,
        }))
    }

    async fn export_learner_progress(
        &self,
        request: Request<ExportLearnerProgressRequest>,
    ) -> Result<Response<ExportStream>, Status> {
        let acting = acting(&request)?;
        let r = request.into_inner();
        let query = r.query.unwrap_or_default();
        for (field, set) in [
            ("query.page_size", query.page_size != 0),
            ("query.page_token", !query.page_token.is_empty()),
        ] {
            if set {
                return Err(ApiError::invalid_field(
                    field,
                    "an export is never paged: leave it empty",
                )
                .into());
            }
        }
        let (filters, order) = filters(&query, "query.")?;
        let format = match ExportFormat::try_from(r.format) {
            Ok(ExportFormat::Unspecified | ExportFormat::Csv) => export::Format::Csv,
            Ok(ExportFormat::JsonLines) => export::Format::JsonLines,
            Err(_) => return Err(ApiError::invalid_field("format", "is not a format").into()),
        };
        let scope = self.0.scope(&acting, Permission::ReportsExport).await?;
        if !scope.reaches_learners() {
            return Err(ApiError::PermissionDenied {
                reason: "NO_GRANT",
                message: "no role of yours holds reports.export: there is nothing you may export"
                    .into(),
                metadata: [("permission".to_owned(), "reports.export".to_owned())].into(),
            }
            .into());
        }
        let (sender, receiver) = mpsc::channel(4);
        let shared = self.0.clone();
        tokio::spawn(async move {
            let failed = sender.clone();
            if let Err(error) = shared.export(scope, filters, order, format, sender).await {
                let _ = failed.send(Err(error.into())).await;
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }

    async fn list_learner_progress(
        &self,
        request: Request<ListLearnerProgressRequest>,
    ) -> Result<Response<ListLearnerProgressResponse>, Status> {
        let acting = acting(&request)?;
        let r = request.get_ref();
        let (filters, order) = filters(r, "")?;
        let after = progress::start_after(&r.page_token, &filters, order)?;
        let limit = page_size(r.page_size, 100, 1000);
        let scope = self.0.scope(&acting, Permission::ReportsRead).await?;
        if !scope.reaches_learners() {
            return Ok(Response::new(ListLearnerProgressResponse::default()));
        }
        let now = clock::now();
        let plan = progress::plan(&self.0.database, &scope, &filters, order, now)
            .await
            .map_err(store_failed)?;
        let rows = progress::page(
            &self.0.database,
            &scope,
            &filters,
            order,
            after.as_deref(),
            limit + 1,
            now,
            plan,
        )
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
