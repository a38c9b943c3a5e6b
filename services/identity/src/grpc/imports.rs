//! `ImportService`: CSV files of users, accounts or account groups, sent in chunks. The whole
//! file is read and checked first; a bad row stops the import before anything changes unless
//! `skip_bad_rows` says to import the rest. Rows are matched by external id, so a re-run
//! changes nothing ("unchanged"). Progress streams back after each batch of rows, each batch
//! one transaction with its outbox events; the events reach authorization through the relay
//! once the import has answered (its last message has no token to carry).

use std::pin::Pin;
use std::sync::Arc;

use lms_api::common::v1::ObjectType;
use lms_api::identity::v1::import_service_server::ImportService;
use lms_api::identity::v1::{
    ImportCsvRequest, ImportCsvResponse, ImportKind, ImportOptions, ImportRowError,
    import_csv_request,
};
use lms_kernel::{Permission, RoleId, Template, TenantId};
use lms_runtime::ApiError;
use lms_runtime::auth::{Acting, acting};
use lms_runtime::clock::now;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::audit::{Actor, Object};
use crate::convert::{reference, row_errors};
use crate::core::Core;
use crate::import::{
    self, FeedRole, MAX_FILE_BYTES, UserRow, check_units, check_users, plan_units, plan_users,
};
use crate::store::{ImportSnapshot, Store};

pub struct Imports<S>(pub Arc<Core<S>>);

type Progress = mpsc::Sender<Result<ImportCsvResponse, Status>>;

/// Whether the feed's rows give the Manager role to someone or take back one it gave: the
/// assignments then go out with identity's service token, so the importer must be able to
/// assign Manager themselves (the escalation rule, asked before anything is saved).
fn changes_managers(rows: &[UserRow], snapshot: &ImportSnapshot) -> bool {
    rows.iter().any(|row| {
        let before = snapshot
            .users
            .get(&row.external_id)
            .and_then(|user| user.feed_role.as_deref());
        match row.role {
            Some(FeedRole::Manager) => before != Some("manager"),
            Some(FeedRole::Student) => before == Some("manager"),
            None => false,
        }
    })
}

/// Counts sent with every progress message.
#[derive(Default)]
struct Tally {
    read: i64,
    imported: i64,
    unchanged: i64,
}

impl Tally {
    fn message(&self, errors: Vec<ImportRowError>, done: bool) -> ImportCsvResponse {
        ImportCsvResponse {
            rows_read: self.read,
            rows_imported: self.imported,
            rows_unchanged: self.unchanged,
            errors,
            done,
        }
    }
}

/// Reads the options and the whole file from the request stream.
async fn receive(
    stream: &mut Streaming<ImportCsvRequest>,
) -> Result<(ImportOptions, Vec<u8>), Status> {
    let options = match stream.message().await? {
        Some(ImportCsvRequest {
            part: Some(import_csv_request::Part::Options(options)),
        }) => options,
        _ => {
            return Err(ApiError::invalid_field(
                "options",
                "the first message carries the options",
            )
            .into());
        }
    };
    if matches!(
        ImportKind::try_from(options.kind),
        Ok(ImportKind::Unspecified) | Err(_)
    ) {
        return Err(ApiError::invalid_field("options.kind", "must be an import kind").into());
    }
    let mut bytes = Vec::new();
    while let Some(message) = stream.message().await? {
        match message.part {
            Some(import_csv_request::Part::Chunk(chunk)) => {
                if bytes.len() + chunk.len() > MAX_FILE_BYTES {
                    return Err(ApiError::invalid_field(
                        "chunk",
                        format!("the file is larger than {} MiB", MAX_FILE_BYTES >> 20),
                    )
                    .into());
                }
                bytes.extend_from_slice(&chunk);
            }
            _ => {
                return Err(ApiError::invalid_field("options", "options come once, first").into());
            }
        }
    }
    Ok((options, bytes))
}

impl<S: Store + Clone> Imports<S> {
    async fn run(
        &self,
        acting: Acting,
        options: ImportOptions,
        bytes: Vec<u8>,
        progress: &Progress,
    ) -> Result<(), ApiError> {
        let tenant = acting.tenant;
        let snapshot = self.0.store.import_snapshot(tenant).await?;
        let started = std::time::Instant::now();
        let kind = ImportKind::try_from(options.kind).unwrap_or(ImportKind::Unspecified);
        let mut tally = Tally::default();
        let (batches, errors) = match kind {
            ImportKind::Users => {
                let read = import::read_users(&bytes, options.people_data_feed)
                    .map_err(|e| ApiError::invalid_field("chunk", e.0))?;
                let fields = self.0.store.custom_fields(tenant).await?;
                let checked = check_users(&read.rows, &snapshot, &fields);
                let kept = import::keep(read, checked, options.skip_bad_rows, |r| r.line);
                tally.read = kept.total as i64;
                let errors = kept.errors;
                let Some(rows) = kept.rows else {
                    return send(progress, tally.message(row_errors(&errors), true)).await;
                };
                if changes_managers(&rows, &snapshot) {
                    self.0
                        .authorization
                        .require_assignable(&acting, RoleId::BuiltIn(Template::Manager), None)
                        .await
                        .map_err(|error| match error {
                            ApiError::PermissionDenied {
                                reason,
                                message,
                                metadata,
                            } => ApiError::PermissionDenied {
                                reason,
                                message: format!(
                                    "the feed gives or takes the Manager role, which you may not \
                                     assign; nothing was imported ({message})"
                                ),
                                metadata,
                            },
                            other => other,
                        })?;
                }
                let guest = self
                    .0
                    .store
                    .guest_account(tenant)
                    .await?
                    .ok_or_else(|| ApiError::not_found("unit", "the Guest account"))?;
                (
                    plan_users(
                        &rows,
                        &snapshot,
                        guest.id,
                        &acting.user.to_string(),
                        now(),
                        &mut tally.unchanged,
                    ),
                    errors,
                )
            }
            _ => {
                let read = import::read_units(&bytes, kind == ImportKind::Accounts)
                    .map_err(|e| ApiError::invalid_field("chunk", e.0))?;
                let checked = check_units(&read.rows, &snapshot);
                let kept = import::keep(read, checked, options.skip_bad_rows, |r| r.line);
                tally.read = kept.total as i64;
                let errors = kept.errors;
                let Some(rows) = kept.rows else {
                    return send(progress, tally.message(row_errors(&errors), true)).await;
                };
                (
                    plan_units(tenant, &rows, &snapshot, &mut tally.unchanged),
                    errors,
                )
            }
        };
        send(progress, tally.message(row_errors(&errors), false)).await?;
        let by = Actor::acting(&acting);
        for (batch, rows) in batches {
            self.0.store.apply_import(tenant, &batch, &by).await?;
            tally.imported += rows as i64;
            send(progress, tally.message(Vec::new(), false)).await?;
        }
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(
            %tenant,
            by = %acting.user,
            kind = kind.as_str_name(),
            read = tally.read,
            imported = tally.imported,
            unchanged = tally.unchanged,
            rows_per_second = (tally.read as f64 / seconds.max(1e-9)) as u64,
            "import done"
        );
        let audit = by
            .did("tenant.imported", Object::tenant(tenant))
            .noting("kind", kind.as_str_name())
            .noting("read", tally.read)
            .noting("imported", tally.imported)
            .noting("unchanged", tally.unchanged);
        self.0.store.record_audit(tenant, &audit).await?;
        // The relay delivers the batches' events in order; the stream does not wait for it.
        let core = self.0.clone();
        tokio::spawn(async move {
            core.deliver(tenant).await;
        });
        send(progress, tally.message(Vec::new(), true)).await
    }
}

async fn send(progress: &Progress, message: ImportCsvResponse) -> Result<(), ApiError> {
    progress
        .send(Ok(message))
        .await
        .map_err(|_| ApiError::Aborted("the client went away".into()))
}

type ProgressStream = Pin<Box<dyn Stream<Item = Result<ImportCsvResponse, Status>> + Send>>;

#[tonic::async_trait]
impl<S: Store + Clone> ImportService for Imports<S> {
    type ImportCsvStream = ProgressStream;

    async fn import_csv(
        &self,
        request: Request<Streaming<ImportCsvRequest>>,
    ) -> Result<Response<ProgressStream>, Status> {
        let acting = acting(&request)?;
        let tenant: TenantId = acting.tenant;
        let mut stream = request.into_inner();
        let (options, bytes) = receive(&mut stream).await?;
        self.0
            .authorization
            .require(
                &acting,
                Permission::UsersImport,
                reference(ObjectType::Tenant, tenant),
            )
            .await?;
        if options.kind != ImportKind::Users as i32 {
            self.0
                .authorization
                .require(
                    &acting,
                    Permission::UnitsCreate,
                    reference(ObjectType::Tenant, tenant),
                )
                .await?;
        }
        // A file without its kind's columns is refused before the stream starts.
        let required = match ImportKind::try_from(options.kind) {
            Ok(ImportKind::Users) => import::USER_COLUMNS,
            Ok(ImportKind::Accounts) => import::ACCOUNT_COLUMNS,
            _ => import::ACCOUNT_GROUP_COLUMNS,
        };
        import::check_header(&bytes, required)
            .map_err(|error| ApiError::invalid_field("chunk", error.0))?;
        let (sender, receiver) = mpsc::channel(16);
        let imports = Imports(self.0.clone());
        tokio::spawn(async move {
            if let Err(error) = imports.run(acting, options, bytes, &sender).await {
                let _ = sender.send(Err(error.into())).await;
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }
}
