//! The one path every configuration change takes: copy the running config,
//! edit the copy, validate it whole, check it can be applied live, compile
//! a snapshot and publish it. Any failure leaves everything as it was.
//! Changes are serialised by a lock held only on the management runtime.

use crate::live::restart_needed;
use arc_swap::ArcSwap;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use vtepgw_config::{Config, ConfigError, ConfigErrors, ConfigWarning};
use vtepgw_gateway::shared::Shared;
use vtepgw_gateway::snapshot::Snapshot;

/// Why a candidate config was not applied.
#[derive(Debug)]
pub enum ApplyError {
    /// Validation found these problems.
    Invalid(ConfigErrors),
    /// Valid, but these fields cannot change while running.
    NeedsRestart(Vec<ConfigError>),
    /// The data plane could not compile it.
    Build(String),
    /// The running config is no longer the one the change was meant for.
    Stale { running: u64, expected: Expected },
}

/// Which running generations a change may apply to (HTTP `If-Match`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Expected {
    /// Any: an unconditional change.
    #[default]
    Any,
    /// One of these (none: no generation matches).
    OneOf(Vec<u64>),
}

impl Expected {
    pub fn allows(&self, generation: u64) -> bool {
        match self {
            Expected::Any => true,
            Expected::OneOf(list) => list.contains(&generation),
        }
    }

    /// Refuses `running` unless it is expected.
    fn check(&self, running: u64) -> Result<(), ApplyError> {
        if self.allows(running) {
            Ok(())
        } else {
            Err(ApplyError::Stale {
                running,
                expected: self.clone(),
            })
        }
    }
}

/// The outcome of an accepted change.
#[derive(Debug, Serialize)]
pub struct Applied {
    /// Generation of the running config afterwards.
    pub generation: u64,
    /// False when the candidate equalled the running config (nothing published).
    pub changed: bool,
    pub warnings: Vec<ConfigWarning>,
}

/// A candidate's verdict, without applying it.
#[derive(Debug, Serialize)]
pub struct Verdict {
    /// Valid as a configuration (file or API).
    pub valid: bool,
    pub errors: Vec<ConfigError>,
    pub warnings: Vec<ConfigWarning>,
    /// Whether the running gateway could switch to it without a restart.
    pub applicable_live: bool,
    /// The fields that would need a restart.
    pub needs_restart: Vec<ConfigError>,
}

/// Why the running config was not saved.
#[derive(Debug)]
pub enum SaveError {
    /// The gateway was not started from a config file.
    NoFile,
    /// `Stale`: the running generation was not the expected one.
    Apply(ApplyError),
    Write(String),
}

impl From<ApplyError> for SaveError {
    fn from(e: ApplyError) -> Self {
        SaveError::Apply(e)
    }
}

/// Serialises and applies configuration changes.
pub struct Applier {
    lock: tokio::sync::Mutex<()>,
    /// The config of record (the data plane's snapshot keeps only what it
    /// compiled from it). Replaced, under `lock`, just before the snapshot
    /// built from it is published, so a reader that sees a generation sees
    /// its config (or a newer one, whose changes an If-Match then refuses).
    running: ArcSwap<Config>,
    pub(crate) config_file: Option<PathBuf>,
    data_room: usize,
}

impl Applier {
    /// `config_file` is where `save` writes (the file given to `run`);
    /// `data_room` is the packet buffers' data room in bytes.
    pub fn new(running: Config, config_file: Option<PathBuf>, data_room: usize) -> Self {
        Applier {
            lock: tokio::sync::Mutex::new(()),
            running: ArcSwap::from_pointee(running),
            config_file,
            data_room,
        }
    }

    /// The running config.
    pub fn config(&self) -> Arc<Config> {
        self.running.load_full()
    }

    /// Checks a candidate against the rules and the running config.
    pub fn verdict(&self, running: &Config, candidate: &Config) -> Verdict {
        let (errors, warnings) = match candidate.validate() {
            Ok(w) => (Vec::new(), w),
            Err(e) => (e.0, Vec::new()),
        };
        let needs_restart = restart_needed(running, candidate, self.data_room);
        Verdict {
            valid: errors.is_empty(),
            applicable_live: errors.is_empty() && needs_restart.is_empty(),
            errors,
            warnings,
            needs_restart,
        }
    }

    /// Applies `edit` to a copy of the running config and, if the result
    /// is valid and live-applicable, switches the data plane to it.
    /// Returns what `edit` returned and the outcome; on any error nothing
    /// changes. Refused (`Stale`) unless the running generation is
    /// `expected`, checked under the lock, so nothing can slip in between.
    pub async fn change<T, E>(
        &self,
        shared: &Shared,
        expected: &Expected,
        edit: impl FnOnce(&mut Config) -> Result<T, E>,
    ) -> Result<(T, Applied), E>
    where
        E: From<ApplyError>,
    {
        let _guard = self.lock.lock().await;
        let current = shared.snapshot.load_full();
        expected.check(current.generation)?;
        let running = self.running.load_full();
        let mut candidate = running.as_ref().clone();
        let value = edit(&mut candidate)?;
        if candidate == *running {
            let applied = Applied {
                generation: current.generation,
                changed: false,
                warnings: candidate.validate().unwrap_or_default(),
            };
            return Ok((value, applied));
        }
        let warnings = candidate.validate().map_err(ApplyError::Invalid)?;
        let refused = restart_needed(&running, &candidate, self.data_room);
        if !refused.is_empty() {
            return Err(ApplyError::NeedsRestart(refused).into());
        }
        let macs: Vec<_> = current.ports.iter().map(|p| p.mac).collect();
        let generation = current.generation + 1;
        let snapshot = Snapshot::build(&candidate, &macs, Some(&current), generation)
            .map_err(|e| ApplyError::Build(e.0))?;
        self.running.store(Arc::new(candidate));
        shared.publish(snapshot);
        for w in &warnings {
            tracing::warn!("config: {w}");
        }
        tracing::info!(generation, "configuration changed");
        Ok((
            value,
            Applied {
                generation,
                changed: true,
                warnings,
            },
        ))
    }

    /// Writes the running config to the config file (atomically: a
    /// temporary file renamed over it), if its generation is `expected`.
    /// Returns the path and generation.
    pub async fn save(
        &self,
        shared: &Shared,
        expected: &Expected,
    ) -> Result<(PathBuf, u64), SaveError> {
        let _guard = self.lock.lock().await;
        let snapshot = shared.snapshot.load_full();
        expected.check(snapshot.generation)?;
        let path = self.config_file.clone().ok_or(SaveError::NoFile)?;
        let text = format!(
            "# Written by vtepgw (POST /api/v1/config/save), generation {}.\n{}",
            snapshot.generation,
            self.running.load().to_toml_string()
        );
        let target = path.clone();
        let written = tokio::task::spawn_blocking(move || write_durably(&target, &text))
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string()));
        if let Err(e) = written {
            return Err(SaveError::Write(format!(
                "cannot write {}: {e}",
                path.display()
            )));
        }
        let generation = snapshot.generation;
        tracing::info!(path = %path.display(), generation, "configuration saved");
        Ok((path, snapshot.generation))
    }
}

/// Replaces `path` with `text` so that a crash leaves the old file or the
/// new one, never a torn one: a temporary file (with the old file's
/// permissions) synced to disk, renamed over it, and the directory synced.
fn write_durably(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("toml.tmp");
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        if let Ok(meta) = std::fs::metadata(path) {
            file.set_permissions(meta.permissions())?;
        }
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        std::fs::File::open(dir.unwrap_or(std::path::Path::new(".")))?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
