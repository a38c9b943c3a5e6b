//! What the seeding keeps in the data directory between runs.
//!
//! - `demo.env`: the world's ids as shell `KEY=value` lines, written last, atomically; its
//!   presence (with every key) means "seeded", and a later run seeds nothing.
//! - `demo-tenants`: each tenant's id, recorded the moment it is created or found, so that a
//!   run that stopped half-way, or a data dir whose `demo.env` was deleted, takes them up again
//!   at once. A tenant made by a run that stopped before recording it is found by name in the
//!   platform's audit trail; everything inside a tenant is found through the API.
//! - `demo-tenant`: the demo tenant's id alone, as before `demo.env` existed (kept for its
//!   readers, and the mark of a data dir seeded by an earlier version: the rest of the world is
//!   seeded into that tenant).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::SeedError;
use super::world::KEYS;

/// Where the world's ids are kept once everything is seeded.
pub const DEMO_ENV_FILE: &str = "demo.env";
/// Where the demo tenant's id is kept.
pub const DEMO_TENANT_FILE: &str = "demo-tenant";
/// Where every tenant the seeding created is recorded.
const TENANTS_FILE: &str = "demo-tenants";
/// The key of the demo tenant's id.
const DEMO_TENANT: &str = "DEMO_TENANT";

/// The world's ids, by their `demo.env` key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoIds(BTreeMap<String, String>);

impl DemoIds {
    /// The id kept under `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Keeps `id` under `key`.
    pub(super) fn set(&mut self, key: &str, id: impl Into<String>) {
        self.0.insert(key.to_owned(), id.into());
    }

    /// Whether every key of the world has an id.
    pub fn complete(&self) -> bool {
        KEYS.iter()
            .all(|key| self.get(key).is_some_and(|id| !id.is_empty()))
    }

    /// `KEY=value` lines, in the order of [`KEYS`].
    pub fn to_env(&self) -> String {
        KEYS.iter()
            .filter_map(|key| Some(format!("{key}={}\n", self.get(key)?)))
            .collect()
    }

    /// Reads `KEY=value` lines, ignoring blank lines and `#` comments.
    pub fn parse(text: &str) -> DemoIds {
        DemoIds(
            text.lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .filter_map(|line| line.split_once('='))
                .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
                .filter(|(_, value)| !value.is_empty())
                .collect(),
        )
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SeedError + '_ {
    move |source| SeedError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The contents of `path`, or `None` when there is no such file.
fn read(path: &Path) -> Result<Option<String>, SeedError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(io(path)(error)),
    }
}

/// The ids of a finished seeding, if `data_dir` holds them all.
pub fn seeded(data_dir: &Path) -> Result<Option<DemoIds>, SeedError> {
    let ids = read(&data_dir.join(DEMO_ENV_FILE))?.map(|text| DemoIds::parse(&text));
    Ok(ids.filter(DemoIds::complete))
}

/// The tenants an earlier run created, and the record of those this run creates.
#[derive(Debug)]
pub struct Progress {
    data_dir: PathBuf,
    tenants: DemoIds,
}

impl Progress {
    /// What earlier runs left in `data_dir`.
    pub fn load(data_dir: &Path) -> Result<Progress, SeedError> {
        let mut tenants = read(&data_dir.join(TENANTS_FILE))?
            .map(|text| DemoIds::parse(&text))
            .unwrap_or_default();
        if let Some(demo) = read(&data_dir.join(DEMO_TENANT_FILE))? {
            let demo = demo.trim();
            if !demo.is_empty() {
                tenants.set(DEMO_TENANT, demo);
            }
        }
        Ok(Progress {
            data_dir: data_dir.to_owned(),
            tenants,
        })
    }

    /// The id of the tenant kept under `key`, if an earlier run created it.
    pub fn tenant(&self, key: &str) -> Option<&str> {
        self.tenants.get(key)
    }

    /// Records a tenant just created (or found), before anything else is done in it.
    pub fn record_tenant(&mut self, key: &str, id: &str) -> Result<(), SeedError> {
        let path = self.data_dir.join(TENANTS_FILE);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        file.write_all(format!("{key}={id}\n").as_bytes())
            .map_err(io(&path))?;
        if key == DEMO_TENANT {
            let path = self.data_dir.join(DEMO_TENANT_FILE);
            std::fs::write(&path, id).map_err(io(&path))?;
        }
        self.tenants.set(key, id);
        Ok(())
    }

    /// Writes `demo.env`, through a temporary file and a rename so that it never exists half
    /// written.
    pub fn finish(self, ids: &DemoIds) -> Result<(), SeedError> {
        let path = self.data_dir.join(DEMO_ENV_FILE);
        let temporary = self.data_dir.join(format!("{DEMO_ENV_FILE}.tmp"));
        // No comment line: `export $(cat demo.env)` takes every word as an assignment.
        std::fs::write(&temporary, ids.to_env()).map_err(io(&temporary))?;
        std::fs::rename(&temporary, &path).map_err(io(&path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_ids() -> DemoIds {
        let mut ids = DemoIds::default();
        for (n, key) in KEYS.iter().enumerate() {
            ids.set(key, format!("id-{n}"));
        }
        ids
    }

    #[test]
    fn demo_env_reads_back_what_was_written_and_only_complete_means_seeded() {
        let dir = tempfile::tempdir().unwrap();
        let mut progress = Progress::load(dir.path()).unwrap();
        progress.record_tenant("DEMO_TENANT", "demo-id").unwrap();
        progress.record_tenant("GROUP_TENANT", "group-id").unwrap();
        assert!(seeded(dir.path()).unwrap().is_none());
        // A run that stopped here is picked up by the next.
        let again = Progress::load(dir.path()).unwrap();
        assert_eq!(again.tenant("DEMO_TENANT"), Some("demo-id"));
        assert_eq!(again.tenant("GROUP_TENANT"), Some("group-id"));
        assert_eq!(again.tenant("CLIENT_TENANT"), None);
        assert_eq!(
            std::fs::read_to_string(dir.path().join(DEMO_TENANT_FILE)).unwrap(),
            "demo-id"
        );

        let ids = all_ids();
        again.finish(&ids).unwrap();
        assert_eq!(seeded(dir.path()).unwrap(), Some(ids));
        // Without demo.env, the tenants are still found.
        std::fs::remove_file(dir.path().join(DEMO_ENV_FILE)).unwrap();
        let reloaded = Progress::load(dir.path()).unwrap();
        assert_eq!(reloaded.tenant("GROUP_TENANT"), Some("group-id"));
        reloaded.finish(&all_ids()).unwrap();

        // A demo.env missing a key is not a finished seeding.
        let text = std::fs::read_to_string(dir.path().join(DEMO_ENV_FILE)).unwrap();
        let cut: String = text
            .lines()
            .filter(|line| !line.starts_with("MASTER_ID="))
            .map(|line| format!("{line}\n"))
            .collect();
        std::fs::write(dir.path().join(DEMO_ENV_FILE), cut).unwrap();
        assert!(seeded(dir.path()).unwrap().is_none());
    }

    #[test]
    fn the_env_lines_follow_the_documented_order() {
        let text = all_ids().to_env();
        let keys: Vec<&str> = text
            .lines()
            .map(|line| line.split_once('=').unwrap().0)
            .collect();
        assert_eq!(keys, KEYS);
    }
}
