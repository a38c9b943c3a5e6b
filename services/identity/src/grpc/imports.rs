//! `ImportService`: CSV files of users, accounts or account groups, sent in chunks. The whole
//! file is read and checked first; a bad row stops the import before anything changes unless
//! `skip_bad_rows` says to import the rest. Rows are matched by external id, so a re-run
//! changes nothing ("unchanged"). Progress streams back after each batch of rows, each batch
//! one transaction with its outbox events; the events reach authorization through the relay
//! once the import has answered (its last message has no token to carry).

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;

use lms_api::common::v1::ObjectType;
use lms_api::identity::v1::import_service_server::ImportService;
use lms_api::identity::v1::{
    ImportCsvRequest, ImportCsvResponse, ImportKind, ImportOptions, ImportRowError,
    import_csv_request,
};
use lms_kernel::{AccountKind, Permission, Template, TenantId, UnitId, UserId, UserStatus};
use lms_runtime::ApiError;
use lms_runtime::clock::now;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use lms_runtime::auth::{Acting, acting};

use crate::convert::{reference, row_errors};
use crate::core::Core;
use crate::import::{self, FeedRole, MAX_FILE_BYTES, UnitRow, UserRow, check_units, check_users};
use crate::relationships;
use crate::store::{
    EmploymentRecord, ImportBatch, ImportSnapshot, ImportedChange, NewEvent, Store, UnitRecord,
    UserRecord,
};

/// Rows per transaction (and per progress message).
const BATCH_ROWS: usize = 1000;

pub struct Imports<S>(pub Arc<Core<S>>);

type Progress = mpsc::Sender<Result<ImportCsvResponse, Status>>;

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
                let guest = self
                    .0
                    .store
                    .guest_account(tenant)
                    .await?
                    .ok_or_else(|| ApiError::not_found("unit", "the Guest account"))?;
                (
                    plan_users(&rows, &snapshot, guest.id, &acting, &mut tally),
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
                (plan_units(&rows, &snapshot, &mut tally), errors)
            }
        };
        send(progress, tally.message(row_errors(&errors), false)).await?;
        for (batch, rows) in batches {
            self.0.store.apply_import(tenant, &batch).await?;
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

fn feed_role_event(user: UserId, role: FeedRole, before: Option<&str>) -> Option<NewEvent> {
    match (role, before) {
        (FeedRole::Manager, Some("manager")) | (FeedRole::Student, None | Some("student")) => None,
        (FeedRole::Manager, _) => Some(relationships::feed_role_given(user, Template::Manager)),
        (FeedRole::Student, Some(_)) => Some(relationships::role_taken(user, Template::Manager)),
    }
}

/// Users to create and change, in batches, with the facts each batch sends.
fn plan_users(
    rows: &[UserRow],
    snapshot: &ImportSnapshot,
    guest: UnitId,
    acting: &Acting,
    tally: &mut Tally,
) -> Vec<(ImportBatch, usize)> {
    let now = now();
    let created_by = acting.user.to_string();
    let unit_of = |row: &UserRow| {
        row.account
            .as_ref()
            .and_then(|a| snapshot.units.get(a))
            .map_or(guest, |u| u.id)
    };
    let group_of = |row: &UserRow| {
        row.group
            .as_ref()
            .and_then(|g| snapshot.groups.get(g))
            .copied()
    };
    let mut batches = Vec::new();
    for chunk in rows.chunks(BATCH_ROWS) {
        let mut batch = ImportBatch::default();
        let mut updates = Vec::new();
        let mut statuses = Vec::new();
        let mut roles = Vec::new();
        let mut rows_in_batch = 0;
        for row in chunk {
            let custom = serde_json::to_string(&row.custom).expect("a string map serialises");
            let unit = unit_of(row);
            let group = group_of(row);
            let role = row.role.map(FeedRole::as_str).map(str::to_owned);
            match snapshot.users.get(&row.external_id) {
                None => {
                    let user = UserRecord {
                        id: UserId::generate(),
                        email: Some(row.email.clone()),
                        given_name: row.given_name.clone(),
                        family_name: row.family_name.clone(),
                        status: AccountKind::Standard.initial_status(),
                        account_kind: AccountKind::Standard,
                        restrict_bookings: false,
                        primary_group: group,
                        custom_fields: custom,
                        external_id: Some(row.external_id.clone()),
                        password_hash: None,
                        failed_sign_ins: 0,
                        locked_until: None,
                        last_sign_in_at: None,
                        created_by: created_by.clone(),
                        created_at: now,
                    };
                    let employment = EmploymentRecord {
                        id: uuid::Uuid::now_v7(),
                        user: user.id,
                        unit,
                        starts_at: now,
                        ends_at: None,
                        main_account: true,
                    };
                    updates.extend(relationships::employed(&employment));
                    if let Some(group) = group {
                        updates.extend(relationships::team(user.id, None, group));
                    }
                    statuses.push(relationships::status(&user));
                    if let Some(role) = row.role {
                        roles.extend(feed_role_event(user.id, role, None));
                    }
                    batch.created.push((user, employment, role));
                    rows_in_batch += 1;
                }
                Some(existing) => {
                    // Anonymised people stay anonymised: the feed does not bring them back.
                    let moved = existing.main.map(|(_, u)| u) != Some(unit);
                    let regrouped = group.is_some() && group != existing.primary_group;
                    let same = existing.email.as_deref() == Some(row.email.as_str())
                        && existing.given_name == row.given_name
                        && existing.family_name == row.family_name
                        && existing.custom_fields == custom
                        && !moved
                        && !regrouped
                        && (row.role.is_none() || existing.feed_role == role);
                    if same || existing.status == UserStatus::Anonymised {
                        tally.unchanged += 1;
                        continue;
                    }
                    let new_main = moved.then(|| EmploymentRecord {
                        id: uuid::Uuid::now_v7(),
                        user: existing.id,
                        unit,
                        starts_at: now,
                        ends_at: None,
                        main_account: true,
                    });
                    if let Some(employment) = &new_main {
                        updates.extend(relationships::employed(employment));
                        if let Some((_, old)) = existing.main {
                            updates.extend(relationships::not_employed(old, existing.id));
                        }
                    }
                    if regrouped && let Some(group) = group {
                        updates.extend(relationships::team(
                            existing.id,
                            existing.primary_group,
                            group,
                        ));
                    }
                    if let Some(role) = row.role {
                        roles.extend(feed_role_event(
                            existing.id,
                            role,
                            existing.feed_role.as_deref(),
                        ));
                    }
                    batch.changed.push(ImportedChange {
                        user: existing.id,
                        email: row.email.clone(),
                        given_name: row.given_name.clone(),
                        family_name: row.family_name.clone(),
                        custom_fields: custom,
                        end_main: new_main.as_ref().and(existing.main.map(|(id, _)| id)),
                        new_main,
                        primary_group: group.filter(|_| regrouped),
                        feed_role: role.or_else(|| existing.feed_role.clone()),
                    });
                    rows_in_batch += 1;
                }
            }
        }
        if rows_in_batch == 0 {
            continue;
        }
        batch
            .events
            .extend(relationships::events(updates, statuses));
        batch.events.extend(roles);
        batches.push((batch, rows_in_batch));
    }
    batches
}

/// Units to create and change, in batches; parents may be rows earlier in the file.
fn plan_units(
    rows: &[UnitRow],
    snapshot: &ImportSnapshot,
    tally: &mut Tally,
) -> Vec<(ImportBatch, usize)> {
    let mut ids: HashMap<&str, UnitId> = snapshot
        .units
        .iter()
        .map(|(external, unit)| (external.as_str(), unit.id))
        .collect();
    let mut batches = Vec::new();
    for chunk in rows.chunks(BATCH_ROWS) {
        let mut batch = ImportBatch::default();
        let mut updates = Vec::new();
        let mut rows_in_batch = 0;
        for row in chunk {
            let parent = row.parent.as_deref().and_then(|p| ids.get(p)).copied();
            match snapshot.units.get(&row.external_id) {
                None => {
                    let unit = UnitRecord {
                        id: UnitId::generate(),
                        kind: row.kind,
                        name: row.name.clone(),
                        parent,
                        external_id: Some(row.external_id.clone()),
                    };
                    updates.extend(relationships::parent_changed(unit.id, None, parent));
                    ids.insert(row.external_id.as_str(), unit.id);
                    batch.units.push(unit);
                }
                Some(existing) if existing.name == row.name && existing.parent == parent => {
                    tally.unchanged += 1;
                    continue;
                }
                Some(existing) => {
                    if existing.parent != parent {
                        updates.extend(relationships::parent_changed(
                            existing.id,
                            existing.parent,
                            parent,
                        ));
                    }
                    batch
                        .units_changed
                        .push((existing.id, row.name.clone(), parent));
                }
            }
            rows_in_batch += 1;
        }
        if rows_in_batch == 0 {
            continue;
        }
        batch.events.extend(relationships::events(updates, vec![]));
        batches.push((batch, rows_in_batch));
    }
    batches
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
