//! Integration-test harness: network namespaces with real Linux kernel
//! VTEPs, the real `vtepgw` binary on DPDK `net_pcap` ports, packet
//! captures read with tshark, and frames crafted with scapy. Std only.
//!
//! Every packet stays inside namespaces and veths created here. The
//! gateway's two veth ends live in the root namespace (DPDK attaches to them
//! there) with IPv6, ARP and IPv4 forwarding off, so the root kernel neither
//! sends on them nor routes what arrives. Names carry a per-process tag so
//! tests (and test binaries) can run in parallel; `Drop` cleans up.
#![allow(dead_code)]

pub mod l3lab;
pub mod mcast;

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- commands

/// Runs `sh -c cmd` in the root namespace; panics with its output on failure.
pub fn sh(cmd: &str) -> String {
    try_sh(cmd).unwrap_or_else(|e| panic!("`{cmd}` failed: {e}"))
}

/// Runs `sh -c cmd`; `Ok(stdout)`, or `Err` with the status, stdout and stderr.
pub fn try_sh(cmd: &str) -> Result<String, String> {
    output_of(Command::new("sh").args(["-c", cmd]))
}

/// Runs a prepared command: `Ok(stdout)` on success, else a full report.
fn output_of(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(describe(&out))
    }
}

fn describe(out: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A short tag (5 lowercase base-36 characters) unique to this process and
/// call: 3 from the PID, 2 from a counter. Keeps interface names ≤ 15.
pub fn unique_tag() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{}{}", base36(std::process::id(), 3), base36(n, 2))
}

fn base36(mut v: u32, digits: usize) -> String {
    const D: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut s = vec![b'0'; digits];
    for c in s.iter_mut().rev() {
        *c = D[(v % 36) as usize];
        v /= 36;
    }
    String::from_utf8(s).unwrap()
}

/// This process's scratch directory, `$TMPDIR/vtepgw-tests/<pid>` (pcaps,
/// logs, configs, scripts). Directories of test processes that are gone
/// are removed when it is first created, so the files of the last run stay
/// around for debugging but do not pile up.
pub fn test_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let parent = std::env::temp_dir().join("vtepgw-tests");
        if let Ok(entries) = std::fs::read_dir(&parent) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.parse::<u32>().is_ok() && !Path::new("/proc").join(&name).exists() {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = parent.join(std::process::id().to_string());
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

/// A fresh file path in [`test_dir`] (nothing is created).
pub fn temp_path(suffix: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    test_dir().join(format!("{n}.{suffix}"))
}

/// Polls `f` every 50 ms until it is true; panics with `what` after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

// ------------------------------------------------------------ child process

/// A background process, stopped (by its PID) when dropped.
pub struct ChildGuard {
    child: Option<Child>,
    log: Option<PathBuf>,
}

impl ChildGuard {
    /// Wraps a spawned child; `log` is where its output goes, if anywhere.
    pub fn new(child: Child, log: Option<PathBuf>) -> ChildGuard {
        ChildGuard {
            child: Some(child),
            log,
        }
    }

    /// The PID, while the child has not been reaped.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// True while it runs.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Its exit status, if it has exited (without blocking).
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Its output so far (stdout and stderr), when it was spawned with a log.
    pub fn output(&self) -> String {
        self.log
            .as_ref()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .unwrap_or_default()
    }

    /// Sends `signal` (e.g. "INT", "TERM") to the PID.
    pub fn signal(&self, signal: &str) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .args([format!("-{signal}"), pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }

    /// Waits up to `timeout` for it to exit by itself, then SIGKILLs it.
    /// Returns the exit status when it exited in time.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if start.elapsed() >= timeout {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then SIGKILL after `grace`. The exit status if it stopped in time.
    pub fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        if self.try_wait().is_none() {
            self.signal("TERM");
        }
        self.wait_timeout(grace)
    }

    /// Waits (without a limit) for it to exit; true if it succeeded.
    pub fn wait(&mut self) -> bool {
        self.child
            .take()
            .is_some_and(|mut c| c.wait().is_ok_and(|s| s.success()))
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(2));
        if let Some(log) = &self.log {
            let _ = std::fs::remove_file(log);
        }
    }
}

// --------------------------------------------------------------- namespaces

/// A network namespace, deleted (with its interfaces) on drop.
pub struct Netns {
    pub name: String,
}

/// Where a command runs: `&Netns`, `Some(&Netns)`, or the root namespace
/// ([`ROOT`], i.e. `None`).
pub trait InNs {
    fn netns_name(&self) -> Option<&str>;
}

impl InNs for &Netns {
    fn netns_name(&self) -> Option<&str> {
        Some(&self.name)
    }
}

impl InNs for Option<&Netns> {
    fn netns_name(&self) -> Option<&str> {
        self.map(|n| n.name.as_str())
    }
}

/// The root namespace, for [`Capture::start`] and friends.
pub const ROOT: Option<&Netns> = None;

/// `program args...` in namespace `ns` (`ip netns exec` execs, so the PID
/// of the returned command is the program's own).
fn command_in(ns: Option<&str>, program: &str) -> Command {
    match ns {
        Some(name) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", name, program]);
            c
        }
        None => Command::new(program),
    }
}

impl Netns {
    /// Creates namespace `name` (replacing a stale one of that name): `lo`
    /// up, IPv6 off (no router solicitations or MLD in captures).
    pub fn new(name: &str) -> Netns {
        if try_sh(&format!("ip netns add {name}")).is_err() {
            // A leftover from a killed run with the same tag.
            sh(&format!("ip netns del {name}; ip netns add {name}"));
        }
        let ns = Netns { name: name.into() };
        ns.run(
            "ip link set lo up && sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
             net.ipv6.conf.default.disable_ipv6=1",
        );
        ns
    }

    /// Runs `sh -c cmd` in the namespace; panics with its output on failure.
    pub fn run(&self, cmd: &str) -> String {
        self.try_run(cmd)
            .unwrap_or_else(|e| panic!("in {}: `{cmd}` failed: {e}", self.name))
    }

    /// Runs `sh -c cmd` in the namespace; `Err` carries status and output.
    pub fn try_run(&self, cmd: &str) -> Result<String, String> {
        output_of(command_in(Some(&self.name), "sh").args(["-c", cmd]))
    }

    /// Starts `sh -c "exec cmd"` in the namespace in the background; its
    /// output goes to a log file ([`ChildGuard::output`]).
    pub fn spawn(&self, cmd: &str) -> ChildGuard {
        spawn_logged(command_in(Some(&self.name), "sh").args(["-c", &format!("exec {cmd}")]))
    }

    /// `ping -c count -i 0.2 -W 2 dst`: true if any reply came back (ping's
    /// own exit status).
    pub fn ping(&self, dst: &str, count: u32) -> bool {
        ping(self, dst, count)
    }

    /// The MAC address of `dev` in this namespace.
    pub fn mac(&self, dev: &str) -> String {
        self.run(&format!("cat /sys/class/net/{dev}/address"))
            .trim()
            .to_string()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Processes still inside (started by these tests) would keep the
        // namespace and its veths alive after `ip netns del`.
        let _ = try_sh(&format!(
            "ip netns pids {0} 2>/dev/null | xargs -r kill -9; ip netns del {0}",
            self.name
        ));
    }
}

/// Spawns `cmd` with stdout and stderr in a fresh log file.
fn spawn_logged(cmd: &mut Command) -> ChildGuard {
    let log = temp_path("log");
    let file = File::create(&log).unwrap();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    ChildGuard::new(child, Some(log))
}

/// `ping -c count -i 0.2 -W 2 dst` in `ns`: true if any reply came back.
pub fn ping(ns: &Netns, dst: &str, count: u32) -> bool {
    ns.try_run(&format!("ping -n -q -c {count} -i 0.2 -W 2 {dst}"))
        .is_ok()
}

/// Sets a root-namespace veth end up for DPDK (`net_pcap`): offloads off
/// (the reader then gets real checksums and in-band VLAN tags), and the
/// root kernel kept quiet on it: no IPv6, no ARP, no IPv4 forwarding.
fn quiet_root_veth(dev: &str) {
    sh(&format!(
        "sysctl -qw net.ipv6.conf.{dev}.disable_ipv6=1 net.ipv4.conf.{dev}.forwarding=0 && \
         ethtool -K {dev} tx off rx off tso off gso off gro off rxvlan off txvlan off >/dev/null 2>&1; \
         ip link set {dev} arp off up"
    ));
}

/// Bridge options: no STP, no multicast snooping (no IGMP of its own).
const QUIET_BRIDGE: &str = "stp_state 0 mcast_snooping 0";

/// Offloads off on a veth end inside a namespace.
const OFFLOADS_OFF: &str = "tx off rx off tso off gso off gro off";

// ---------------------------------------------------------------------- lab

/// Overlay hosts: behind the kernel VTEPs (h1, h2) and on the VLAN (ph).
pub const H1_MAC: &str = "02:00:00:00:01:01";
pub const H2_MAC: &str = "02:00:00:00:02:01";
pub const PH_MAC: &str = "02:00:00:00:03:01";
pub const H1_IP: &str = "203.0.113.1";
pub const H2_IP: &str = "203.0.113.2";
pub const PH_IP: &str = "203.0.113.3";
/// Underlay: the kernel VTEPs and the gateway's VTEP address.
pub const HV1_IP: &str = "192.0.2.1";
pub const HV2_IP: &str = "192.0.2.2";
pub const GW_IP: &str = "192.0.2.10";
/// The VLAN of the physical host and the VNI it maps to.
pub const VLAN: u16 = 10;
pub const VNI: u32 = 100;

/// The standard topology (`<t>` is the lab's tag):
///
/// ```text
///  ph<t>: eth0 203.0.113.3 (VLAN 10 access) ── vg<t>p  [gateway phys0: VLAN 10 <-> VNI 100]
///                                              vg<t>u  [gateway underlay 192.0.2.10]
///                                                │ (root ns)
///  sw<t>: bridge br0 ── hv1<t>: u1 192.0.2.1, br0 = vxlan100 + p1 ── h1<t>: eth0 203.0.113.1
///                   └── hv2<t>: u1 192.0.2.2, br0 = vxlan100 + p1 ── h2<t>: eth0 203.0.113.2
/// ```
///
/// The kernel VTEPs head-end replicate BUM only to the gateway (hub and
/// spoke). The kernel here has no 802.1Q module (`CONFIG_VLAN_8021Q` is
/// off: no `eth0.10`, no VLAN-filtering bridge, no `act_vlan`), so ph's
/// eth0 is made an access port by a tc eBPF program
/// (`scripts/vlan_access.sh`): everything it sends leaves tagged 10, only
/// VLAN 10 comes in. Frames crafted with scapy on ph's `eth0` get tagged too.
pub struct Lab {
    pub tag: String,
    pub udp_port: u16,
    pub sw: Netns,
    pub hv1: Netns,
    pub hv2: Netns,
    pub h1: Netns,
    pub h2: Netns,
    pub ph: Netns,
}

impl Lab {
    /// The lab with VXLAN on UDP port 4789.
    pub fn new() -> Lab {
        Lab::with_udp_port(4789)
    }

    /// The lab with the kernel VTEPs (and [`Lab::gateway_config`]) on `udp_port`.
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
            udp_port,
        };
        // On a panic below, dropping `lab` removes whatever was built.
        lab.build();
        lab
    }

    /// The gateway's underlay veth (root namespace).
    pub fn underlay_if(&self) -> String {
        format!("vg{}u", self.tag)
    }

    /// The gateway's physical-port veth (root namespace).
    pub fn physical_if(&self) -> String {
        format!("vg{}p", self.tag)
    }

    /// The MAC the gateway's underlay port uses: its veth's (`phy_mac=1`).
    pub fn gateway_underlay_mac(&self) -> String {
        sh(&format!(
            "cat /sys/class/net/{}/address",
            self.underlay_if()
        ))
        .trim()
        .to_string()
    }

    fn build(&self) {
        gateway_switch(&self.sw, &self.ph, &self.underlay_if(), &self.physical_if());

        // Two kernel VTEPs, each with an inner host on VNI 100.
        let port = self.udp_port;
        for (i, hv, h, mac, ip) in [
            (1, &self.hv1, &self.h1, H1_MAC, H1_IP),
            (2, &self.hv2, &self.h2, H2_MAC, H2_IP),
        ] {
            sh(&format!(
                "ip link add u1 netns {} type veth peer name hv{i} netns {}",
                hv.name, self.sw.name
            ));
            self.sw.run(&format!("ip link set hv{i} master br0 up"));
            sh(&format!(
                "ip link add eth0 netns {} type veth peer name p1 netns {}",
                h.name, hv.name
            ));
            // `tx off` on u1: otherwise outer and inner UDP checksums stay
            // partial (unfilled) for an AF_PACKET reader such as DPDK.
            hv.run(&format!(
                "ip addr add 192.0.2.{i}/24 dev u1 && ethtool -K u1 tx off >/dev/null && \
                 ip link set u1 up && \
                 ip link add br0 type bridge {QUIET_BRIDGE} && \
                 ip link add vxlan100 type vxlan id {VNI} dstport {port} local 192.0.2.{i} nolearning && \
                 ip link set vxlan100 master br0 && ip link set p1 master br0 && \
                 ip link set vxlan100 up && ip link set p1 up && ip link set br0 up && \
                 bridge fdb append 00:00:00:00:00:00 dev vxlan100 dst {GW_IP}"
            ));
            h.run(&format!(
                "ip link set eth0 address {mac} && ip addr add {ip}/24 dev eth0 && \
                 ip link set eth0 mtu 1450 up"
            ));
        }

        // The physical host, on a VLAN 10 access port (see the type's doc).
        // VLAN offloads off so the tag is in the frame on the wire.
        self.ph.run(&format!(
            "ip link set eth0 address {PH_MAC} && ip addr add {PH_IP}/24 dev eth0 && \
             ethtool -K eth0 {OFFLOADS_OFF} rxvlan off txvlan off >/dev/null && \
             ip link set eth0 mtu 1450 up"
        ));
        sh(&format!(
            "{}/scripts/vlan_access.sh {} eth0 {VLAN}",
            env!("CARGO_MANIFEST_DIR"),
            self.ph.name
        ));
    }

    /// A gateway config for this lab (`net_pcap` ports on the two veths,
    /// file prefix `vtepgw<tag>`, management on a free loopback port), with
    /// `extra` (more sections) appended.
    pub fn gateway_config(&self, extra: &str) -> String {
        self.config_with("", extra)
    }

    /// Like [`Lab::gateway_config`], with `underlay_extra` lines added to
    /// the `[underlay]` section (a `udp_port` there replaces the lab's).
    pub fn config_with(&self, underlay_extra: &str, extra: &str) -> String {
        let devices = [
            veth_vdev(0, &self.underlay_if()),
            veth_vdev(1, &self.physical_if()),
        ];
        self.render_config("worker_lcores = [1]", &devices, underlay_extra, extra)
    }

    /// A gateway config with two workers on two queues per port:
    /// `net_af_packet` with `qpairs=2` on both veths (its fanout hash
    /// spreads flows over the two sockets, as RSS would over NIC queues).
    /// This machine may have two CPUs: lcore 0 (main) and 1 run on their
    /// own CPUs and lcore 2 runs on CPU 0 (`lcore_cpus`, EAL `--lcores`).
    pub fn two_worker_config(&self, extra: &str) -> String {
        let devices = [
            af_packet_vdev(0, &self.underlay_if(), 2),
            af_packet_vdev(1, &self.physical_if(), 2),
        ];
        self.render_config(
            "worker_lcores = [1, 2]\nlcore_cpus = { 2 = 0 }",
            &devices,
            "",
            extra,
        )
    }

    /// The lab's config with `lcores` lines in `[dataplane]`, `devices`
    /// (underlay, phys0) as `--vdev`s named `<driver>0` and `<driver>1`.
    fn render_config(
        &self,
        lcores: &str,
        devices: &[String; 2],
        underlay_extra: &str,
        extra: &str,
    ) -> String {
        let udp_port = if underlay_extra.contains("udp_port") {
            String::new()
        } else {
            format!("udp_port = {}\n", self.udp_port)
        };
        let name = |d: &String| d.split(',').next().unwrap().to_string();
        format!(
            r#"[dataplane]
main_lcore = 0
{lcores}
eal_args = ["--no-huge", "-m", "512", "--no-pci", "--file-prefix", "vtepgw{t}", "--vdev", "{ul_dev}", "--vdev", "{pl_dev}"]
mbufs = 8191
idle_sleep_us = 50

[management]
listen = "127.0.0.1:{mgmt}"

[underlay]
device = "{ul_name}"
address = "{GW_IP}/24"
{udp_port}{underlay_extra}

[[port]]
name = "phys0"
device = "{pl_name}"
vlans = [{{ vlan = {VLAN}, vni = {VNI} }}]

[[vni]]
id = {VNI}
flood = ["{HV1_IP}", "{HV2_IP}"]
{extra}
"#,
            t = self.tag,
            ul_dev = devices[0],
            pl_dev = devices[1],
            ul_name = name(&devices[0]),
            pl_name = name(&devices[1]),
            mgmt = free_port(),
        )
    }

    /// All namespaces of the lab.
    pub fn namespaces(&self) -> [&Netns; 6] {
        [&self.sw, &self.hv1, &self.hv2, &self.h1, &self.h2, &self.ph]
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // The namespaces (dropped after this) take their veth ends along;
        // deleting the root ends here makes that immediate.
        let _ = try_sh(&format!(
            "ip link del {} 2>/dev/null; ip link del {} 2>/dev/null; true",
            self.underlay_if(),
            self.physical_if()
        ));
    }
}

/// The part every lab shares: the underlay switch `br0` in `sw`, and the
/// gateway's two veths, `ul` (its underlay port, peer `gw` on the switch)
/// and `pl` (its physical port, peer `eth0` in `ph`), with the root ends
/// quiet. No netfilter on the switch: it would reassemble the outer
/// fragments tests send. No multicast snooping on any bridge: a snooping
/// bridge joins 224.0.0.106 and sends IGMP reports (into the overlay too,
/// from the kernel VTEPs' bridges).
pub fn gateway_switch(sw: &Netns, ph: &Netns, ul: &str, pl: &str) {
    for dev in [ul, pl] {
        let _ = try_sh(&format!("ip link del {dev} 2>/dev/null")); // stale
    }
    sw.run(&format!(
        "sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null; \
         ip link add br0 type bridge {QUIET_BRIDGE} nf_call_iptables 0 && ip link set br0 up"
    ));
    sh(&format!(
        "ip link add {ul} type veth peer name gw netns {}",
        sw.name
    ));
    sh(&format!(
        "ip link add {pl} type veth peer name eth0 netns {}",
        ph.name
    ));
    quiet_root_veth(ul);
    quiet_root_veth(pl);
    sw.run(&format!(
        "ethtool -K gw {OFFLOADS_OFF} >/dev/null && ip link set gw master br0 up"
    ));
}

/// The DPDK vdev for the gateway's end of a veth, as the README recommends:
/// `net_pcap` reads frames as they are on the wire (`net_af_packet` joins
/// a defragmenting fanout group, so outer fragments never reach the
/// gateway as such), and uses the veth's MAC.
pub fn veth_vdev(n: u8, iface: &str) -> String {
    format!("net_pcap{n},iface={iface},phy_mac=1")
}

/// A `net_af_packet` vdev with `qpairs` queue pairs on a veth end (it uses
/// the interface's MAC). See [`veth_vdev`] for why it is not the default.
/// Rings of 2048 frames (4× the default) absorb a worker that a busy
/// two-CPU test host leaves unscheduled for a while.
pub fn af_packet_vdev(n: u8, iface: &str, qpairs: u16) -> String {
    format!("net_af_packet{n},iface={iface},qpairs={qpairs},framecnt=2048")
}

/// Writes a secret (a token file) readable by its owner only, as
/// `vtepgw` requires of token files.
pub fn write_secret(path: &Path, content: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    f.write_all(content.as_bytes()).unwrap();
}

/// A free TCP port on 127.0.0.1 (free when this returns).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ------------------------------------------------------------------ gateway

/// The real gateway binary (`vtepgw run`), running until dropped.
pub struct Gateway {
    /// The management API address (`management.listen`).
    pub mgmt: SocketAddr,
    pub config_path: PathBuf,
    pub log_path: PathBuf,
    child: ChildGuard,
}

impl Gateway {
    /// Writes `config` to a temp file, starts `vtepgw run --config FILE`
    /// (output to a log file) and waits up to 30 s for `GET /healthz` = 200.
    pub fn start(config: &str) -> Gateway {
        Gateway::start_with_args(config, &[])
    }

    /// Like [`Gateway::start`], with more arguments after `run --config FILE`.
    pub fn start_with_args(config: &str, args: &[&str]) -> Gateway {
        Gateway::try_start(config, args).unwrap_or_else(|log| panic!("{log}"))
    }

    /// One start; Err(what went wrong, with the log) if vtepgw exited.
    pub fn try_start(config: &str, args: &[&str]) -> Result<Gateway, String> {
        let mgmt = listen_address(config);
        let config_path = temp_path("toml");
        let log_path = config_path.with_extension("log");
        std::fs::write(&config_path, config).unwrap();
        let log = File::create(&log_path).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_vtepgw"))
            .args(["run", "--config"])
            .arg(&config_path)
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start vtepgw");
        let mut gw = Gateway {
            mgmt,
            config_path,
            log_path,
            // The log is kept (not owned by the guard): see Drop.
            child: ChildGuard::new(child, None),
        };
        let start = Instant::now();
        loop {
            if matches!(gw.try_get("/healthz"), Ok((200, _))) {
                return Ok(gw);
            }
            if let Some(status) = gw.child.try_wait() {
                return Err(format!(
                    "vtepgw exited ({status}) before /healthz answered; log {}:\n{}",
                    gw.log_path.display(),
                    tail(&gw.log(), 60)
                ));
            }
            if start.elapsed() > Duration::from_secs(30) {
                panic!(
                    "vtepgw: no 200 from http://{}/healthz within 30 s; log {}:\n{}",
                    gw.mgmt,
                    gw.log_path.display(),
                    tail(&gw.log(), 60)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Everything the gateway has printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The gateway's PID while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.pid()
    }

    /// SIGTERM; true if it exited successfully within 10 s (else SIGKILL).
    pub fn stop(mut self) -> bool {
        self.child
            .stop(Duration::from_secs(10))
            .is_some_and(|s| s.success())
    }

    /// One HTTP request to the management API: (status, body). Panics if
    /// the request fails at the transport level.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        http(self.mgmt, method, path, headers, body).unwrap_or_else(|e| {
            panic!(
                "{method} {path}: {e}; gateway log:\n{}",
                tail(&self.log(), 30)
            )
        })
    }

    /// `GET path`: (status, body).
    pub fn http_get(&self, path: &str) -> (u16, String) {
        self.request("GET", path, &[], "")
    }

    fn try_get(&self, path: &str) -> Result<(u16, String), String> {
        http(self.mgmt, "GET", path, &[], "")
    }

    /// The `/metrics` text (asserts status 200).
    pub fn metrics(&self) -> String {
        let (status, body) = self.http_get("/metrics");
        assert_eq!(status, 200, "GET /metrics: {body}");
        body
    }

    /// The value of one series written exactly as exposed (labels in the
    /// printed order), e.g. `vtepgw_drops_total{reason="unknown_vni"}`;
    /// 0.0 if absent.
    pub fn metric(&self, series: &str) -> f64 {
        metric_value(&self.metrics(), series)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.child.stop(Duration::from_secs(10));
        if std::thread::panicking() {
            eprintln!(
                "gateway log kept at {} (config {})",
                self.log_path.display(),
                self.config_path.display()
            );
        } else {
            let _ = std::fs::remove_file(&self.log_path);
            let _ = std::fs::remove_file(&self.config_path);
        }
    }
}

/// `management.listen` from a config (std only: no TOML parser).
fn listen_address(config: &str) -> SocketAddr {
    let line = config
        .lines()
        .find(|l| l.trim_start().starts_with("listen"))
        .expect("config has management.listen");
    let addr = line.split('"').nth(1).expect("quoted listen address");
    addr.parse().expect("listen is an IP:port")
}

/// Finds a series' value in Prometheus text exposition; 0.0 if absent.
pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let rest = l.strip_prefix(series)?.strip_prefix(' ')?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or(0.0)
}

/// A minimal HTTP/1.1 client (`Connection: close`; Content-Length, chunked
/// or read-to-close bodies).
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    s.set_write_timeout(Some(Duration::from_secs(10))).ok();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| format!("read: {e}"))?;
    parse_response(&raw)
}

/// Parses one HTTP/1.1 response: (status, body).
pub fn parse_response(raw: &[u8]) -> Result<(u16, String), String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no end of headers in {:?}", String::from_utf8_lossy(raw)))?;
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let rest = &raw[end + 4..];
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line: {head}"))?;
    let header = |name: &str| {
        head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == name).then(|| v.trim().to_string())
        })
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        dechunk(rest)?
    } else if let Some(n) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        rest.get(..n)
            .ok_or_else(|| format!("body shorter than Content-Length {n}"))?
            .to_vec()
    } else {
        rest.to_vec()
    };
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

fn dechunk(mut s: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = s
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk size")?;
        let size = String::from_utf8_lossy(&s[..eol]);
        let size = size.split(';').next().unwrap_or("").trim().to_string();
        let n = usize::from_str_radix(&size, 16).map_err(|_| format!("bad chunk size {size:?}"))?;
        s = &s[eol + 2..];
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(s.get(..n).ok_or("truncated chunk")?);
        s = s.get(n + 2..).ok_or("truncated chunk end")?;
    }
}

// ----------------------------------------------------------------- captures

/// A tcpdump capture to a pcap file.
pub struct Capture {
    child: ChildGuard,
    pub path: PathBuf,
}

impl Capture {
    /// Starts `tcpdump -i iface -w FILE -U -n [filter]` in `ns` (`&Netns`,
    /// `Some(&Netns)`, or [`ROOT`]) and waits until it is listening.
    pub fn start(ns: impl InNs, iface: &str, filter: &str) -> Capture {
        let path = temp_path("pcap");
        // Immediate mode: otherwise packets still in the kernel ring are
        // lost when SIGINT ends the capture. `-Z root`: no privilege drop.
        let mut cmd = command_in(ns.netns_name(), "tcpdump");
        cmd.args([
            "--immediate-mode",
            "-Z",
            "root",
            "-U",
            "-n",
            "-i",
            iface,
            "-w",
        ])
        .arg(&path);
        if !filter.trim().is_empty() {
            cmd.arg(filter);
        }
        let mut child = spawn_logged(&mut cmd);
        let start = Instant::now();
        while !child.output().contains("listening on") {
            if child.try_wait().is_some() || start.elapsed() > Duration::from_secs(10) {
                panic!("tcpdump on {iface} did not start: {}", child.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Capture { child, path }
    }

    /// Starts a capture in the root namespace.
    pub fn root(iface: &str, filter: &str) -> Capture {
        Capture::start(ROOT, iface, filter)
    }

    /// Waits until at least `n` captured frames match `display_filter`
    /// (tcpdump writes each frame as it reads it), then stops the capture.
    /// A frame already sent may still sit in the kernel's ring, which
    /// tcpdump does not drain when stopped: wait for the frames, not for time.
    pub fn stop_after(self, display_filter: &str, n: usize) -> PathBuf {
        wait_until(
            Duration::from_secs(10),
            &format!("{n} frames matching {display_filter:?}"),
            || {
                // The file grows while tshark reads it: a cut-short last
                // record is an error, read as "not yet".
                let mut cmd = Command::new("tshark");
                cmd.arg("-r").arg(&self.path).args(["-Y", display_filter]);
                output_of(&mut cmd).is_ok_and(|out| out.lines().count() >= n)
            },
        );
        self.stop()
    }

    /// Stops the capture (SIGINT makes tcpdump write what it has read) and
    /// returns the complete pcap's path. To see frames just sent, use
    /// [`Capture::stop_after`]; to check that a frame did *not* come, first
    /// wait for a fact showing the gateway handled it.
    pub fn stop(mut self) -> PathBuf {
        self.child.signal("INT");
        let stopped = self.child.wait_timeout(Duration::from_secs(5));
        if std::env::var_os("VTEPGW_DEBUG_CAPTURE").is_some() || stopped.is_none() {
            eprintln!("tcpdump: {}", self.child.output());
        }
        self.path.clone()
    }
}

/// `tshark -r pcap -Y filter -T fields -E separator=| -e f...`: one row per
/// matching packet, one column per field (repeated occurrences joined by
/// `,`, e.g. outer and inner `ip.src`).
pub fn tshark_fields(pcap: &Path, display_filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    tshark_fields_with(pcap, &[], display_filter, fields)
}

/// [`tshark_fields`] with checksum validation on for IPv4, UDP and TCP, so
/// `*.checksum.status` is 1 (good) or 0 (bad) rather than 2 (unverified).
pub fn tshark_fields_checked(
    pcap: &Path,
    display_filter: &str,
    fields: &[&str],
) -> Vec<Vec<String>> {
    let prefs = [
        "ip.check_checksum:TRUE",
        "udp.check_checksum:TRUE",
        "tcp.check_checksum:TRUE",
    ];
    tshark_fields_with(pcap, &prefs, display_filter, fields)
}

/// [`tshark_fields`] with tshark preferences (`-o name:value`).
pub fn tshark_fields_with(
    pcap: &Path,
    prefs: &[&str],
    display_filter: &str,
    fields: &[&str],
) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(pcap);
    for p in prefs {
        cmd.args(["-o", p]);
    }
    cmd.args(["-Y", display_filter, "-T", "fields", "-E", "separator=|"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out =
        output_of(&mut cmd).unwrap_or_else(|e| panic!("tshark on {} failed: {e}", pcap.display()));
    out.lines()
        .map(|l| l.split('|').map(String::from).collect())
        .collect()
}

// -------------------------------------------------------------------- scapy

/// Runs a Python script with `/usr/bin/python3` (which has scapy) in `ns`,
/// after `from scapy.all import *` and `conf.verb = 0`; returns stdout,
/// panics with stderr on failure.
pub fn scapy(ns: &Netns, script: &str) -> String {
    let path = temp_path("py");
    std::fs::write(
        &path,
        format!("from scapy.all import *\nconf.verb = 0\n{script}\n"),
    )
    .unwrap();
    let out = output_of(command_in(Some(&ns.name), "/usr/bin/python3").arg(&path));
    let _ = std::fs::remove_file(&path);
    out.unwrap_or_else(|e| panic!("scapy in {}: {e}\n--- script\n{script}", ns.name))
}
