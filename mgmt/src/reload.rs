//! Reloading the config file (SIGHUP): the file is re-read and applied
//! through [`Applier::change`], exactly like `PUT /api/v1/config`, so a bad
//! file or one that needs a restart changes nothing.

use crate::apply::{Applied, Applier, ApplyError, Expected};
use std::fmt;
use vtepgw_config::{Config, ConfigErrors};
use vtepgw_gateway::shared::Shared;

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApplyError::Invalid(errors) => write!(f, "invalid configuration: {errors}"),
            ApplyError::NeedsRestart(errors) => write!(
                f,
                "cannot be changed on a running gateway: {}",
                ConfigErrors(errors.clone())
            ),
            ApplyError::Build(reason) => write!(f, "{reason}"),
            ApplyError::Stale { running, .. } => {
                write!(
                    f,
                    "the running configuration is generation {running}, not the expected one"
                )
            }
        }
    }
}

impl Applier {
    /// Re-reads the config file and applies it; on any error (unreadable,
    /// invalid, needs a restart) the running config stays as it was.
    pub async fn reload(&self, shared: &Shared) -> Result<Applied, String> {
        let path = self
            .config_file
            .clone()
            .ok_or("the gateway was not started from a config file")?;
        let read = tokio::task::spawn_blocking({
            let path = path.clone();
            move || Config::read(&path)
        })
        .await
        .map_err(|e| e.to_string())?;
        let new = read.map_err(|e| format!("{}: {}", path.display(), ApplyError::Invalid(e)))?;
        let ((), applied) = self
            .change(shared, &Expected::Any, |c| {
                *c = new;
                Ok::<_, ApplyError>(())
            })
            .await
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(applied)
    }
}

#[cfg(test)]
mod tests {
    use crate::testkit::{Lab, CONFIG, DATA_ROOM};
    use crate::Applier;

    fn file(text: &str) -> std::path::PathBuf {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("vtepgw-reload-{}-{n}.toml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[tokio::test]
    async fn a_good_file_is_applied_and_a_bad_one_changes_nothing() {
        let lab = Lab::new();
        let path = file(&format!("{CONFIG}\n[[vni]]\nid = 200\n"));
        let applier = Applier::new(lab.config(), Some(path.clone()), DATA_ROOM);
        let applied = applier.reload(&lab.shared).await.unwrap();
        assert_eq!((applied.generation, applied.changed), (2, true));
        assert_eq!(applier.config().vni[1].id, 200);
        // The same file again: nothing to publish.
        assert!(!applier.reload(&lab.shared).await.unwrap().changed);

        for (text, needle) in [
            (format!("{CONFIG}\n[[vni]]\nid = 16777216\n"), "vni[1].id"),
            (
                CONFIG.replace("[underlay]", "[underlay]\nbogus = 1"),
                "bogus",
            ),
            (
                CONFIG.replace("device = \"u0\"", "device = \"u9\""),
                "underlay.device",
            ),
            ("[underlay\n".to_string(), "line 1"),
        ] {
            std::fs::write(&path, &text).unwrap();
            let err = applier.reload(&lab.shared).await.unwrap_err();
            assert!(err.contains(needle), "{needle} not in {err}");
            assert!(err.contains(path.to_str().unwrap()), "{err}");
            assert_eq!(lab.generation(), 2, "{needle}: nothing applied");
            assert_eq!(applier.config().vni.len(), 2);
        }
        std::fs::remove_file(&path).unwrap();
        assert!(applier
            .reload(&lab.shared)
            .await
            .unwrap_err()
            .contains("cannot read"));
        assert_eq!(lab.generation(), 2);
    }
}
