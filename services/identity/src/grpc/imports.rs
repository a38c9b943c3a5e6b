//! `ImportService`: CSV files of users, accounts or account groups, sent in chunks. The whole
//! file is read and checked first; a bad row stops the import before anything changes unless
//! `skip_bad_rows` says to import the rest. Rows are matched by external id, so a re-run
//! changes nothing ("unchanged"). Progress streams back after each batch of rows, each batch
//! one transaction with its outbox events; the events reach authorization through the relay
//! once the import has answered (its last message has no token to carry).
//!
//! The importer is a person, or a tenant's integration holding `identity.people.import` (the
//! people-data feed of an HR system), which imports as its holder would: every question the
//! import asks authorization (may they import, outrank the people changed, change the teams,
//! give the Manager role) is decided on the holder's rights, an integration an operator made is
//! trusted within its scope, and the audit names the integration and its holder.
//!
//! Bounds: the caller is authorised on the options, the first message, before any chunk is
//! accepted; an import is admitted (one per tenant, a few per process, see `jobs`) before its
//! file is received; the file is spooled to a temporary file rather than memory, and the rows
//! read from it are capped (`MAX_ROWS`), which bounds what checking and planning hold; the
//! errors answered are capped (`MAX_ERRORS`) and counted.

use std::collections::{HashMap, HashSet};
use std::io::{BufReader, Seek, SeekFrom};
use std::pin::Pin;
use std::sync::Arc;

use lms_api::common::v1::ObjectType;
use lms_api::identity::v1::import_service_server::ImportService;
use lms_api::identity::v1::{
    ImportCsvRequest, ImportCsvResponse, ImportKind, ImportOptions, import_csv_request,
};
use lms_kernel::{GroupId, Permission, RoleId, Template, TenantId, UserId};
use lms_runtime::ApiError;
use lms_runtime::auth::{Principal, Scope, principal};
use lms_runtime::clock::now;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::audit::{Actor, Object};
use crate::convert::{reference, row_errors};
use crate::core::Core;
use crate::import::{
    self, FeedRole, FileError, MAX_ERRORS, MAX_FILE_BYTES, PersonChanged, RowError, UserRow,
    check_users, plan_units, plan_users,
};
use crate::store::{ImportSnapshot, Store};

mod jobs;

pub use self::jobs::Jobs;

/// The import service: the core, and the imports it runs.
pub struct Imports<S> {
    core: Arc<Core<S>>,
    jobs: Jobs,
}

impl<S> Imports<S> {
    /// The import service over `core`.
    pub fn new(core: Arc<Core<S>>) -> Self {
        Imports {
            core,
            jobs: Jobs::default(),
        }
    }
}

/// The largest message a client may send: a chunk of the file. Clients send 64 KiB chunks;
/// the bound says what one message may cost, the file size is bounded separately.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

type Progress = mpsc::Sender<Result<ImportCsvResponse, Status>>;

/// Whether a feed's row gives the Manager role to someone or takes back one the feed gave.
fn changes_manager(row: &UserRow, snapshot: &ImportSnapshot) -> bool {
    let before = snapshot
        .users
        .get(&row.external_id)
        .and_then(|user| user.feed_role.as_deref());
    match row.role {
        Some(FeedRole::Manager) => before != Some("manager"),
        Some(FeedRole::Student) => before == Some("manager"),
        None => false,
    }
}

/// Counts sent with every progress message.
#[derive(Default)]
struct Tally {
    read: i64,
    imported: i64,
    unchanged: i64,
}

impl Tally {
    fn message(&self, errors: &[RowError], done: bool) -> ImportCsvResponse {
        // The first errors by line, and how many there are in all: the list is bounded, the
        // count is not.
        let mut listed = row_errors(errors);
        listed.truncate(MAX_ERRORS);
        ImportCsvResponse {
            rows_read: self.read,
            rows_imported: self.imported,
            rows_unchanged: self.unchanged,
            errors: listed,
            done,
            error_count: errors.len() as i64,
        }
    }
}

/// Reads the options, the first message, alone: the caller is authorised on them before any
/// chunk of the file is accepted.
async fn receive_options(
    stream: &mut Streaming<ImportCsvRequest>,
) -> Result<ImportOptions, Status> {
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
    Ok(options)
}

/// Spools the file's chunks to a temporary file (deleted when dropped), so a large file costs
/// disk, not memory, while it arrives; answers it rewound.
async fn spool(stream: &mut Streaming<ImportCsvRequest>) -> Result<std::fs::File, Status> {
    let file = tempfile::tempfile().map_err(ApiError::internal)?;
    let mut file = tokio::fs::File::from_std(file);
    let mut size = 0;
    while let Some(message) = stream.message().await? {
        match message.part {
            Some(import_csv_request::Part::Chunk(chunk)) => {
                size += chunk.len();
                if size > MAX_FILE_BYTES {
                    return Err(ApiError::invalid_field(
                        "chunk",
                        format!("the file is larger than {} MiB", MAX_FILE_BYTES >> 20),
                    )
                    .into());
                }
                file.write_all(&chunk).await.map_err(ApiError::internal)?;
            }
            _ => {
                return Err(ApiError::invalid_field("options", "options come once, first").into());
            }
        }
    }
    file.flush().await.map_err(ApiError::internal)?;
    let mut file = file.into_std().await;
    file.seek(SeekFrom::Start(0)).map_err(ApiError::internal)?;
    Ok(file)
}

/// Reads the spooled file on a blocking thread (file reads and CSV parsing do not belong on
/// the async workers), answering the parse and the file rewound for a next read.
async fn parse<T: Send + 'static>(
    file: std::fs::File,
    read: impl FnOnce(BufReader<&std::fs::File>) -> Result<T, FileError> + Send + 'static,
) -> Result<(T, std::fs::File), ApiError> {
    tokio::task::spawn_blocking(move || {
        let mut file = file;
        file.seek(SeekFrom::Start(0)).map_err(ApiError::internal)?;
        let parsed =
            read(BufReader::new(&file)).map_err(|e| ApiError::invalid_field("chunk", e.0))?;
        Ok((parsed, file))
    })
    .await
    .map_err(ApiError::internal)?
}

impl<S: Store + Clone> Imports<S> {
    /// The rows (of `changed`) that change a person the importer may not change: someone
    /// they do not outrank (H3), or a move into a team they may not change (H1), each refused
    /// with its line like any bad row, exactly as UpdateUser and SetPrimaryGroup would refuse
    /// the same change. An outage fails the import: nobody is changed unchecked.
    async fn may_change(
        &self,
        acting: &Principal,
        changed: &[PersonChanged],
    ) -> Result<Vec<RowError>, ApiError> {
        let people: Vec<UserId> = changed.iter().map(|c| c.user).collect();
        let outranked: HashMap<UserId, String> = self
            .core
            .outranked(acting, &people)
            .await?
            .into_iter()
            .collect();
        let mut teams: HashMap<GroupId, bool> = HashMap::new();
        for team in changed.iter().filter_map(|c| c.team) {
            if teams.contains_key(&team) {
                continue;
            }
            let allowed = match self
                .core
                .authorization
                .require(
                    acting,
                    Permission::GroupsUpdate,
                    reference(ObjectType::Group, team),
                )
                .await
            {
                Ok(()) => true,
                Err(ApiError::PermissionDenied { .. }) => false,
                Err(other) => return Err(other),
            };
            teams.insert(team, allowed);
        }
        let mut errors = Vec::new();
        for change in changed {
            if let Some(why) = outranked.get(&change.user) {
                errors.push(RowError {
                    line: change.line,
                    column: "external_id".into(),
                    reason: format!(
                        "names a person you do not outrank, whom you may not change ({why})"
                    ),
                });
            }
            if let Some(team) = change.team
                && teams.get(&team) == Some(&false)
            {
                errors.push(RowError {
                    line: change.line,
                    column: "group".into(),
                    reason: "moving someone into this team needs groups.update on it".into(),
                });
            }
        }
        Ok(errors)
    }

    /// The rows (of `rows`) that give someone the Manager role or take back one the feed gave,
    /// each refused with its line when the importer (an integration's holder) may not assign
    /// Manager themselves: the assignments go out with identity's service token, so the
    /// escalation rule is asked here, once, before anything is saved (security review M2).
    async fn may_give_managers(
        &self,
        acting: &Principal,
        rows: &[UserRow],
        snapshot: &ImportSnapshot,
    ) -> Result<Vec<RowError>, ApiError> {
        let changing: Vec<i64> = rows
            .iter()
            .filter(|row| changes_manager(row, snapshot))
            .map(|row| row.line)
            .collect();
        if changing.is_empty() {
            return Ok(Vec::new());
        }
        let manager = RoleId::BuiltIn(Template::Manager);
        let why = match self
            .core
            .authorization
            .require_assignable(acting, manager, None)
            .await
        {
            Ok(()) => return Ok(Vec::new()),
            Err(ApiError::PermissionDenied { message, .. }) => message,
            Err(other) => return Err(other),
        };
        Ok(changing
            .into_iter()
            .map(|line| RowError {
                line,
                column: "role".into(),
                reason: format!(
                    "gives or takes the Manager role, which the importer may not assign ({why})"
                ),
            })
            .collect())
    }

    /// Reads, checks and applies the spooled file, streaming progress; answers the last
    /// message (`done`), which the caller sends once the job's admission is released.
    async fn run(
        &self,
        acting: Principal,
        options: ImportOptions,
        file: std::fs::File,
        progress: &Progress,
    ) -> Result<ImportCsvResponse, ApiError> {
        let tenant = acting.tenant;
        let by = Actor::principal(&acting);
        let snapshot = self.core.store.import_snapshot(tenant).await?;
        let started = std::time::Instant::now();
        let kind = ImportKind::try_from(options.kind).unwrap_or(ImportKind::Unspecified);
        let mut tally = Tally::default();
        let (batches, errors) = match kind {
            ImportKind::Users => {
                let feed = options.people_data_feed;
                let (read, _) = parse(file, move |file| import::read_users(file, feed)).await?;
                let fields = self.core.store.custom_fields(tenant).await?;
                let guest = self
                    .core
                    .store
                    .guest_account(tenant)
                    .await?
                    .ok_or_else(|| ApiError::not_found("unit", "the Guest account"))?;
                let mut checked = check_users(&read.rows, &snapshot, &fields);
                let refused: HashSet<i64> = checked.iter().map(|e| e.line).collect();
                let sound: Vec<UserRow> = read
                    .rows
                    .iter()
                    .filter(|row| !refused.contains(&row.line))
                    .cloned()
                    .collect();
                let changed = import::people_changed(&sound, &snapshot, guest.id);
                checked.extend(self.may_change(&acting, &changed).await?);
                checked.extend(self.may_give_managers(&acting, &sound, &snapshot).await?);
                let kept = import::keep(read, checked, options.skip_bad_rows, |r| r.line);
                tally.read = kept.total as i64;
                let errors = kept.errors;
                let Some(rows) = kept.rows else {
                    return Ok(tally.message(&errors, true));
                };
                (
                    plan_users(
                        &rows,
                        &snapshot,
                        guest.id,
                        &by.name(),
                        now(),
                        &mut tally.unchanged,
                    ),
                    errors,
                )
            }
            _ => {
                let accounts = kind == ImportKind::Accounts;
                let (read, _) = parse(file, move |file| import::read_units(file, accounts)).await?;
                let kept = import::keep_units(read, &snapshot, options.skip_bad_rows);
                tally.read = kept.total as i64;
                let errors = kept.errors;
                let Some(rows) = kept.rows else {
                    return Ok(tally.message(&errors, true));
                };
                (
                    plan_units(tenant, &rows, &snapshot, &mut tally.unchanged),
                    errors,
                )
            }
        };
        send(progress, tally.message(&errors, false)).await?;
        for (batch, rows) in batches {
            self.core.store.apply_import(tenant, &batch, &by).await?;
            tally.imported += rows as i64;
            send(progress, tally.message(&[], false)).await?;
        }
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(
            %tenant,
            by = %by.name(),
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
        self.core.store.record_audit(tenant, &audit).await?;
        // The relay delivers the batches' events in order; the stream does not wait for it.
        let core = self.core.clone();
        tokio::spawn(async move {
            core.deliver(tenant).await;
        });
        Ok(tally.message(&[], true))
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
        let acting = principal(&request, Scope::PeopleImport)?;
        let tenant: TenantId = acting.tenant;
        let mut stream = request.into_inner();
        // Only the options are read before the caller is authorised: a caller who may not
        // import is refused having sent nothing more.
        let options = receive_options(&mut stream).await?;
        self.core
            .authorization
            .require(
                &acting,
                Permission::UsersImport,
                reference(ObjectType::Tenant, tenant),
            )
            .await?;
        if options.kind != ImportKind::Users as i32 {
            self.core
                .authorization
                .require(
                    &acting,
                    Permission::UnitsCreate,
                    reference(ObjectType::Tenant, tenant),
                )
                .await?;
        }
        // Admitted before the file is received, so receiving counts against the limits too;
        // the job holds its admission until it ends.
        let admitted = self.jobs.admit(tenant)?;
        let file = spool(&mut stream).await?;
        // A file without its kind's columns is refused before the stream starts.
        let required = match ImportKind::try_from(options.kind) {
            Ok(ImportKind::Users) => import::USER_COLUMNS,
            Ok(ImportKind::Accounts) => import::ACCOUNT_COLUMNS,
            _ => import::ACCOUNT_GROUP_COLUMNS,
        };
        let ((), file) = parse(file, move |file| import::check_header(file, required)).await?;
        let (sender, receiver) = mpsc::channel(16);
        let imports = Imports {
            core: self.core.clone(),
            jobs: self.jobs.clone(),
        };
        tokio::spawn(async move {
            let outcome = imports.run(acting, options, file, &sender).await;
            // The tenant is free before the client hears the import has ended, so an import
            // started on that news is admitted.
            drop(admitted);
            let _ = sender.send(outcome.map_err(Status::from)).await;
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }
}
