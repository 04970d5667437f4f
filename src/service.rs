//! The gateway as a service: SIGINT/SIGTERM stop it, SIGHUP re-reads the
//! config file (applied all-or-nothing, like the API), and the service
//! manager hears about it through `sd_notify` ($NOTIFY_SOCKET; nothing is
//! sent without one): READY=1 once every worker polls, RELOADING=1 and
//! READY=1 around a reload, STOPPING=1 on the way out.

use sd_notify::NotifyState;
use std::time::Duration;
use tokio::signal::unix::{signal, Signal, SignalKind};
use vtepgw_mgmt::AppState;

/// The signals the gateway handles, registered up front so that none of
/// them takes its default action (SIGHUP's is to exit) once this exists.
pub struct Signals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl Signals {
    /// Registers the handlers; needs a Tokio runtime.
    pub fn register() -> std::io::Result<Signals> {
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// Says READY once every worker polls, then handles signals; returns
    /// on SIGINT or SIGTERM.
    pub async fn serve(mut self, state: AppState) {
        let shared = &state.shared;
        while !shared.workers.iter().all(|w| w.polls.get() > 0) && !shared.stopping() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        notify(&[NotifyState::Ready, NotifyState::Status("running")]);
        tracing::info!(
            workers = shared.workers.len(),
            "ready: every worker is polling"
        );
        loop {
            tokio::select! {
                _ = self.interrupt.recv() => break,
                _ = self.terminate.recv() => break,
                _ = self.hangup.recv() => reload(&state).await,
            }
        }
        notify(&[NotifyState::Stopping]);
    }
}

/// SIGHUP: the config file again, through the API's apply path.
async fn reload(state: &AppState) {
    let mut reloading = vec![NotifyState::Reloading];
    // systemd's notify-reload wants the reload's start time with it.
    reloading.extend(NotifyState::monotonic_usec_now().ok());
    notify(&reloading);
    match state.applier.reload(&state.shared).await {
        Ok(a) if a.changed => {
            tracing::info!(generation = a.generation, "SIGHUP: configuration reloaded")
        }
        Ok(a) => tracing::info!(
            generation = a.generation,
            "SIGHUP: configuration file unchanged"
        ),
        Err(e) => tracing::error!("SIGHUP: reload refused, running configuration unchanged: {e}"),
    }
    notify(&[NotifyState::Ready, NotifyState::Status("running")]);
}

fn notify(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!("sd_notify to $NOTIFY_SOCKET failed: {e}");
    }
}
