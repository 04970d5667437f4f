//! IPv4 route lookup (issue 10 groundwork): one VRF of 1k and of 100k
//! random prefixes (lengths 8 to 32, half of them /24, as in real tables)
//! plus a default route. Two sets of destinations: `random` addresses
//! (most fall through to short prefixes or the default route) and `hit`
//! addresses inside the table's own prefixes (every lookup walks down to
//! a specific route, the worst case for the trie), 1024 of each.
//!
//! `cargo bench -p vtepgw-gateway --bench route`. Criterion reports the
//! time per batch of 1024 lookups and lookups per second; the table at the
//! end gives ns per lookup.

use criterion::{BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};
use vtepgw_gateway::tables::route::{IpPrefix, NextHop, RouteTable};

const BATCH: usize = 1024;

/// `n` random prefixes and a default route in VRF 0, and 1024 addresses
/// inside those prefixes; a fixed seed keeps runs comparable.
fn table(n: usize, rng: &mut fastrand::Rng) -> (RouteTable, Vec<Ipv4Addr>) {
    let mut t = RouteTable::new(1);
    let hop = NextHop::Via {
        addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 126)),
        iface: 0,
    };
    let _ = t.insert(0, IpPrefix::v4(Ipv4Addr::UNSPECIFIED, 0), hop);
    let mut inside = Vec::with_capacity(n);
    while t.len(0) < n + 1 {
        let len = if rng.bool() { 24 } else { rng.u8(8..=32) };
        let iface = rng.u16(0..64);
        let addr = Ipv4Addr::from(rng.u32(..));
        if t.insert(0, IpPrefix::v4(addr, len), NextHop::Connected { iface })
            .is_ok()
        {
            inside.push(addr);
        }
    }
    let hits = (0..BATCH)
        .map(|_| inside[rng.usize(..inside.len())])
        .collect();
    (t, hits)
}

fn lookups(t: &RouteTable, dsts: &[Ipv4Addr]) -> u32 {
    let mut sum = 0u32;
    for &d in dsts {
        if let Some(hop) = t.lookup_v4(0, black_box(d)) {
            sum = sum.wrapping_add(u32::from(hop.iface()));
        }
    }
    sum
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let mut rng = fastrand::Rng::with_seed(10);
    let dsts: Vec<Ipv4Addr> = (0..BATCH).map(|_| Ipv4Addr::from(rng.u32(..))).collect();
    let mut summary = Vec::new();
    let mut group = c.benchmark_group("route");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, n) in [("1k", 1_000), ("100k", 100_000)] {
        let (t, hits) = table(n, &mut rng);
        let mut ns = Vec::new();
        for (kind, set) in [("random", &dsts), ("hit", &hits)] {
            let id = BenchmarkId::new(format!("lookup_v4/{kind}"), name);
            group.bench_with_input(id, &t, |b, t| b.iter(|| lookups(t, set)));
            ns.push(ns_per_lookup(&t, set));
        }
        summary.push((name, t.len(0), ns));
    }
    group.finish();
    println!("\nroute lookup, one VRF, ns per lookup:");
    println!(
        "{:>6} {:>8} {:>8} {:>8}",
        "table", "routes", "random", "hit"
    );
    for (name, routes, ns) in summary {
        println!("{name:>6} {routes:>8} {:>8.1} {:>8.1}", ns[0], ns[1]);
    }
}

/// A plain timed loop for the summary table, apart from criterion's runs.
fn ns_per_lookup(t: &RouteTable, dsts: &[Ipv4Addr]) -> f64 {
    let rounds = 2000;
    let start = Instant::now();
    for _ in 0..rounds {
        black_box(lookups(t, dsts));
    }
    start.elapsed().as_nanos() as f64 / (rounds * dsts.len()) as f64
}
