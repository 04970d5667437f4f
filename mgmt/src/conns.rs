//! Connections to the management API: a cap on how many are open, a
//! deadline for a request head and one for an idle keep-alive connection.
//! When the cap is reached, the connection that has waited longest outside
//! a request is closed to make room (as nginx reuses keep-alive
//! connections), so idle or slow clients cannot lock an operator out; a
//! new connection is refused (503) only when every open one is in a request.

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;
use tower::ServiceExt;

/// How many connections, and how long they may wait.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
}

impl Limits {
    /// The limits `management` configures.
    pub fn from_config(m: &vtepgw_config::Management) -> Limits {
        Limits {
            max_connections: m.max_connections as usize,
            header_timeout: Duration::from_secs(m.header_timeout_secs.into()),
            idle_timeout: Duration::from_secs(m.idle_timeout_secs.into()),
        }
    }
}

/// Where a connection is: reading a request head (since), in `n` requests,
/// or idle between requests (since).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Head(Instant),
    Busy(u32),
    Idle(Instant),
}

/// One open connection as the table sees it.
struct Conn {
    phase: Mutex<Phase>,
    /// Told to close, to make room for a newer connection.
    evict: Notify,
    /// Told when a request ends, so its idle deadline starts counting.
    idle: Notify,
}

impl Conn {
    fn phase(&self) -> Phase {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, f: impl FnOnce(Phase) -> Phase) {
        let mut p = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        *p = f(*p);
    }

    /// Since when it has waited outside a request; None while in one.
    fn waiting_since(&self) -> Option<Instant> {
        match self.phase() {
            Phase::Head(t) | Phase::Idle(t) => Some(t),
            Phase::Busy(_) => None,
        }
    }

    /// When it is closed unless something happens; None while in a
    /// request (the handler's work is not timed here).
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        match self.phase() {
            Phase::Head(t) => Some(t + limits.header_timeout),
            Phase::Idle(t) => Some(t + limits.idle_timeout),
            Phase::Busy(_) => None,
        }
    }

    /// Bytes arrived: an idle connection starts a request head.
    fn saw_bytes(&self) {
        self.set(|p| match p {
            Phase::Idle(_) => Phase::Head(Instant::now()),
            p => p,
        });
    }
}

/// Marks a connection busy while a request is handled.
struct Busy(Arc<Conn>);

impl Busy {
    fn new(conn: Arc<Conn>) -> Busy {
        conn.set(|p| match p {
            Phase::Busy(n) => Phase::Busy(n + 1),
            _ => Phase::Busy(1),
        });
        Busy(conn)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.set(|p| match p {
            Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
            _ => Phase::Idle(Instant::now()),
        });
        self.0.idle.notify_one();
    }
}

/// The open connections.
#[derive(Default)]
struct Table {
    conns: Mutex<(u64, HashMap<u64, Arc<Conn>>)>,
}

impl Table {
    /// Registers a new connection, closing the longest-waiting one outside
    /// a request if the table is full; None if every one is in a request.
    fn admit(&self, max: usize) -> Option<(u64, Arc<Conn>)> {
        let mut guard = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        let (next, conns) = &mut *guard;
        if conns.len() >= max {
            let victim = conns
                .iter()
                .filter_map(|(&id, c)| Some((c.waiting_since()?, id)))
                .min()
                .map(|(_, id)| id)?;
            if let Some(c) = conns.remove(&victim) {
                c.evict.notify_one();
            }
        }
        *next += 1;
        let conn = Arc::new(Conn {
            phase: Mutex::new(Phase::Head(Instant::now())),
            evict: Notify::new(),
            idle: Notify::new(),
        });
        conns.insert(*next, conn.clone());
        Some((*next, conn))
    }

    fn remove(&self, id: u64) {
        let mut guard = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        guard.1.remove(&id);
    }
}

/// A TCP stream that tells its connection when bytes arrive.
struct Watched {
    stream: TcpStream,
    conn: Arc<Conn>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.stream).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.conn.saw_bytes();
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Logs at most once a second (a flood must not flood the log).
struct Throttled(Option<Instant>);

impl Throttled {
    fn ready(&mut self) -> bool {
        let now = Instant::now();
        if self.0.is_some_and(|t| now < t + Duration::from_secs(1)) {
            return false;
        }
        self.0 = Some(now);
        true
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` completes;
/// then stops accepting and lets requests in progress finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let table = Arc::new(Table::default());
    let (stop, stopped) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    let mut refusals = Throttled(None);
    let mut accept_errors = Throttled(None);
    tokio::pin!(shutdown);
    loop {
        // Evicted and refused connections take a moment to close (a
        // refusal waits up to a second for the client): while twice the
        // cap of sockets is held, reap before accepting more, so a flood
        // of connections cannot run the process out of descriptors. At
        // most `max_connections` of them are admitted, so the rest end soon.
        if tasks.len() >= 2 * limits.max_connections.max(1) {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tasks.join_next() => continue,
            }
        }
        let stream = tokio::select! {
            _ = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, usually: wait for some to close.
                    if accept_errors.ready() {
                        tracing::warn!("management API: accept error: {e}");
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some((id, conn)) = table.admit(limits.max_connections) else {
            if refusals.ready() {
                tracing::warn!(
                    max_connections = limits.max_connections,
                    "management API: every connection is in a request; refusing a new one"
                );
            }
            tasks.spawn(refuse(stream));
            continue;
        };
        let table = table.clone();
        let task = connection(stream, app.clone(), conn, limits, stopped.clone());
        tasks.spawn(async move {
            task.await;
            table.remove(id);
        });
    }
    let _ = stop.send(true);
    while tasks.join_next().await.is_some() {}
}

/// Serves one connection until it ends, idles or dawdles past its
/// deadline, is evicted, or the server stops.
async fn connection(
    stream: TcpStream,
    app: Router,
    conn: Arc<Conn>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let io = TokioIo::new(Watched {
        stream,
        conn: conn.clone(),
    });
    let inner = conn.clone();
    let service = hyper::service::service_fn(move |req| {
        let busy = Busy::new(inner.clone());
        let app = app.clone();
        async move {
            let response = app.oneshot(req).await;
            drop(busy);
            response
        }
    });
    let served = http1::Builder::new()
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(served);
    let mut stopping = false;
    // Far enough to mean "no deadline" (a request in progress).
    let never = Duration::from_secs(86_400);
    loop {
        let deadline = conn.deadline(&limits);
        tokio::select! {
            result = served.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!("management API connection: {e}");
                }
                return;
            }
            _ = conn.evict.notified() => {
                tracing::debug!("management API: closed an idle connection to make room");
                return;
            }
            _ = conn.idle.notified() => {}
            _ = tokio::time::sleep_until(deadline.unwrap_or(Instant::now() + never)) => {
                if conn.deadline(&limits).is_some_and(|d| d <= Instant::now()) {
                    tracing::debug!(phase = ?conn.phase(), "management API: connection timed out");
                    return;
                }
            }
            _ = stop.changed(), if !stopping => {
                // Outside a request there is nothing to finish: close now
                // (a half-sent head must not hold up the stop).
                if conn.waiting_since().is_some() {
                    return;
                }
                stopping = true;
                served.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Answers 503 and closes: the cap is reached and no connection can go.
/// The client's request is read and discarded after the answer (for up to
/// a second), so closing does not reset the connection before the client
/// has read the 503.
async fn refuse(mut stream: TcpStream) {
    use tokio::io::AsyncReadExt;
    let body = r#"{"error":"too many API connections in progress; try again","errors":[{"path":"","reason":"too many API connections in progress; try again"}]}"#;
    let reply = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n\
         Retry-After: 1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let answer = async {
        stream.write_all(reply.as_bytes()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 1024];
        while stream.read(&mut sink).await? > 0 {}
        io::Result::Ok(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), answer).await;
}

#[cfg(test)]
mod tests;
