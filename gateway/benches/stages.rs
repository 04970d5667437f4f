//! Per-packet cost of the data plane without DPDK: one `Worker` over an
//! in-memory I/O that behaves like the benchmark's virtual devices (every
//! rx burst copies stored frames into recycled buffers, as `net_pcap`'s
//! `infinite_rx` does; tx takes the buffers back, as `net_null` frees them).
//!
//! `cargo bench -p vtepgw-gateway --bench stages` (about 30 s; pass a name
//! filter, e.g. `-- decap`, to run fewer). Each case is one `poll_once`
//! over a burst of 32; criterion reports the time per burst and packets per
//! second, and a table at the end gives ns and TSC cycles per packet, and
//! the gateway's own share: the case minus `io-floor` (the same I/O with
//! no worker, like testpmd io in `perf/bench.sh`).
//!
//! Every case checks its output once before it is timed (what leaves which
//! port, how many, how long, first bytes) and panics if it is wrong.
//!
//! Uses only the public `Worker`, `shared::build`, `Snapshot::build`,
//! `Control` and `PortIo` API, so it survives pipeline rewrites.

use criterion::{BenchmarkId, Criterion, Throughput};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};
use vtepgw_config::Config;
use vtepgw_gateway::buf::{PacketBuf, VecBuf};
use vtepgw_gateway::control::Control;
use vtepgw_gateway::io::PortIo;
use vtepgw_gateway::shared;
use vtepgw_gateway::snapshot::Snapshot;
use vtepgw_gateway::types::PortId;
use vtepgw_gateway::worker::{Worker, WorkerOptions};

const BURST: usize = 32;
const GW_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
type Mac = [u8; 6];
const UNDERLAY_MAC: Mac = [2, 0, 0, 0, 0, 0x10];
const PHYS0_MAC: Mac = [2, 0, 0, 0, 0, 0x11];
const PHYS1_MAC: Mac = [2, 0, 0, 0, 0, 0x12];
const STATIC_MAC: Mac = [2, 0, 0, 4, 0, 1];
const UNKNOWN_MAC: Mac = [2, 0, 0, 2, 0, 1];
const VTEPS: usize = 4;

fn vtep_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, 1 + i as u8)
}
fn vtep_mac(i: usize) -> Mac {
    [2, 0, 0, 0, 0x0a, 1 + i as u8]
}

/// Decap and encap: as `perf/bench.sh` configures the gateway, one
/// physical port with VLAN 10 = VNI 100, no flood list, a static MAC
/// behind VTEP 192.0.2.1.
const CONFIG: &str = r#"
[underlay]
device = "u0"
address = "192.0.2.10/24"

[[port]]
name = "phys0"
device = "p0"
vlans = [{ vlan = 10, vni = 100 }]

[[vni]]
id = 100
flood = []
static_macs = [{ mac = "02:00:00:04:00:01", vtep = "192.0.2.1" }]
"#;

/// Flood: VNI 100 on phys0 VLAN 10 and phys1 VLAN 20, flooded to four VTEPs.
const FLOOD_CONFIG: &str = r#"
[underlay]
device = "u0"
address = "192.0.2.10/24"

[[port]]
name = "phys0"
device = "p0"
vlans = [{ vlan = 10, vni = 100 }]

[[port]]
name = "phys1"
device = "p1"
vlans = [{ vlan = 20, vni = 100 }]

[[vni]]
id = 100
flood = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]
"#;

/// Routed: VNI 100 and VNI 200 with gateway interfaces; the destination
/// host 198.51.100.2 is the static MAC behind VTEP 0 in VNI 200.
const ROUTED_CONFIG: &str = r#"
[underlay]
device = "u0"
address = "192.0.2.10/24"

[[port]]
name = "phys0"
device = "p0"
vlans = [{ vlan = 10, vni = 100 }]

[[vni]]
id = 100
flood = []
gateway = { address = "203.0.113.254/24" }

[[vni]]
id = 200
flood = []
gateway = { address = "198.51.100.1/24" }
static_macs = [{ mac = "02:00:00:04:00:01", vtep = "192.0.2.1" }]
"#;

/// The gateway MAC the routed config derives (02:76 + 192.0.2.10).
const GATEWAY_MAC: Mac = [2, 0x76, 192, 0, 2, 10];
const ROUTED_DST: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);

/// Scale: `SCALE_VNIS` VNIs (10000..), VNI 10000+j on VLAN j%2048+1 of
/// phys0 (j < 2048) or phys1, and `macs` static MACs spread over them
/// (MAC k is 02:00:00:kk:kk:kk in VNI 10000 + k % VNIs) behind VTEP 0, as
/// `perf/gen_scale.py` writes it for `perf/bench.sh`'s scale case.
const SCALE_VNIS: usize = 4096;

fn scale_config(macs: usize) -> String {
    use std::fmt::Write;
    let mut c = String::from(
        "[underlay]\ndevice = \"u0\"\naddress = \"192.0.2.10/24\"\n\n[dataplane]\nmac_table_capacity = 2097152\n",
    );
    for port in 0..2 {
        let _ = write!(
            c,
            "\n[[port]]\nname = \"phys{port}\"\ndevice = \"p{port}\"\nvlans = ["
        );
        for j in (0..SCALE_VNIS).filter(|&j| scale_binding(j).0 == port) {
            let _ = write!(
                c,
                "{{ vlan = {}, vni = {} }},",
                scale_binding(j).1,
                10000 + j
            );
        }
        c.push_str("]\n");
    }
    let mut per_vni = vec![String::new(); SCALE_VNIS];
    for k in 0..macs {
        let mac = vtepgw_gateway::types::Mac(scale_mac(k));
        let _ = write!(
            per_vni[k % SCALE_VNIS],
            "{{ mac = \"{mac}\", vtep = \"192.0.2.1\" }},"
        );
    }
    for (j, statics) in per_vni.iter().enumerate() {
        let _ = write!(
            c,
            "\n[[vni]]\nid = {}\nflood = []\nstatic_macs = [{statics}]\n",
            10000 + j
        );
    }
    c
}

fn scale_mac(k: usize) -> Mac {
    [2, 0, 0, (k >> 16) as u8, (k >> 8) as u8, k as u8]
}

/// 65536 decap frames of 110 bytes, frame i from static MAC k(i) in its
/// VNI to an unknown MAC (flooded to the VNI's one port): `touch` distinct
/// MACs spread evenly over the `macs`, in a fixed shuffled order.
fn scale_frames(macs: usize, touch: usize) -> Vec<Vec<u8>> {
    let step = macs / touch;
    let mut order: Vec<usize> = (0..65536).collect();
    let mut rng = fastrand::Rng::with_seed(7);
    rng.shuffle(&mut order);
    order
        .into_iter()
        .map(|i| {
            let k = (i % touch) * step;
            let mut f = inner(i, UNKNOWN_MAC, 60);
            f[6..12].copy_from_slice(&scale_mac(k));
            vxlan_frame(i, (10000 + k % SCALE_VNIS) as u32, &f)
        })
        .collect()
}

/// Scale VNI 10000 + j's binding: (physical port 0 or 1, VLAN).
fn scale_binding(j: usize) -> (usize, u16) {
    (j / 2048, (j % 2048 + 1) as u16)
}

// --- in-memory devices ----------------------------------------------------

/// One port: frames replayed forever on rx (if any), a count of what was sent.
#[derive(Default)]
struct BenchPort {
    replay: Vec<Vec<u8>>,
    next: usize,
    /// Frames received once before the replay (ARP replies).
    once: Vec<Vec<u8>>,
    sent: u64,
    /// Keep sent frames (for the check before timing).
    keep: bool,
    kept: Vec<Vec<u8>>,
}

struct BenchIo {
    ports: Vec<BenchPort>,
    pool: Vec<VecBuf>,
    /// Rx enabled (off while the rig is being set up, so nothing is replayed).
    replaying: bool,
}

impl BenchIo {
    fn new(ports: usize) -> Self {
        BenchIo {
            ports: (0..ports).map(|_| BenchPort::default()).collect(),
            pool: (0..4 * BURST * (VTEPS + 2))
                .map(|_| VecBuf::empty())
                .collect(),
            replaying: false,
        }
    }

    fn buffer(&mut self, frame: &[u8]) -> VecBuf {
        let mut b = self.pool.pop().unwrap_or_else(VecBuf::empty);
        reset(&mut b);
        assert!(b.append(frame.len()));
        b.data_mut().copy_from_slice(frame);
        b
    }
}

/// Makes a recycled buffer empty with the default headroom, through the
/// public `PacketBuf` calls only: `prepend(n)` fails exactly when `n` is
/// more than the headroom, so a binary search finds where the data starts.
fn reset(b: &mut VecBuf) {
    let len = b.len();
    assert!(b.trim(len));
    let (mut lo, mut hi) = (0, VecBuf::CAPACITY);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if b.prepend(mid) {
            assert!(b.adj(mid));
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let start = lo;
    let want = VecBuf::HEADROOM;
    if start < want {
        assert!(b.append(want - start) && b.adj(want - start));
    } else if start > want {
        assert!(b.prepend(start - want) && b.trim(start - want));
    }
}

impl PortIo for BenchIo {
    type Buf = VecBuf;

    fn rx_burst(&mut self, port: PortId, _queue: u16, slots: &mut [Option<VecBuf>]) -> usize {
        let p = usize::from(port);
        let mut n = 0;
        while n < slots.len() && !self.ports[p].once.is_empty() {
            let f = self.ports[p].once.remove(0);
            slots[n] = Some(self.buffer(&f));
            n += 1;
        }
        if !self.replaying || self.ports[p].replay.is_empty() {
            return n;
        }
        while n < slots.len() {
            let port = &mut self.ports[p];
            let i = port.next;
            port.next = (i + 1) % port.replay.len();
            let mut b = self.pool.pop().unwrap_or_else(VecBuf::empty);
            reset(&mut b);
            let f = &self.ports[p].replay[i];
            assert!(b.append(f.len()));
            b.data_mut().copy_from_slice(f);
            slots[n] = Some(b);
            n += 1;
        }
        n
    }

    fn tx_burst(&mut self, port: PortId, slots: &mut [Option<VecBuf>]) -> usize {
        let p = &mut self.ports[usize::from(port)];
        let mut n = 0;
        for s in slots.iter_mut() {
            match s.take() {
                Some(b) => {
                    if p.keep {
                        p.kept.push(b.data().to_vec());
                    }
                    self.pool.push(b);
                    n += 1;
                }
                None => break,
            }
        }
        p.sent += n as u64;
        n
    }

    fn alloc(&mut self) -> Option<VecBuf> {
        let mut b = self.pool.pop().unwrap_or_else(VecBuf::empty);
        reset(&mut b);
        Some(b)
    }

    fn cycles(&self) -> u64 {
        0
    }
}

// --- frames ------------------------------------------------------------------

fn checksum(h: &[u8]) -> u16 {
    let mut s: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

fn ipv4_udp(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let total = 28 + payload.len();
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p[6] = 0x40; // DF
    p[8] = 64;
    p[9] = 17;
    p[12..16].copy_from_slice(&src.octets());
    p[16..20].copy_from_slice(&dst.octets());
    let c = checksum(&p[..20]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    p[20..22].copy_from_slice(&sport.to_be_bytes());
    p[22..24].copy_from_slice(&dport.to_be_bytes());
    p[24..26].copy_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    p[28..].copy_from_slice(payload);
    p
}

fn ethernet(dst: Mac, src: Mac, vlan: Option<u16>, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(18 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    if let Some(v) = vlan {
        f.extend_from_slice(&[0x81, 0x00]);
        f.extend_from_slice(&v.to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Inner (overlay) frame `i` of `len` bytes (untagged): flow i % 256 from
/// MAC i % 16, to `dst`.
fn inner(i: usize, dst: Mac, len: usize) -> Vec<u8> {
    let flow = i % 256;
    let src = [2, 0, 0, 1, 0, (flow % 16) as u8];
    let ip = ipv4_udp(
        Ipv4Addr::new(203, 0, 113, 1 + (flow % 100) as u8),
        Ipv4Addr::new(203, 0, 113, 200),
        10000 + flow as u16,
        7000,
        &vec![0; len - 42],
    );
    ethernet(dst, src, None, 0x0800, &ip)
}

/// VXLAN frames of `size` bytes from VTEP 0, VNI `vni`, 1024 of them.
fn decap_frames(size: usize, vni: u32) -> Vec<Vec<u8>> {
    (0..1024)
        .map(|i| {
            let mut v = vec![0x08, 0, 0, 0];
            v.extend_from_slice(&(vni << 8).to_be_bytes());
            v.extend_from_slice(&inner(i, UNKNOWN_MAC, size - 50));
            let ip = ipv4_udp(vtep_ip(0), GW_IP, 49152 + (i % 256) as u16, 4789, &v);
            let mut f = ethernet(UNDERLAY_MAC, vtep_mac(0), None, 0x0800, &ip);
            f[40..42].copy_from_slice(&[0, 0]); // UDP checksum 0
            f
        })
        .collect()
}

/// A VXLAN frame from VTEP 0 in `vni` carrying `inner`.
fn vxlan_frame(i: usize, vni: u32, inner: &[u8]) -> Vec<u8> {
    let mut v = vec![0x08, 0, 0, 0];
    v.extend_from_slice(&(vni << 8).to_be_bytes());
    v.extend_from_slice(inner);
    let ip = ipv4_udp(vtep_ip(0), GW_IP, 49152 + (i % 256) as u16, 4789, &v);
    let mut f = ethernet(UNDERLAY_MAC, vtep_mac(0), None, 0x0800, &ip);
    f[40..42].copy_from_slice(&[0, 0]); // UDP checksum 0
    f
}

/// VXLAN frames of `size` bytes from VTEP 0 in VNI 100 to the gateway MAC,
/// from 16 hosts (each its own MAC and address), to 198.51.100.2.
fn routed_frames(size: usize) -> Vec<Vec<u8>> {
    (0..1024)
        .map(|i| {
            let flow = i % 256;
            let host = (flow % 16) as u8;
            let ip = ipv4_udp(
                Ipv4Addr::new(203, 0, 113, 1 + host),
                ROUTED_DST,
                10000 + flow as u16,
                7000,
                &vec![0; size - 50 - 42],
            );
            let inner = ethernet(GATEWAY_MAC, [2, 0, 0, 1, 0, host], None, 0x0800, &ip);
            vxlan_frame(i, 100, &inner)
        })
        .collect()
}

/// 198.51.100.2's ARP reply to the gateway, from behind VTEP 0 in VNI 200:
/// the gateway learns its neighbour from it.
fn routed_neighbour_reply() -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4, 0, 2];
    a.extend_from_slice(&STATIC_MAC);
    a.extend_from_slice(&ROUTED_DST.octets());
    a.extend_from_slice(&GATEWAY_MAC);
    a.extend_from_slice(&Ipv4Addr::new(198, 51, 100, 1).octets());
    let inner = ethernet(GATEWAY_MAC, STATIC_MAC, None, 0x0806, &a);
    vxlan_frame(0, 200, &inner)
}

/// VLAN-10 frames that encapsulate to `size` bytes (46 bytes shorter), to `dst`.
fn vlan_frames(size: usize, dst: Mac) -> Vec<Vec<u8>> {
    (0..1024)
        .map(|i| {
            let f = inner(i, dst, size - 50);
            let mut t = f[..12].to_vec();
            t.extend_from_slice(&[0x81, 0x00, 0, 10]);
            t.extend_from_slice(&f[12..]);
            t
        })
        .collect()
}

fn arp_reply(i: usize) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4, 0, 2];
    a.extend_from_slice(&vtep_mac(i));
    a.extend_from_slice(&vtep_ip(i).octets());
    a.extend_from_slice(&UNDERLAY_MAC);
    a.extend_from_slice(&GW_IP.octets());
    ethernet(UNDERLAY_MAC, vtep_mac(i), None, 0x0806, &a)
}

// --- the rig -------------------------------------------------------------------

struct Rig {
    worker: Worker<BenchIo>,
    control: Control,
    now_ms: u64,
}

impl Rig {
    fn new(config: &str) -> Rig {
        let config = Config::from_toml_str(config).expect("bench config is valid");
        let macs = [UNDERLAY_MAC, PHYS0_MAC, PHYS1_MAC].map(vtepgw_gateway::types::Mac);
        let snapshot = Snapshot::build(&config, &macs[..config.port.len() + 1], None, 1).unwrap();
        let ports = snapshot.ports.len();
        let capacity = config.dataplane.mac_table_capacity as usize;
        let (shared, control_parts, mut workers) = shared::build(snapshot, 1, capacity);
        shared.clock.set(1);
        let control = Control::new(shared.clone(), control_parts);
        let options = WorkerOptions {
            burst: BURST,
            idle_sleep_us: 0,
        };
        let worker = Worker::new(
            BenchIo::new(ports),
            shared.clone(),
            workers.remove(0),
            options,
        );
        let mut rig = Rig {
            worker,
            control,
            now_ms: 1000,
        };
        // The VTEPs answer the ARP requests the control thread sends.
        rig.worker.io_mut().ports[0].once = (0..VTEPS).map(arp_reply).collect();
        rig.settle();
        rig
    }

    /// Worker polls and control ticks, for events (ARP, learning) to land.
    fn settle(&mut self) {
        for _ in 0..4 {
            self.worker.poll_once();
            self.now_ms += 10;
            self.control
                .tick_at((self.now_ms / 1000) as u32, self.now_ms);
        }
    }

    fn sent(&mut self) -> Vec<u64> {
        self.worker.io_mut().ports.iter().map(|p| p.sent).collect()
    }

    /// Starts the replay on `port`, warms up (learning), then checks one
    /// poll's output: `want[p]` frames on port p, each passing `check`.
    fn start(
        &mut self,
        port: usize,
        frames: Vec<Vec<u8>>,
        want: &[u64],
        check: impl Fn(usize, &[u8]) -> Result<(), String>,
    ) {
        {
            let io = self.worker.io_mut();
            io.ports[port].replay = frames;
            io.replaying = true;
        }
        for _ in 0..8 {
            self.settle();
        }
        let io = self.worker.io_mut();
        io.ports[port].next = 0;
        for p in &mut io.ports {
            p.keep = true;
        }
        let before = self.sent();
        self.worker.poll_once();
        let after = self.sent();
        let got: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
        assert_eq!(got, want, "frames sent per port in one poll");
        let io = self.worker.io_mut();
        for (p, port) in io.ports.iter_mut().enumerate() {
            for f in &port.kept {
                if let Err(e) = check(p, f) {
                    panic!("port {p}: wrong output frame: {e}\n{f:02x?}");
                }
            }
            port.keep = false;
            port.kept.clear();
        }
    }
}

fn expect(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what.to_string())
    }
}

/// A decapsulated frame on phys0: VLAN 10, the inner frame of `size - 50` bytes.
fn check_decap(size: usize) -> impl Fn(usize, &[u8]) -> Result<(), String> {
    move |p, f| {
        expect(p == 1, "not on phys0")?;
        expect(f.len() == size - 50 + 4, "length")?;
        expect(f[..6] == UNKNOWN_MAC, "dst MAC")?;
        expect(f[12..16] == [0x81, 0, 0, 10], "VLAN 10 tag")?;
        expect(f[16..18] == [8, 0] && f[18] == 0x45, "inner IPv4")
    }
}

/// A VXLAN frame to VTEP `vtep` (or any of the four), VNI 100, of `size` bytes.
fn check_vxlan(f: &[u8], size: usize, vtep: Option<usize>) -> Result<(), String> {
    expect(f.len() == size, "length")?;
    expect(f[6..12] == UNDERLAY_MAC, "src MAC")?;
    expect(f[12..14] == [8, 0] && f[14] == 0x45, "IPv4")?;
    expect(checksum(&f[14..34]) == 0, "IPv4 checksum")?;
    expect(f[26..30] == GW_IP.octets(), "IPv4 source")?;
    let i = (0..VTEPS)
        .find(|&i| f[30..34] == vtep_ip(i).octets())
        .ok_or("IPv4 destination")?;
    expect(vtep.is_none_or(|v| v == i), "VTEP")?;
    expect(f[..6] == vtep_mac(i), "dst MAC is not the VTEP's")?;
    expect(f[36..38] == 4789u16.to_be_bytes(), "UDP port")?;
    expect(f[42..50] == [8, 0, 0, 0, 0, 0, 100, 0], "VXLAN header")
}

// --- cases ---------------------------------------------------------------------

/// ns per packet of every case, for the table at the end: (total time, packets).
type Totals = RefCell<BTreeMap<String, (Duration, u64)>>;

fn time_polls(rig: &mut Rig, iters: u64, totals: &Totals, name: &str) -> Duration {
    let t = Instant::now();
    for _ in 0..iters {
        black_box(rig.worker.poll_once());
    }
    let d = t.elapsed();
    let mut m = totals.borrow_mut();
    let e = m.entry(name.to_string()).or_default();
    e.0 += d;
    e.1 += iters * BURST as u64;
    d
}

fn bench(c: &mut Criterion, totals: &Totals) {
    let mut g = c.benchmark_group("burst32");
    g.throughput(Throughput::Elements(BURST as u64));

    // The devices alone: the same copies into recycled buffers and the
    // same tx as the decap case, no worker.
    for size in [110, 600] {
        let name = format!("io-floor-{size}");
        let mut io = BenchIo::new(3);
        io.ports[0].replay = decap_frames(size, 100);
        io.replaying = true;
        let mut slots: Vec<Option<VecBuf>> = (0..BURST).map(|_| None).collect();
        g.bench_function(BenchmarkId::from_parameter(&name), |b| {
            b.iter_custom(|iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    let n = io.rx_burst(PortId(0), 0, &mut slots);
                    for s in &mut slots[..n] {
                        black_box(s.as_mut().map(|b| b.data_mut()[0]));
                    }
                    io.tx_burst(PortId(1), &mut slots);
                }
                let d = t.elapsed();
                let mut m = totals.borrow_mut();
                let e = m.entry(name.clone()).or_default();
                e.0 += d;
                e.1 += iters * BURST as u64;
                d
            })
        });
    }

    // Decap: VXLAN from VTEP 0 (VNI 100), 16 source MACs learned, the
    // destination unknown: flooded to phys0 only (VLAN 10), as in bench.sh.
    for size in [110, 600] {
        let name = format!("decap-{size}");
        let mut rig = Rig::new(CONFIG);
        rig.start(0, decap_frames(size, 100), &[0, 32], check_decap(size));
        g.bench_function(BenchmarkId::from_parameter(&name), |b| {
            b.iter_custom(|iters| time_polls(&mut rig, iters, totals, &name))
        });
    }

    // Encap: VLAN 10 on phys0 to the static MAC behind VTEP 0.
    for size in [110, 600] {
        let name = format!("encap-{size}");
        let mut rig = Rig::new(CONFIG);
        rig.start(1, vlan_frames(size, STATIC_MAC), &[32, 0], |p, f| {
            expect(p == 0, "not on the underlay")?;
            check_vxlan(f, size, Some(0))
        });
        g.bench_function(BenchmarkId::from_parameter(&name), |b| {
            b.iter_custom(|iters| time_polls(&mut rig, iters, totals, &name))
        });
    }

    // Routed: VXLAN in VNI 100 to the gateway MAC, routed to a host of
    // VNI 200 behind VTEP 0 (decap, route, encap; TTL less one).
    for size in [110, 600] {
        let name = format!("routed-{size}");
        let mut rig = Rig::new(ROUTED_CONFIG);
        rig.worker.io_mut().ports[0].once = vec![routed_neighbour_reply()];
        rig.settle();
        rig.start(0, routed_frames(size), &[32, 0], |p, f| {
            expect(p == 0, "not on the underlay")?;
            expect(f.len() == size, "length")?;
            expect(f[30..34] == vtep_ip(0).octets(), "to VTEP 0")?;
            expect(f[42..50] == [8, 0, 0, 0, 0, 0, 200, 0], "VNI 200")?;
            let inner = &f[50..];
            expect(inner[..6] == STATIC_MAC, "to the host's MAC")?;
            expect(inner[6..12] == GATEWAY_MAC, "from the gateway MAC")?;
            expect(inner[14 + 8] == 63, "TTL less one")?;
            expect(checksum(&inner[14..34]) == 0, "inner IPv4 checksum")
        });
        g.bench_function(BenchmarkId::from_parameter(&name), |b| {
            b.iter_custom(|iters| time_polls(&mut rig, iters, totals, &name))
        });
    }

    // Flood: broadcast from phys0 VLAN 10, replicated to the four VTEPs and
    // to phys1 (VLAN 20): five copies per packet.
    {
        let size = 110;
        let name = format!("flood-{size}");
        let mut rig = Rig::new(FLOOD_CONFIG);
        rig.start(
            1,
            vlan_frames(size, [0xff; 6]),
            &[32 * VTEPS as u64, 0, 32],
            |p, f| match p {
                0 => check_vxlan(f, size, None),
                2 => expect(
                    f.len() == size - 46 && f[12..16] == [0x81, 0, 0, 20],
                    "phys1",
                ),
                _ => Err("sent back out of phys0".into()),
            },
        );
        g.bench_function(BenchmarkId::from_parameter(&name), |b| {
            b.iter_custom(|iters| time_polls(&mut rig, iters, totals, &name))
        });
    }

    // Scale: 10^6 static MACs (`SCALE_MACS`) in 4096 VNIs; 65536 frames
    // touching 65536 of them (far apart, every VNI) against 16 of them.
    // Loss = 1 − rate(scale-65536) / rate(scale-16).
    if std::env::args().any(|a| a.contains("scale")) {
        let macs: usize = std::env::var("SCALE_MACS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        let started = Instant::now();
        let mut rig = Rig::new(&scale_config(macs));
        eprintln!(
            "scale: {macs} static MACs loaded in {:?}",
            started.elapsed()
        );
        for touch in [16, 65536] {
            let name = format!("scale{touch}-110");
            let frames = scale_frames(macs, touch);
            let mut want = [0u64; 3];
            for f in &frames[..BURST] {
                let j = u32::from_be_bytes([0, f[46], f[47], f[48]]) as usize - 10000;
                want[1 + scale_binding(j).0] += 1;
            }
            rig.start(0, frames, &want, |p, f| {
                expect(p >= 1, "not on a physical port")?;
                expect(f.len() == 64, "length")?;
                expect(f[..6] == UNKNOWN_MAC, "dst MAC")?;
                // The source MAC's number k is its last three bytes; its VNI is 10000 + k % VNIs.
                let k = usize::from(f[9]) << 16 | usize::from(f[10]) << 8 | usize::from(f[11]);
                let (port, vlan) = scale_binding(k % SCALE_VNIS);
                expect(p == 1 + port, "port of the source MAC's VNI")?;
                expect(
                    f[12..16] == [0x81, 0, (vlan >> 8) as u8, vlan as u8],
                    "VLAN of the VNI",
                )
            });
            g.bench_function(BenchmarkId::from_parameter(&name), |b| {
                b.iter_custom(|iters| time_polls(&mut rig, iters, totals, &name))
            });
        }
    }
    g.finish();
}

/// TSC rate: $TSC_HZ, else /proc/cpuinfo's "cpu MHz" (the TSC rate on
/// constant-TSC x86 VMs; only an estimate elsewhere).
fn tsc_hz() -> Option<(f64, &'static str)> {
    if let Some(hz) = std::env::var("TSC_HZ").ok().and_then(|v| v.parse().ok()) {
        return Some((hz, "TSC_HZ"));
    }
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    if !info.contains(" constant_tsc") {
        return None;
    }
    let mhz: f64 = info
        .lines()
        .find(|l| l.starts_with("cpu MHz"))?
        .split(':')
        .nth(1)?
        .trim()
        .parse()
        .ok()?;
    Some((mhz * 1e6, "/proc/cpuinfo cpu MHz"))
}

fn main() {
    let totals = Totals::default();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    bench(&mut c, &totals);
    c.final_summary();

    let totals = totals.into_inner();
    if totals.is_empty() {
        return;
    }
    let tsc = tsc_hz();
    println!();
    match tsc {
        Some((hz, from)) => println!("TSC {:.0} MHz ({from})", hz / 1e6),
        None => println!("TSC rate unknown: set TSC_HZ for cycles"),
    }
    println!(
        "{:<14} {:>8} {:>9} {:>12} {:>11} {:>11}",
        "case", "ns/pkt", "Mpps", "cycles/pkt", "own ns/pkt", "own cycles"
    );
    let per = |k: &str| {
        totals
            .get(k)
            .map(|(d, n)| d.as_secs_f64() * 1e9 / *n as f64)
    };
    for (name, (d, n)) in &totals {
        let ns = d.as_secs_f64() * 1e9 / *n as f64;
        let size = name.rsplit('-').next().unwrap_or("");
        let floor = if name.starts_with("io-floor") {
            None
        } else {
            per(&format!("io-floor-{size}"))
        };
        let cyc = |ns: f64| tsc.map_or("-".into(), |(hz, _)| format!("{:.1}", ns * hz / 1e9));
        let own = floor.map(|f| ns - f);
        println!(
            "{:<14} {:>8.1} {:>9.2} {:>12} {:>11} {:>11}",
            name,
            ns,
            1e3 / ns,
            cyc(ns),
            own.map_or("-".into(), |o| format!("{o:.1}")),
            own.map_or("-".into(), cyc),
        );
    }
    println!(
        "per packet received; flood-110 makes {} copies of each (4 VTEPs + phys1): divide by {} for per copy",
        VTEPS + 1,
        VTEPS + 1
    );
}
