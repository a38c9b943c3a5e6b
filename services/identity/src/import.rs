//! CSV import and the people-data feed, as pure steps: read the file, check every row against
//! the tenant (all errors at once, with their lines), then plan what to create and change.
//! Rows are matched by external id, so running the same file twice changes nothing the
//! second time. The gRPC handler streams progress and applies the plan in batches, each batch
//! one transaction with the relationship facts and role events its rows send.
//!
//! Users: `external_id,email,given_name,family_name` and optionally `account` (an account's
//! external id; the Guest account when empty), `group` (a group's external id: the person's
//! team), `role` (`student` or `manager`, read only from the people-data feed) and
//! `custom.<key>` columns for custom fields. Accounts: `external_id,name,kind`
//! (`customer` or `provider`) and optionally `parent`. Account groups: `external_id,name` and
//! optionally `parent`.

use std::collections::{BTreeMap, HashMap, HashSet};

use lms_kernel::unit::{check_acyclic, check_placement};
use lms_kernel::{
    AccountKind, Email, GroupId, Template, TenantId, UnitId, UnitKind, UserId, UserStatus,
};

use crate::relationships;
use crate::store::{
    CustomField, EmploymentRecord, ImportBatch, ImportSnapshot, ImportedChange, ImportedUser,
    NewEvent, UnitRecord, UserRecord,
};

/// The largest file accepted. It is spooled to a temporary file, not held in memory.
pub const MAX_FILE_BYTES: usize = 64 * 1024 * 1024;

/// The most data rows one import reads: the checked rows and the plan are held in memory, so
/// this (not the file size) bounds an import's memory. A larger file is refused whole.
pub const MAX_ROWS: usize = 100_000;

/// The most row errors one import answers; the rest are only counted.
pub const MAX_ERRORS: usize = 1_000;

/// One bad row: its line (the header is line 1), the column at fault and why.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RowError {
    /// 1-based line.
    pub line: i64,
    /// The column, when one is at fault.
    pub column: String,
    /// Why.
    pub reason: String,
}

/// A file that cannot be read as the kind asked for (no header, missing columns).
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{0}")]
pub struct FileError(pub String);

/// The role the people-data feed gives.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FeedRole {
    /// The default role.
    Student,
    /// Manager of their team.
    Manager,
}

impl FeedRole {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedRole::Student => "student",
            FeedRole::Manager => "manager",
        }
    }
}

/// A user row that reads well.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct UserRow {
    /// Its line.
    pub line: i64,
    /// The feed's key for the person.
    pub external_id: String,
    /// Sign-in address.
    pub email: Email,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// The account's external id.
    pub account: Option<String>,
    /// The team's external id.
    pub group: Option<String>,
    /// The feed's role.
    pub role: Option<FeedRole>,
    /// Custom field values.
    pub custom: BTreeMap<String, String>,
}

/// A unit row that reads well.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct UnitRow {
    /// Its line.
    pub line: i64,
    /// The unit's external id.
    pub external_id: String,
    /// Display name.
    pub name: String,
    /// Its kind: an account or an account group.
    pub kind: UnitKind,
    /// The parent's external id.
    pub parent: Option<String>,
}

/// What reading a file found: the good rows and every bad one.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Read<T> {
    /// Rows that read well.
    pub rows: Vec<T>,
    /// Rows that do not.
    pub errors: Vec<RowError>,
    /// Data rows read.
    pub total: usize,
}

impl<T> Default for Read<T> {
    fn default() -> Self {
        Read {
            rows: Vec::new(),
            errors: Vec::new(),
            total: 0,
        }
    }
}

fn error(line: i64, column: &str, reason: impl Into<String>) -> RowError {
    RowError {
        line,
        column: column.into(),
        reason: reason.into(),
    }
}

/// A CSV reader as imports read: ragged rows allowed (a missing optional cell is empty),
/// cells trimmed.
fn reader<R: std::io::Read>(file: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(file)
}

/// The header's column positions, refusing a file without the required ones.
fn columns<R: std::io::Read>(
    reader: &mut csv::Reader<R>,
    required: &[&str],
) -> Result<HashMap<String, usize>, FileError> {
    let header = reader
        .headers()
        .map_err(|e| FileError(format!("the header does not read as CSV: {e}")))?;
    let columns: HashMap<String, usize> = header
        .iter()
        .enumerate()
        .map(|(i, name)| (name.trim().to_lowercase(), i))
        .collect();
    let missing: Vec<_> = required
        .iter()
        .filter(|c| !columns.contains_key(**c))
        .collect();
    if !missing.is_empty() {
        return Err(FileError(format!(
            "the header lacks the column(s) {}",
            missing
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(columns)
}

fn records(
    file: impl std::io::Read,
    required: &[&str],
    mut each: impl FnMut(i64, &HashMap<String, usize>, &csv::StringRecord),
) -> Result<(usize, Vec<RowError>), FileError> {
    let mut reader = reader(file);
    let columns = columns(&mut reader, required)?;
    let names: HashMap<usize, &str> = columns.iter().map(|(n, i)| (*i, n.as_str())).collect();
    let mut total = 0;
    let mut unreadable = Vec::new();
    for record in reader.records() {
        total += 1;
        if total > MAX_ROWS {
            return Err(FileError(format!(
                "the file has more than {MAX_ROWS} rows; split it"
            )));
        }
        match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line() as i64);
                let formulas: Vec<_> = record
                    .iter()
                    .enumerate()
                    .filter(|(_, cell)| is_formula(cell))
                    .map(|(i, _)| {
                        let column = names.get(&i).copied().unwrap_or_default();
                        error(line, column, FORMULA_REFUSED)
                    })
                    .collect();
                if formulas.is_empty() {
                    each(line, &columns, &record);
                } else {
                    unreadable.extend(formulas);
                }
            }
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as i64);
                unreadable.push(error(line, "", format!("not CSV: {e}")));
            }
        }
    }
    Ok((total, unreadable))
}

/// Why a cell that reads as a spreadsheet formula is refused.
const FORMULA_REFUSED: &str = "starts like a spreadsheet formula (`=`, `+`, `-`, `@`, tab or \
     carriage return); remove the leading character";

/// Whether a cell would run as a formula when the data is opened in a spreadsheet later (CSV
/// injection). Such cells are refused rather than altered, so what is stored is exactly what
/// was sent; a signed number or a phone number (`+44 20 7946 0000`, `-12`) is data, not a
/// formula, and passes.
fn is_formula(cell: &str) -> bool {
    let mut chars = cell.chars();
    match chars.next() {
        Some('=' | '@' | '\t' | '\r') => true,
        Some('+' | '-') => !chars.all(|c| c.is_ascii_digit() || " ().-/".contains(c)),
        _ => false,
    }
}

fn field<'r>(
    columns: &HashMap<String, usize>,
    record: &'r csv::StringRecord,
    name: &str,
) -> &'r str {
    columns.get(name).and_then(|i| record.get(*i)).unwrap_or("")
}

fn optional(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_owned())
}

/// The columns a users file must have.
pub const USER_COLUMNS: &[&str] = &["external_id", "email", "given_name", "family_name"];
/// The columns an accounts file must have.
pub const ACCOUNT_COLUMNS: &[&str] = &["external_id", "name", "kind"];
/// The columns an account groups file must have.
pub const ACCOUNT_GROUP_COLUMNS: &[&str] = &["external_id", "name"];

/// Refuses a file whose header lacks `required` columns, reading the header alone.
pub fn check_header(file: impl std::io::Read, required: &[&str]) -> Result<(), FileError> {
    let mut reader = reader(file);
    columns(&mut reader, required).map(|_| ())
}

/// Reads a users file. `feed` reads the `role` column.
pub fn read_users(file: impl std::io::Read, feed: bool) -> Result<Read<UserRow>, FileError> {
    let mut read = Read::default();
    let (total, unreadable) = records(file, USER_COLUMNS, |line, columns, record| {
        let get = |name| field(columns, record, name);
        let mut row_errors = Vec::new();
        let external_id = get("external_id");
        if external_id.is_empty() || external_id.len() > 200 {
            row_errors.push(error(line, "external_id", "must be 1 to 200 characters"));
        }
        let email = Email::parse(get("email"));
        if let Err(e) = &email {
            row_errors.push(error(line, "email", e.to_string()));
        }
        for name in ["given_name", "family_name"] {
            let value = get(name);
            if value.is_empty() || value.chars().count() > 200 {
                row_errors.push(error(line, name, "must be 1 to 200 characters"));
            }
        }
        let role = match (feed, get("role")) {
            (false, _) | (true, "") => None,
            (true, "student") => Some(FeedRole::Student),
            (true, "manager") => Some(FeedRole::Manager),
            (true, other) => {
                row_errors.push(error(
                    line,
                    "role",
                    format!("`{other}` is not `student` or `manager`"),
                ));
                None
            }
        };
        let custom: BTreeMap<String, String> = columns
            .iter()
            .filter_map(|(name, i)| {
                let key = name.strip_prefix("custom.")?;
                let value = record.get(*i).unwrap_or("");
                (!value.is_empty()).then(|| (key.to_owned(), value.to_owned()))
            })
            .collect();
        for (key, value) in &custom {
            // The API's bound on custom field values holds for imported ones too.
            if value.chars().count() > crate::convert::MAX_FREE_TEXT {
                row_errors.push(error(
                    line,
                    &format!("custom.{key}"),
                    "values are at most 1,000 characters",
                ));
            }
        }
        match email {
            Ok(email) if row_errors.is_empty() => read.rows.push(UserRow {
                line,
                external_id: external_id.to_owned(),
                email,
                given_name: get("given_name").to_owned(),
                family_name: get("family_name").to_owned(),
                account: optional(get("account")),
                group: optional(get("group")),
                role,
                custom,
            }),
            _ => read.errors.extend(row_errors),
        }
    })?;
    read.total = total;
    read.errors.extend(unreadable);
    Ok(read)
}

/// Reads an accounts file (`accounts`) or an account groups file.
pub fn read_units(file: impl std::io::Read, accounts: bool) -> Result<Read<UnitRow>, FileError> {
    let required = if accounts {
        ACCOUNT_COLUMNS
    } else {
        ACCOUNT_GROUP_COLUMNS
    };
    let mut read = Read::default();
    let (total, unreadable) = records(file, required, |line, columns, record| {
        let get = |name| field(columns, record, name);
        let mut row_errors = Vec::new();
        let external_id = get("external_id");
        if external_id.is_empty() || external_id.len() > 200 {
            row_errors.push(error(line, "external_id", "must be 1 to 200 characters"));
        }
        let name = get("name");
        if name.is_empty() || name.chars().count() > 200 {
            row_errors.push(error(line, "name", "must be 1 to 200 characters"));
        }
        let kind = match (accounts, get("kind")) {
            (false, _) => UnitKind::AccountGroup,
            (true, "customer") => UnitKind::CustomerAccount,
            (true, "provider") => UnitKind::ProviderAccount,
            (true, other) => {
                row_errors.push(error(
                    line,
                    "kind",
                    format!("`{other}` is not `customer` or `provider`"),
                ));
                // The row is refused; the kind only fills the slot.
                UnitKind::CustomerAccount
            }
        };
        if row_errors.is_empty() {
            read.rows.push(UnitRow {
                line,
                external_id: external_id.to_owned(),
                name: name.to_owned(),
                kind,
                parent: optional(get("parent")),
            });
        } else {
            read.errors.extend(row_errors);
        }
    })?;
    read.total = total;
    read.errors.extend(unreadable);
    Ok(read)
}

/// Checks user rows against each other and the tenant: one row per external id and per email,
/// an address nobody else holds, known accounts and groups, defined and mandatory custom fields.
pub fn check_users(
    rows: &[UserRow],
    snapshot: &ImportSnapshot,
    fields: &[CustomField],
) -> Vec<RowError> {
    let mut errors = Vec::new();
    let mut external_ids = HashSet::new();
    let mut emails = HashSet::new();
    for row in rows {
        if !external_ids.insert(row.external_id.as_str()) {
            errors.push(error(row.line, "external_id", "appears on an earlier row"));
        }
        if !emails.insert(row.email.as_str()) {
            errors.push(error(row.line, "email", "appears on an earlier row"));
        }
        if let Some(holder) = snapshot.emails.get(row.email.as_str())
            && holder.as_deref() != Some(row.external_id.as_str())
        {
            errors.push(error(row.line, "email", "belongs to another user"));
        }
        if let Some(account) = &row.account {
            match snapshot.units.get(account).map(|u| u.kind) {
                None => errors.push(error(
                    row.line,
                    "account",
                    format!("no account `{account}`"),
                )),
                Some(kind) if !kind.employs() => errors.push(error(
                    row.line,
                    "account",
                    "is an account group; people are employed at accounts",
                )),
                Some(_) => {}
            }
        }
        if let Some(group) = &row.group
            && !snapshot.groups.contains_key(group)
        {
            errors.push(error(row.line, "group", format!("no group `{group}`")));
        }
        for key in row.custom.keys() {
            if !fields.iter().any(|f| &f.key == key) {
                errors.push(error(
                    row.line,
                    &format!("custom.{key}"),
                    "is not a custom field of this tenant",
                ));
            }
        }
        for mandatory in fields.iter().filter(|f| f.mandatory) {
            if !row.custom.contains_key(&mandatory.key) {
                errors.push(error(
                    row.line,
                    &format!("custom.{}", mandatory.key),
                    "is mandatory",
                ));
            }
        }
    }
    errors
}

/// Checks unit rows: one row per external id, parents that exist (in the tenant or on an
/// earlier sound row) and may hold the unit, and no cycle among the sound rows. A parent named
/// only on a refused row does not count: with `skip_bad_rows` that row is not imported.
pub fn check_units(rows: &[UnitRow], snapshot: &ImportSnapshot) -> Vec<RowError> {
    let mut errors = Vec::new();
    let mut named: HashSet<&str> = HashSet::new();
    let mut sound: HashMap<&str, UnitKind> = HashMap::new();
    let mut refused: HashSet<i64> = HashSet::new();
    for row in rows {
        let before = errors.len();
        if !named.insert(row.external_id.as_str()) {
            errors.push(error(row.line, "external_id", "appears on an earlier row"));
        }
        if let Some(existing) = snapshot.units.get(&row.external_id)
            && existing.kind != row.kind
        {
            errors.push(error(
                row.line,
                "external_id",
                "belongs to a unit of another kind",
            ));
        }
        if let Some(parent) = &row.parent {
            let kind = sound
                .get(parent.as_str())
                .copied()
                .filter(|_| parent != &row.external_id)
                .or_else(|| snapshot.units.get(parent).map(|u| u.kind));
            match kind {
                None if named.contains(parent.as_str()) && parent != &row.external_id => errors
                    .push(error(
                        row.line,
                        "parent",
                        format!("`{parent}` is on a refused row"),
                    )),
                None => errors.push(error(
                    row.line,
                    "parent",
                    format!("no unit `{parent}` (parents come before their children)"),
                )),
                Some(parent) if check_placement(row.kind, Some(parent)).is_ok() => {}
                Some(_) => errors.push(error(
                    row.line,
                    "parent",
                    "must be a location or an account group",
                )),
            }
        }
        if errors.len() == before {
            sound.insert(row.external_id.as_str(), row.kind);
        } else {
            refused.insert(row.line);
        }
    }
    let sound_rows: Vec<&UnitRow> = rows
        .iter()
        .filter(|row| !refused.contains(&row.line))
        .collect();
    errors.extend(cycles(&sound_rows, snapshot));
    errors
}

/// Rows whose parent would put their unit under itself once the whole file is applied
/// (itself, one of its descendants, or a loop the file makes between its rows). Authorization
/// could decide nothing about units on a cycle, so the file is refused before it starts.
fn cycles(rows: &[&UnitRow], snapshot: &ImportSnapshot) -> Vec<RowError> {
    // New units get a stand-in id here; the plan makes the real ones.
    let mut ids: HashMap<&str, UnitId> = snapshot
        .units
        .iter()
        .map(|(external, unit)| (external.as_str(), unit.id))
        .collect();
    let mut parents = snapshot.unit_parents.clone();
    let mut placed = Vec::with_capacity(rows.len());
    for row in rows {
        // As the plan resolves it: a parent named earlier in the file or already in the tenant.
        let parent = row.parent.as_deref().and_then(|p| ids.get(p)).copied();
        let unit = *ids
            .entry(row.external_id.as_str())
            .or_insert_with(UnitId::generate);
        parents.insert(unit, parent);
        placed.push((row.line, unit, parent));
    }
    placed
        .into_iter()
        .filter(|(_, unit, parent)| {
            check_acyclic(*unit, *parent, |u| parents.get(&u).copied().flatten()).is_err()
        })
        .map(|(line, ..)| {
            error(
                line,
                "parent",
                "would place the unit under itself or one of its descendants",
            )
        })
        .collect()
}

/// What an import goes on with once the file is read and checked.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Kept<T> {
    /// The rows to import; `None` when a bad row stops the import.
    pub rows: Option<Vec<T>>,
    /// Data rows read.
    pub total: usize,
    /// Every bad row, unreadable or refused by the checks.
    pub errors: Vec<RowError>,
}

/// The rows to import: all of them, none when a row is bad, or (with `skip_bad_rows`) those
/// on lines without errors.
pub fn keep<T>(
    read: Read<T>,
    checked: Vec<RowError>,
    skip_bad_rows: bool,
    line: impl Fn(&T) -> i64,
) -> Kept<T> {
    let mut errors = read.errors;
    errors.extend(checked);
    let rows = if errors.is_empty() {
        Some(read.rows)
    } else if skip_bad_rows {
        let bad: HashSet<i64> = errors.iter().map(|e| e.line).collect();
        Some(
            read.rows
                .into_iter()
                .filter(|r| !bad.contains(&line(r)))
                .collect(),
        )
    } else {
        None
    };
    Kept {
        rows,
        total: read.total,
        errors,
    }
}

/// [`keep`] for unit rows, checking them with [`check_units`]. Skipping rows changes the tree
/// the rest build: a unit a skipped row would have moved out of a loop stays where it is, and
/// may close one with a kept row. So the rows left are checked again, until they pass together,
/// and what is imported never holds a cycle or a row whose parent is missing.
pub fn keep_units(
    read: Read<UnitRow>,
    snapshot: &ImportSnapshot,
    skip_bad_rows: bool,
) -> Kept<UnitRow> {
    let checked = check_units(&read.rows, snapshot);
    let mut kept = keep(read, checked, skip_bad_rows, |r| r.line);
    if kept.errors.is_empty() {
        return kept;
    }
    // Each round refuses at least one more row, so this ends.
    while let Some(rows) = kept.rows.take() {
        let again = check_units(&rows, snapshot);
        if again.is_empty() {
            kept.rows = Some(rows);
            break;
        }
        let bad: HashSet<i64> = again.iter().map(|e| e.line).collect();
        kept.rows = Some(
            rows.into_iter()
                .filter(|r| !bad.contains(&r.line))
                .collect(),
        );
        kept.errors.extend(again);
    }
    kept
}

// Plans.

/// Rows per transaction (and per progress message).
const BATCH_ROWS: usize = 1000;

/// The role event a feed row asks for, given the role the feed gave before.
fn feed_role_event(user: UserId, role: FeedRole, before: Option<&str>) -> Option<NewEvent> {
    match (role, before) {
        (FeedRole::Manager, Some("manager")) | (FeedRole::Student, None | Some("student")) => None,
        (FeedRole::Manager, _) => Some(relationships::feed_role_given(user, Template::Manager)),
        (FeedRole::Student, Some(_)) => {
            Some(relationships::feed_role_taken(user, Template::Manager))
        }
    }
}

/// A user row as the plan resolves it against the tenant.
struct Resolved {
    /// The main account: the row's, or the Guest account.
    unit: UnitId,
    /// The team the row names, if any.
    group: Option<GroupId>,
    /// Custom field values as stored (JSON).
    custom: String,
    /// The feed's role, as stored.
    role: Option<String>,
}

fn resolve(row: &UserRow, snapshot: &ImportSnapshot, guest: UnitId) -> Resolved {
    Resolved {
        unit: row
            .account
            .as_ref()
            .and_then(|a| snapshot.units.get(a))
            .map_or(guest, |u| u.id),
        group: row
            .group
            .as_ref()
            .and_then(|g| snapshot.groups.get(g))
            .copied(),
        custom: serde_json::to_string(&row.custom).expect("a string map serialises"),
        role: row.role.map(FeedRole::as_str).map(str::to_owned),
    }
}

/// What a user row does to the person it names.
enum Effect<'s> {
    /// Nobody has its external id: a new person.
    New,
    /// The person exists and the row changes nothing of theirs (or they are anonymised: the
    /// feed does not bring them back).
    Unchanged,
    /// The person exists and the row changes them.
    Changes {
        person: &'s ImportedUser,
        /// Their main account moves.
        moved: bool,
        /// Their team changes (to the row's group).
        regrouped: bool,
    },
}

fn effect<'s>(row: &UserRow, resolved: &Resolved, snapshot: &'s ImportSnapshot) -> Effect<'s> {
    let Some(person) = snapshot.users.get(&row.external_id) else {
        return Effect::New;
    };
    let moved = person.main.as_ref().map(|main| main.unit) != Some(resolved.unit);
    let regrouped = resolved.group.is_some() && resolved.group != person.primary_group;
    let same = person.email.as_deref() == Some(row.email.as_str())
        && person.given_name == row.given_name
        && person.family_name == row.family_name
        && person.custom_fields == resolved.custom
        && !moved
        && !regrouped
        && (row.role.is_none() || person.feed_role == resolved.role);
    if same || person.status == UserStatus::Anonymised {
        Effect::Unchanged
    } else {
        Effect::Changes {
            person,
            moved,
            regrouped,
        }
    }
}

/// An existing person a row changes: what the importer must be allowed to do to them.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PersonChanged {
    /// The row's line.
    pub line: i64,
    /// The person.
    pub user: UserId,
    /// The team the row moves them to, when it does.
    pub team: Option<GroupId>,
}

/// The existing people `rows` change, exactly as [`plan_users`] would change them, each with
/// the team a row moves them into. Changing a person is administering them: the import asks
/// for each what an edit would (H3: outranking them; H1: the right over their new team).
pub fn people_changed(
    rows: &[UserRow],
    snapshot: &ImportSnapshot,
    guest: UnitId,
) -> Vec<PersonChanged> {
    rows.iter()
        .filter_map(|row| {
            let resolved = resolve(row, snapshot, guest);
            match effect(row, &resolved, snapshot) {
                Effect::Changes {
                    person, regrouped, ..
                } => Some(PersonChanged {
                    line: row.line,
                    user: person.id,
                    team: resolved.group.filter(|_| regrouped),
                }),
                Effect::New | Effect::Unchanged => None,
            }
        })
        .collect()
}

/// Users to create and change, in batches, with the facts each batch sends; rows that would
/// change nothing count in `unchanged`.
pub fn plan_users(
    rows: &[UserRow],
    snapshot: &ImportSnapshot,
    guest: UnitId,
    created_by: &str,
    now: i64,
    unchanged: &mut i64,
) -> Vec<(ImportBatch, usize)> {
    let mut batches = Vec::new();
    for chunk in rows.chunks(BATCH_ROWS) {
        let mut batch = ImportBatch::default();
        let mut updates = Vec::new();
        let mut statuses = Vec::new();
        let mut roles = Vec::new();
        let mut rows_in_batch = 0;
        for row in chunk {
            let resolved = resolve(row, snapshot, guest);
            let change = effect(row, &resolved, snapshot);
            let Resolved {
                unit,
                group,
                role,
                custom,
            } = resolved;
            match change {
                Effect::New => {
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
                        last_sign_in_at: None,
                        created_by: created_by.to_owned(),
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
                    updates.extend(relationships::employed(&employment, &[], now));
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
                Effect::Unchanged => {
                    *unchanged += 1;
                    continue;
                }
                Effect::Changes {
                    person: existing,
                    moved,
                    regrouped,
                } => {
                    let new_main = moved.then(|| EmploymentRecord {
                        id: uuid::Uuid::now_v7(),
                        user: existing.id,
                        unit,
                        starts_at: now,
                        ends_at: None,
                        main_account: true,
                    });
                    if let Some(employment) = &new_main {
                        updates.extend(relationships::employed(employment, &existing.others, now));
                        if let Some(old) = &existing.main {
                            updates.extend(relationships::moved_away(old, &existing.others, now));
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
                        end_main: new_main
                            .as_ref()
                            .and(existing.main.as_ref().map(|main| main.id)),
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

/// Units to create and change, in batches; parents may be rows earlier in the file. Rows that
/// would change nothing count in `unchanged`.
pub fn plan_units(
    tenant: TenantId,
    rows: &[UnitRow],
    snapshot: &ImportSnapshot,
    unchanged: &mut i64,
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
                    updates.push(relationships::unit_exists(tenant, unit.id));
                    updates.extend(relationships::parent_changed(unit.id, None, parent));
                    ids.insert(row.external_id.as_str(), unit.id);
                    batch.units.push(unit);
                }
                Some(existing) if existing.name == row.name && existing.parent == parent => {
                    *unchanged += 1;
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

#[cfg(test)]
mod tests {
    use super::*;

    const USERS: &str = "external_id,email,given_name,family_name,account,role,custom.badge\n\
        E1,ann@example.org,Ann,Ames,ACME,manager,B1\n\
        E2,not-an-email,Bob,,ACME,boss,\n\
        E3,cy@example.org,Cy,Cole,,,\n";

    #[test]
    fn every_bad_row_is_named_with_its_line_and_column() {
        let read = read_users(USERS.as_bytes(), true).unwrap();
        assert_eq!(read.total, 3);
        assert_eq!(read.rows.len(), 2);
        let found: Vec<_> = read
            .errors
            .iter()
            .map(|e| (e.line, e.column.as_str()))
            .collect();
        assert_eq!(found, [(3, "email"), (3, "family_name"), (3, "role")]);
        assert_eq!(read.rows[0].role, Some(FeedRole::Manager));
        assert_eq!(read.rows[0].custom["badge"], "B1");
    }

    #[test]
    fn formula_cells_and_overlong_custom_values_are_refused_with_their_column() {
        let long = "x".repeat(1001);
        let file = format!(
            "external_id,email,given_name,family_name,custom.phone,custom.note\n\
             E1,ann@example.org,=HYPERLINK(\"x\"),Ames,+44 20 7946 0000,\n\
             E2,bob@example.org,Bob,Burns,-12,{long}\n\
             E3,cy@example.org,Cy,Cole,+cmd|' /C calc'!A0,@SUM(A1)\n\
             E4,di@example.org,Di,Dee,+44 (0) 20-7946,-3.5\n"
        );
        let read = read_users(file.as_bytes(), false).unwrap();
        let mut found: Vec<_> = read
            .errors
            .iter()
            .map(|e| (e.line, e.column.as_str()))
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                (2, "given_name"),
                (3, "custom.note"),
                (4, "custom.note"),
                (4, "custom.phone")
            ]
        );
        assert_eq!(read.rows.len(), 1);
        assert_eq!(read.rows[0].custom["phone"], "+44 (0) 20-7946");
    }

    #[test]
    fn a_file_without_the_required_columns_is_refused_whole() {
        let refused = read_users(&b"email,name\nann@example.org,Ann\n"[..], false).unwrap_err();
        assert!(refused.0.contains("`external_id`"), "{refused}");
    }

    #[test]
    fn rows_are_checked_against_the_tenant_and_each_other() {
        let mut snapshot = ImportSnapshot::default();
        snapshot
            .emails
            .insert("cy@example.org".into(), Some("OTHER".into()));
        let file = "external_id,email,given_name,family_name,account\n\
            E1,ann@example.org,Ann,Ames,NOPE\n\
            E1,cy@example.org,Cy,Cole,\n";
        let read = read_users(file.as_bytes(), false).unwrap();
        let errors = check_users(&read.rows, &snapshot, &[]);
        let found: Vec<_> = errors.iter().map(|e| (e.line, e.column.as_str())).collect();
        assert_eq!(
            found,
            [(2, "account"), (3, "external_id"), (3, "email")],
            "{errors:?}"
        );
    }

    /// A snapshot of two existing account groups, B under A.
    fn a_above_b() -> ImportSnapshot {
        let mut snapshot = ImportSnapshot::default();
        let (a, b) = (UnitId::generate(), UnitId::generate());
        for (external, id, parent) in [("A", a, None), ("B", b, Some(a))] {
            snapshot.units.insert(
                external.into(),
                UnitRecord {
                    id,
                    kind: UnitKind::AccountGroup,
                    name: external.into(),
                    parent,
                    external_id: Some(external.into()),
                },
            );
            snapshot.unit_parents.insert(id, parent);
        }
        snapshot
    }

    #[test]
    fn unit_parents_come_first_and_hold_only_what_they_may() {
        let file = "external_id,name,parent\nG1,Group one,\nG2,Group two,G1\nG3,Group three,G9\n";
        let read = read_units(file.as_bytes(), false).unwrap();
        let errors = check_units(&read.rows, &ImportSnapshot::default());
        assert_eq!(errors.len(), 1);
        assert_eq!((errors[0].line, errors[0].column.as_str()), (4, "parent"));
    }

    #[test]
    fn skipping_a_row_refuses_the_rows_it_would_have_kept_sound() {
        let snapshot = a_above_b();
        // Line 2 (refused) would take B out from under A, which line 3 needs to be no loop;
        // line 5 hangs under the new unit of refused line 4; line 6 is fine.
        let file = "external_id,name,parent\nB,B,NOPE\nA,A,B\nN,N,NOPE\nC,C,N\nD,D,A\n";
        let read = read_units(file.as_bytes(), false).unwrap();
        let kept = keep_units(read, &snapshot, true);
        let mut found: Vec<_> = kept
            .errors
            .iter()
            .map(|e| (e.line, e.column.as_str()))
            .collect();
        found.sort();
        assert_eq!(
            found,
            [(2, "parent"), (3, "parent"), (4, "parent"), (5, "parent")]
        );
        let rows: Vec<_> = kept.rows.unwrap().iter().map(|r| r.line).collect();
        assert_eq!(rows, [6]);
    }

    #[test]
    fn a_loop_that_skipped_rows_leave_behind_is_refused_in_turn() {
        let mut snapshot = ImportSnapshot::default();
        let (p, u, x) = (UnitId::generate(), UnitId::generate(), UnitId::generate());
        for (external, id, parent) in [("P", p, None), ("U", u, Some(p)), ("X", x, None)] {
            snapshot.units.insert(
                external.into(),
                UnitRecord {
                    id,
                    kind: UnitKind::AccountGroup,
                    name: external.into(),
                    parent,
                    external_id: Some(external.into()),
                },
            );
            snapshot.unit_parents.insert(id, parent);
        }
        // U and X make a loop (both refused); P under U is sound only while U moves, and once
        // U's row is skipped U stays under P: P's row closes a loop of its own.
        let file = "external_id,name,parent\nU,U,X\nX,X,U\nP,P,U\n";
        let read = read_units(file.as_bytes(), false).unwrap();
        let kept = keep_units(read, &snapshot, true);
        let mut lines: Vec<_> = kept.errors.iter().map(|e| e.line).collect();
        lines.sort();
        assert_eq!(lines, [2, 3, 4]);
        assert_eq!(kept.rows.unwrap(), []);
    }

    #[test]
    fn unit_rows_that_close_a_loop_are_refused_each_with_its_line() {
        let snapshot = a_above_b();
        let file = "external_id,name,parent\nA,A,B\nC,C,A\n";
        let read = read_units(file.as_bytes(), false).unwrap();
        let errors = check_units(&read.rows, &snapshot);
        let found: Vec<_> = errors.iter().map(|e| (e.line, e.column.as_str())).collect();
        assert_eq!(found, [(2, "parent")], "{errors:?}");
    }
}
