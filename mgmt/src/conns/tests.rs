//! The connection rules on a real loopback server: idle and slow clients
//! are closed or make room; a connection in a request is never cut.

use super::*;
use axum::routing::get;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream as StdStream};

/// A server with `/` (answers at once) and `/slow` (tells `entered`, then
/// answers when `release` is notified), on a free loopback port.
struct Server {
    addr: SocketAddr,
    entered: Arc<Notify>,
    release: Arc<Notify>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(limits: Limits) -> Server {
    let (entered, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let (inside, gate) = (entered.clone(), release.clone());
    let app = Router::new().route("/", get(|| async { "ok" })).route(
        "/slow",
        get(move || async move {
            inside.notify_one();
            gate.notified().await;
            "slow"
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, app, limits, async {
        let _ = stopped.await;
    }));
    Server {
        addr,
        entered,
        release,
        _stop: stop,
    }
}

fn limits(max: usize, header_secs: u64, idle_secs: u64) -> Limits {
    Limits {
        max_connections: max,
        header_timeout: Duration::from_secs(header_secs),
        idle_timeout: Duration::from_secs(idle_secs),
    }
}

/// A blocking client connection (the tests run it off the runtime).
fn connect(addr: SocketAddr) -> StdStream {
    let s = StdStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s
}

/// Reads until the server closes the connection (or resets it, as it may
/// when closing one with unread bytes): what it sent.
fn read_to_close(s: &mut StdStream) -> String {
    let mut out = Vec::new();
    match s.read_to_end(&mut out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the server should have closed the connection: {e}"),
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One `Connection: close` request: the whole response.
fn request(addr: SocketAddr, path: &str) -> String {
    let mut s = connect(addr);
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    read_to_close(&mut s)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_half_sent_connections_beyond_the_cap_make_room_for_requests() {
    let server = start(limits(4, 300, 300)).await;
    let addr = server.addr;
    blocking(move || {
        // 20 that never send a byte, 10 that stop half-way through a head.
        let mut idle: Vec<StdStream> = (0..20).map(|_| connect(addr)).collect();
        for _ in 0..10 {
            let mut s = connect(addr);
            s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
            idle.push(s);
        }
        for _ in 0..3 {
            let reply = request(addr, "/");
            assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        }
        // At most 4 were ever open at once: all but the newest were closed.
        let closed = idle
            .iter_mut()
            .take(27)
            .map(read_to_close)
            .filter(String::is_empty)
            .count();
        assert_eq!(closed, 27);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_in_a_request_is_never_evicted_and_a_full_table_answers_503() {
    let server = start(limits(1, 300, 300)).await;
    let addr = server.addr;
    let mut slow = connect(addr);
    write!(
        slow,
        "GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    // Once the server holds it in the request, a new connection finds the
    // only slot busy.
    server.entered.notified().await;
    let refused = blocking(move || request(addr, "/")).await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.contains("too many API connections"), "{refused}");
    assert!(refused.contains("Retry-After: 1"), "{refused}");
    server.release.notify_one();
    let reply = blocking(move || read_to_close(&mut slow)).await;
    assert!(
        reply.starts_with("HTTP/1.1 200") && reply.ends_with("slow"),
        "{reply}"
    );
    let after = blocking(move || request(addr, "/")).await;
    assert!(after.starts_with("HTTP/1.1 200"), "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_sends_no_complete_head_is_closed_after_the_header_timeout() {
    let server = start(limits(64, 1, 300)).await;
    let addr = server.addr;
    blocking(move || {
        let mut silent = connect(addr);
        let mut partial = connect(addr);
        partial.write_all(b"GET / HTTP/1.1\r\n").unwrap();
        assert_eq!(read_to_close(&mut silent), "");
        assert_eq!(read_to_close(&mut partial), "");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    // The header timeout is long: only the idle timeout can close it.
    let server = start(limits(64, 300, 1)).await;
    let addr = server.addr;
    blocking(move || {
        let mut s = connect(addr);
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let reply = read_to_close(&mut s);
        assert!(
            reply.starts_with("HTTP/1.1 200") && reply.ends_with("ok"),
            "{reply}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_closes_waiting_connections_and_finishes_requests() {
    let mut server = start(limits(64, 300, 300)).await;
    let addr = server.addr;
    let mut slow = connect(addr);
    write!(slow, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    server.entered.notified().await;
    let mut partial = connect(addr);
    partial.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    // The partial head is admitted (a request after it is served) ...
    let reply = blocking(move || request(addr, "/")).await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    // ... then the server stops: the partial head is closed at once, the
    // request in progress still gets its answer.
    let (stop, _) = tokio::sync::oneshot::channel();
    drop(std::mem::replace(&mut server._stop, stop));
    assert_eq!(blocking(move || read_to_close(&mut partial)).await, "");
    server.release.notify_one();
    let reply = blocking(move || read_to_close(&mut slow)).await;
    assert!(
        reply.starts_with("HTTP/1.1 200") && reply.ends_with("slow"),
        "{reply}"
    );
}

#[test]
fn limits_come_from_the_config() {
    let l = Limits::from_config(&vtepgw_config::Management::default());
    assert_eq!(l.max_connections, 64);
    assert_eq!(l.header_timeout, Duration::from_secs(10));
    assert_eq!(l.idle_timeout, Duration::from_secs(60));
}
