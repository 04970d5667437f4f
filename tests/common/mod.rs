//! Integration-test harness: network namespaces with real Linux kernel
//! VTEPs, the real `vtepgw` binary on DPDK `net_af_packet` ports, packet
//! captures read with tshark, and frames crafted with scapy.
//!
//! Every packet stays inside namespaces and veths created here (the
//! gateway's two veth ends live in the root namespace, as DPDK needs), with
//! names unique per test so tests can run in parallel. Drop cleans up.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Runs `sh -c cmd` in the root namespace; panics with its output on failure.
pub fn sh(cmd: &str) -> String {
    try_sh(cmd).unwrap_or_else(|e| panic!("`{cmd}` failed:\n{e}"))
}

/// Runs `sh -c cmd`; Err carries stdout and stderr.
pub fn try_sh(cmd: &str) -> Result<String, String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .output()
        .expect("spawn sh");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// A short tag unique to this process and call, for interface names.
pub fn unique_tag() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:03}{n}", std::process::id() % 1000)
}

/// Polls `f` every 50 ms until it is true; panics with `what` after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process killed (by PID) when dropped.
pub struct ChildGuard(pub Option<Child>);

impl ChildGuard {
    /// SIGTERM, then SIGKILL after `grace`; returns once it has exited.
    pub fn stop(&mut self, grace: Duration) {
        let Some(mut child) = self.0.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < grace {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Waits for exit, returning whether it succeeded.
    pub fn wait(&mut self) -> bool {
        self.0
            .take()
            .map(|mut c| c.wait().map(|s| s.success()).unwrap_or(false))
            .unwrap_or(false)
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(2));
    }
}

/// A network namespace, deleted (with its interfaces) on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Creates a quiet namespace: loopback up, IPv6 off (no RS/MLD noise).
    pub fn new(name: &str) -> Netns {
        sh(&format!("ip netns add {name}"));
        let ns = Netns { name: name.into() };
        ns.run("ip link set lo up; sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1");
        ns
    }

    pub fn run(&self, cmd: &str) -> String {
        sh(&self.wrap(cmd))
    }

    pub fn try_run(&self, cmd: &str) -> Result<String, String> {
        try_sh(&self.wrap(cmd))
    }

    /// Starts `cmd` in the namespace in the background.
    pub fn spawn(&self, cmd: &str) -> ChildGuard {
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.name,
                "sh",
                "-c",
                &format!("exec {cmd}"),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn in netns");
        ChildGuard(Some(child))
    }

    fn wrap(&self, cmd: &str) -> String {
        format!(
            "ip netns exec {} sh -c '{}'",
            self.name,
            cmd.replace('\'', "'\\''")
        )
    }

    /// Pings `dst`; true if every reply came back.
    pub fn ping(&self, dst: &str, count: u32) -> bool {
        self.try_run(&format!("ping -c {count} -i 0.2 -W 2 {dst}"))
            .is_ok()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = try_sh(&format!(
            "ip netns pids {0} | xargs -r kill -9; ip netns del {0}",
            self.name
        ));
    }
}

/// Overlay hosts behind the kernel VTEPs and on the physical port.
pub const H1_MAC: &str = "02:00:00:00:01:01";
pub const H2_MAC: &str = "02:00:00:00:02:01";
pub const PH_MAC: &str = "02:00:00:00:03:01";

/// The standard topology:
///
/// ```text
///   ph (203.0.113.3, VLAN 10 access) --- vg<tag>p [gateway phys0: VLAN 10 <-> VNI 100]
///                                         vg<tag>u [gateway underlay 192.0.2.10]
///                                            | bridge in namespace sw
///   hv1 192.0.2.1 kernel vxlan100 --- h1 203.0.113.1
///   hv2 192.0.2.2 kernel vxlan100 --- h2 203.0.113.2
/// ```
/// Kernel VTEPs send BUM only to the gateway (hub and spoke).
pub struct Lab {
    pub tag: String,
    pub sw: Netns,
    pub hv1: Netns,
    pub hv2: Netns,
    pub h1: Netns,
    pub h2: Netns,
    pub ph: Netns,
}

impl Lab {
    pub fn new() -> Lab {
        Lab::with_udp_port(4789)
    }

    pub fn with_udp_port(udp_port: u16) -> Lab {
        let t = unique_tag();
        let lab = Lab {
            sw: Netns::new(&format!("sw{t}")),
            hv1: Netns::new(&format!("hv1{t}")),
            hv2: Netns::new(&format!("hv2{t}")),
            h1: Netns::new(&format!("h1{t}")),
            h2: Netns::new(&format!("h2{t}")),
            ph: Netns::new(&format!("ph{t}")),
            tag: t,
        };
        lab.build(udp_port);
        lab
    }

    pub fn underlay_if(&self) -> String {
        format!("vg{}u", self.tag)
    }

    pub fn physical_if(&self) -> String {
        format!("vg{}p", self.tag)
    }

    fn build(&self, udp_port: u16) {
        let (ul, pl) = (self.underlay_if(), self.physical_if());
        // No netfilter on the switch: it would reassemble the fragments tests send.
        self.sw.run(
            "sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null; \
             ip link add br0 type bridge nf_call_iptables 0 && ip link set br0 up",
        );
        sh(&format!(
            "ip link add {ul} type veth peer name gw netns {}",
            self.sw.name
        ));
        sh(&format!(
            "ip link add {pl} type veth peer name eth0 netns {}",
            self.ph.name
        ));
        for dev in [&ul, &pl] {
            sh(&format!(
                "sysctl -qw net.ipv6.conf.{dev}.disable_ipv6=1; \
                 ethtool -K {dev} tx off rx off tso off gso off gro off rxvlan off txvlan off >/dev/null 2>&1; \
                 ip link set {dev} up"
            ));
        }
        self.sw.run("ip link set gw master br0 up");
        for (i, hv, h, mac) in [
            (1, &self.hv1, &self.h1, H1_MAC),
            (2, &self.hv2, &self.h2, H2_MAC),
        ] {
            sh(&format!(
                "ip link add u1 netns {} type veth peer name hv{i} netns {}",
                hv.name, self.sw.name
            ));
            self.sw.run(&format!("ip link set hv{i} master br0 up"));
            hv.run(&format!(
                "ip addr add 192.0.2.{i}/24 dev u1 && ip link set u1 up && \
                 ethtool -K u1 tx off >/dev/null && \
                 ip link add br0 type bridge && \
                 ip link add vxlan100 type vxlan id 100 dstport {udp_port} local 192.0.2.{i} nolearning && \
                 ip link set vxlan100 master br0"
            ));
            sh(&format!(
                "ip link add eth0 netns {} type veth peer name p1 netns {}",
                h.name, hv.name
            ));
            hv.run(
                "ip link set p1 master br0 && ip link set vxlan100 up && ip link set p1 up && ip link set br0 up && \
                 bridge fdb append 00:00:00:00:00:00 dev vxlan100 dst 192.0.2.10",
            );
            h.run(&format!(
                "ip link set eth0 address {mac} && ip addr add 203.0.113.{i}/24 dev eth0 && \
                 ip link set eth0 mtu 1450 up"
            ));
        }
        self.ph.run(&format!(
            "ip link set eth0 address {PH_MAC} && ip addr add 203.0.113.3/24 dev eth0 && \
             ip link set eth0 mtu 1450 up && ethtool -K eth0 tx off >/dev/null"
        ));
        sh(&format!(
            "{}/scripts/vlan_access.sh {} eth0 10",
            env!("CARGO_MANIFEST_DIR"),
            self.ph.name
        ));
    }

    /// A gateway config for this lab; `extra` is appended (more sections).
    pub fn gateway_config(&self, extra: &str) -> String {
        self.config_with("", extra)
    }

    /// Like [`Lab::gateway_config`], with `underlay_extra` lines added to
    /// the `[underlay]` section and `vni_extra` to VNI 100.
    pub fn config_with(&self, underlay_extra: &str, extra: &str) -> String {
        format!(
            r#"
[dataplane]
main_lcore = 0
worker_lcores = [1]
eal_args = ["--no-huge", "-m", "512", "--no-pci", "--file-prefix", "vtepgw{t}",
            "--vdev", "net_af_packet0,iface={ul}", "--vdev", "net_af_packet1,iface={pl}"]
mbufs = 8191
idle_sleep_us = 50

[management]
listen = "127.0.0.1:{port}"

[underlay]
device = "net_af_packet0"
address = "192.0.2.10/24"
{underlay_extra}

[[port]]
name = "phys0"
device = "net_af_packet1"
vlans = [{{ vlan = 10, vni = 100 }}]

[[vni]]
id = 100
flood = ["192.0.2.1", "192.0.2.2"]
{extra}
"#,
            t = self.tag,
            ul = self.underlay_if(),
            pl = self.physical_if(),
            port = free_port(),
        )
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = try_sh(&format!(
            "ip link del {} 2>/dev/null; ip link del {} 2>/dev/null",
            self.underlay_if(),
            self.physical_if()
        ));
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The real gateway binary, running until dropped.
pub struct Gateway {
    pub mgmt: SocketAddr,
    pub config_path: PathBuf,
    log_path: PathBuf,
    child: ChildGuard,
}

impl Gateway {
    /// Writes the config, starts `vtepgw run`, waits for `/healthz`.
    pub fn start(config: &str) -> Gateway {
        let dir = std::env::temp_dir().join(format!("vtepgw-test-{}", unique_tag()));
        std::fs::create_dir_all(&dir).unwrap();
        let config_path = dir.join("gateway.toml");
        let log_path = dir.join("gateway.log");
        std::fs::write(&config_path, config).unwrap();
        let parsed: toml_listen::Listen = toml_listen::parse(config);
        let log = std::fs::File::create(&log_path).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_vtepgw"))
            .args(["run", "--config"])
            .arg(&config_path)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start vtepgw");
        let mut gw = Gateway {
            mgmt: parsed.0,
            config_path,
            log_path,
            child: ChildGuard(Some(child)),
        };
        let start = Instant::now();
        loop {
            if gw.try_get("/healthz").is_some_and(|(s, _)| s == 200) {
                break;
            }
            let exited = gw
                .child
                .0
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || start.elapsed() > Duration::from_secs(30) {
                panic!("gateway did not come up ({exited:?}); log:\n{}", gw.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        gw
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Stops the gateway (SIGTERM) and returns whether it exited cleanly.
    pub fn stop(mut self) -> bool {
        let Some(child) = self.child.0.as_mut() else {
            return false;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        self.child.wait()
    }

    /// One HTTP request; (status, body).
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        http(self.mgmt, method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    pub fn http_get(&self, path: &str) -> (u16, String) {
        self.request("GET", path, &[], "")
    }

    fn try_get(&self, path: &str) -> Option<(u16, String)> {
        http(self.mgmt, "GET", path, &[], "").ok()
    }

    pub fn metrics(&self) -> String {
        let (status, body) = self.http_get("/metrics");
        assert_eq!(status, 200);
        body
    }

    /// The value of one series, written exactly as exposed, e.g.
    /// `vtepgw_drops_total{reason="unknown_vni"}`; 0 if absent.
    pub fn metric(&self, series: &str) -> f64 {
        metric_value(&self.metrics(), series)
    }
}

/// Finds a series' value in Prometheus text.
pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok()).flatten()
        })
        .unwrap_or(0.0)
}

/// A minimal HTTP/1.1 client (the API is plain HTTP on loopback).
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(u16, String), String> {
    let mut s =
        TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text.split_once("\r\n\r\n").ok_or("no header end")?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Ok((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

mod toml_listen {
    //! Reads `management.listen` from a test config without a TOML crate.
    pub struct Listen(pub std::net::SocketAddr);
    pub fn parse(config: &str) -> Listen {
        let line = config
            .lines()
            .find(|l| l.trim_start().starts_with("listen"))
            .expect("config has management.listen");
        let addr = line.split('"').nth(1).expect("quoted listen address");
        Listen(addr.parse().expect("listen address"))
    }
}

/// A tcpdump capture in a namespace (or the root namespace with `None`).
pub struct Capture {
    child: ChildGuard,
    pub path: PathBuf,
}

impl Capture {
    pub fn start(ns: Option<&Netns>, iface: &str, filter: &str) -> Capture {
        let path = temp_path("pcap");
        let err = path.with_extension("log");
        let prefix = ns
            .map(|n| format!("ip netns exec {} ", n.name))
            .unwrap_or_default();
        // Immediate mode: without it packets wait in the kernel ring and are
        // lost when SIGINT ends the capture. -Z root: no privilege drop.
        let cmd = format!(
            "exec {prefix}tcpdump --immediate-mode -Z root -i {iface} -n -U -w {} {filter} 2>{}",
            path.display(),
            err.display()
        );
        let child = Command::new("sh")
            .args(["-c", &cmd])
            .stdout(Stdio::null())
            .spawn()
            .expect("tcpdump");
        let mut child = ChildGuard(Some(child));
        let start = Instant::now();
        loop {
            let log = std::fs::read_to_string(&err).unwrap_or_default();
            if log.contains("listening on") {
                break;
            }
            let exited = child.0.as_mut().and_then(|c| c.try_wait().ok().flatten());
            assert!(
                exited.is_none() && start.elapsed() < Duration::from_secs(10),
                "tcpdump failed: {log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Capture { child, path }
    }

    /// Stops the capture (SIGINT flushes it) and returns the pcap path.
    pub fn stop(mut self) -> PathBuf {
        std::thread::sleep(Duration::from_millis(300));
        if let Some(c) = self.child.0.as_ref() {
            let _ = Command::new("kill")
                .args(["-INT", &c.id().to_string()])
                .status();
        }
        self.child.wait();
        if std::env::var("VTEPGW_DEBUG_CAPTURE").is_ok() {
            eprintln!(
                "{}",
                std::fs::read_to_string(self.path.with_extension("log")).unwrap_or_default()
            );
        }
        self.path.clone()
    }
}

/// A fresh path in the temp directory.
pub fn temp_path(suffix: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    std::env::temp_dir().join(format!("vtepgw-{}-{nanos}.{suffix}", unique_tag()))
}

/// `tshark -T fields` rows for packets matching `filter`.
pub fn tshark_fields(pcap: &Path, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let f: Vec<String> = fields.iter().map(|f| format!("-e {f}")).collect();
    let out = sh(&format!(
        "tshark -r {} -Y '{filter}' -T fields -E separator='|' {} 2>/dev/null",
        pcap.display(),
        f.join(" ")
    ));
    out.lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('|').map(String::from).collect())
        .collect()
}

/// Runs a scapy script (with `from scapy.all import *`) in a namespace.
pub fn scapy(ns: &Netns, script: &str) -> String {
    let path = std::env::temp_dir().join(format!("vtepgw-scapy-{}.py", unique_tag()));
    std::fs::write(
        &path,
        format!("from scapy.all import *\nconf.verb = 0\n{script}\n"),
    )
    .unwrap();
    let out = ns.run(&format!("/usr/bin/python3 {}", path.display()));
    let _ = std::fs::remove_file(path);
    out
}
