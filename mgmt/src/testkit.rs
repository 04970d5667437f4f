//! A management server over a real (DPDK-free) data plane for unit tests:
//! the gateway's shared state, its control thread and one worker on
//! in-memory ports, driven by hand, and requests sent straight into the
//! router.

use crate::server::{router, AppState};
use crate::{Applier, Devices, NicStats, PoolStats};
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt;
use vtepgw_config::Config;
use vtepgw_gateway::control::Control;
use vtepgw_gateway::io::MemIo;
use vtepgw_gateway::shared::{self, Shared};
use vtepgw_gateway::snapshot::Snapshot;
use vtepgw_gateway::wire::{ArpRepr, Mac, ARP_LEN, ARP_REPLY};
use vtepgw_gateway::worker::{Worker, WorkerOptions};

pub const CONFIG: &str = r#"
[underlay]
device = "u0"
address = "192.0.2.10/24"

[[port]]
name = "phys0"
device = "p0"
vlans = [{ vlan = 10, vni = 100 }]

[[vni]]
id = 100
flood = ["192.0.2.1", "192.0.2.2"]
"#;

pub const UNDERLAY_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x10];
pub const PHYS0_MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x11];
/// Packet buffers' data room the test applier assumes.
pub const DATA_ROOM: usize = 2048;

/// NIC counters that are easy to recognise.
pub struct FakeDevices {
    pub ports: usize,
}

impl Devices for FakeDevices {
    fn nic_stats(&self) -> Vec<NicStats> {
        (0..self.ports as u64)
            .map(|i| NicStats {
                rx_packets: 1000 + i,
                rx_missed: 7,
                ..NicStats::default()
            })
            .collect()
    }
    fn pool(&self) -> PoolStats {
        PoolStats {
            in_use: 12,
            available: 8179,
        }
    }
    fn tsc_hz(&self) -> u64 {
        2_000_000_000
    }
}

/// The data plane and the router in front of it.
pub struct Lab {
    pub shared: Arc<Shared>,
    pub control: Control,
    pub worker: Worker<MemIo>,
    pub app: Router,
    applier: Arc<Applier>,
    now_ms: u64,
}

/// A response: status, generation header, body (JSON when it parses).
pub struct Reply {
    pub status: StatusCode,
    pub generation: Option<u64>,
    /// `ETag`, with its quotes.
    pub etag: Option<String>,
    pub location: Option<String>,
    /// `X-Config-Warning` headers.
    pub warnings: Vec<String>,
    pub text: String,
    pub json: Value,
}

impl Lab {
    /// A lab running `config`, saving to `file`, requiring `token`.
    pub fn with(config: &str, file: Option<std::path::PathBuf>, token: Option<&str>) -> Lab {
        let config = Config::from_toml_str(config).expect("test config is valid");
        let macs = [Mac(UNDERLAY_MAC), Mac(PHYS0_MAC)];
        let snapshot = Snapshot::build(&config, &macs[..config.port.len() + 1], None, 1).unwrap();
        let ports = snapshot.ports.len();
        let (shared, control_parts, mut workers) = shared::build(snapshot, 1, 4096);
        let control = Control::new(shared.clone(), control_parts);
        let options = WorkerOptions {
            burst: 32,
            idle_sleep_us: 0,
        };
        let worker = Worker::new(
            MemIo::new(ports),
            shared.clone(),
            workers.remove(0),
            options,
        );
        let state = AppState::new(
            shared.clone(),
            Arc::new(FakeDevices { ports }),
            Applier::new(config, file, DATA_ROOM),
        )
        .with_token(token.map(String::from));
        Lab {
            applier: state.applier.clone(),
            app: router(state),
            shared,
            control,
            worker,
            now_ms: 1000,
        }
    }

    /// The standard lab: no file, no token.
    pub fn new() -> Lab {
        Lab::with(CONFIG, None, None)
    }

    /// Sends one request.
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = self
            .app
            .clone()
            .oneshot(req.body(Body::from(body.to_string())).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        };
        let generation = header("x-config-generation").and_then(|g| g.parse().ok());
        let location = header("location");
        let etag = header("etag");
        let warnings = resp
            .headers()
            .get_all("x-config-warning")
            .iter()
            .filter_map(|v| v.to_str().ok().map(String::from))
            .collect();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24)
            .await
            .unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            generation,
            etag,
            location,
            warnings,
            text,
            json,
        }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.call("GET", uri, &[], "").await
    }

    /// A JSON request body.
    pub async fn send(&self, method: &str, uri: &str, body: Value) -> Reply {
        let headers = [("content-type", "application/json")];
        self.call(method, uri, &headers, &body.to_string()).await
    }

    /// The running config.
    pub fn config(&self) -> Config {
        self.applier.config().as_ref().clone()
    }

    pub fn generation(&self) -> u64 {
        self.shared.snapshot.load().generation
    }

    /// Lets the control thread catch up (config changes, events, timers).
    pub fn settle(&mut self) {
        for _ in 0..3 {
            self.worker.poll_once();
            self.now_ms += 100;
            self.control
                .tick_at((self.now_ms / 1000) as u32, self.now_ms);
        }
    }

    /// Receives `frame` on port `port` and runs the worker once.
    pub fn receive(&mut self, port: u8, frame: &[u8]) {
        self.worker.io_mut().inject(port, frame);
        self.worker.poll_once();
    }

    /// Frames sent on `port` since the last call.
    pub fn sent(&mut self, port: u8) -> Vec<Vec<u8>> {
        self.worker.io_mut().take_tx(port)
    }

    /// A remote VTEP answers the gateway's ARP.
    pub fn resolve(&mut self, ip: [u8; 4], mac: [u8; 6]) {
        let mut frame = Vec::new();
        frame.extend_from_slice(&UNDERLAY_MAC);
        frame.extend_from_slice(&mac);
        frame.extend_from_slice(&[0x08, 0x06]);
        let mut arp = [0u8; ARP_LEN];
        ArpRepr {
            op: ARP_REPLY,
            sender_mac: Mac(mac),
            sender_ip: ip.into(),
            target_mac: Mac(UNDERLAY_MAC),
            target_ip: [192, 0, 2, 10].into(),
        }
        .emit(&mut arp);
        frame.extend_from_slice(&arp);
        self.receive(0, &frame);
        self.settle();
    }
}

/// VNI `id` (a valid one) as the data plane types it.
pub fn vni(id: u32) -> vtepgw_gateway::types::Vni {
    vtepgw_gateway::types::Vni::new(id).expect("test VNI is valid")
}

/// A broadcast frame of `len` bytes from `src`, tagged with `vlan`.
pub fn tagged_broadcast(src: [u8; 6], vlan: u16, len: usize) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0x81, 0x00]);
    f.extend_from_slice(&vlan.to_be_bytes());
    f.extend_from_slice(&[0x88, 0xb5]); // local experimental ethertype
    f.resize(len, 0x5a);
    f
}
