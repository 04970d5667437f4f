//! The neighbour table's writer: learns what workers report (a host's ARP
//! or a packet it sent to be routed), ages out hosts not heard from for
//! `neighbour.ageing_secs`, and forgets an interface's hosts when the
//! interface changes. Resolution itself (ARP requests, held packets) is
//! the workers' job: see `pipeline::hold`.

use crate::l3::{IfaceId, IfacePlan};
use crate::shared::Shared;
use crate::snapshot::Snapshot;
use crate::tables::neighbour::{encode, encode_static, neighbour_key, split_neighbour_key, STATIC};
use crate::tables::MapWriter;
use crate::wire::Mac;
use std::net::Ipv4Addr;
use std::sync::atomic::Ordering::Relaxed;

pub(super) struct Neighbours {
    writer: MapWriter,
    /// The second of the last ageing scan (one a second is plenty).
    last_scan: u32,
}

impl Neighbours {
    pub(super) fn new(writer: MapWriter) -> Self {
        Neighbours {
            writer,
            last_scan: 0,
        }
    }

    /// Records that `ip` on `iface` has `mac` (new, moved or refreshed).
    pub(super) fn learn(
        &mut self,
        shared: &Shared,
        snap: &Snapshot,
        iface: IfaceId,
        ip: Ipv4Addr,
        mac: Mac,
        now: u32,
    ) {
        // A report from before a config change may name a link that is gone.
        if !snap.l3.iface(iface).is_some_and(|f| f.is_neighbour(ip)) {
            return;
        }
        let key = neighbour_key(iface, ip);
        // A configured neighbour stays as configured.
        if self
            .writer
            .map()
            .get(key)
            .is_some_and(|h| h.value & STATIC != 0)
        {
            return;
        }
        let stats = &shared.control;
        match self.writer.insert(key, encode(mac), now) {
            Ok(None) => stats.neighbours_learned.inc(),
            Ok(Some(old)) if old != encode(mac) => stats.neighbours_moved.inc(),
            Ok(Some(_)) => {}
            Err(_) => stats.neighbour_table_full.inc(),
        }
        stats.neighbours.store(self.writer.len() as u64, Relaxed);
    }

    /// Once a second: removes neighbours not heard from within the ageing
    /// time, and any on an interface the snapshot no longer has.
    pub(super) fn age_step(&mut self, shared: &Shared, snap: &Snapshot, now: u32) {
        if now == self.last_scan {
            return;
        }
        self.last_scan = now;
        let ageing = snap.l3.neighbour.ageing_secs;
        let aged = self.remove_where(shared, |iface, ip, value, seen| {
            let gone = !snap.l3.iface(iface).is_some_and(|f| f.is_neighbour(ip));
            gone || (value & STATIC == 0 && now.saturating_sub(seen) > ageing)
        });
        shared.control.neighbours_aged.add(aged);
    }

    /// Makes the static neighbours the snapshot's: installs them (over a
    /// learned entry for the same host) and removes those no longer
    /// configured.
    pub(super) fn install_static(&mut self, shared: &Shared, snap: &Snapshot, now: u32) {
        let configured = &snap.l3.static_neighbours;
        self.remove_where(shared, |iface, ip, value, _| {
            value & STATIC != 0 && !configured.iter().any(|&(i, a, _)| (i, a) == (iface, ip))
        });
        for &(iface, ip, mac) in configured {
            if self
                .writer
                .insert(neighbour_key(iface, ip), encode_static(mac), now)
                .is_err()
            {
                shared.control.neighbour_table_full.inc();
            }
        }
        shared
            .control
            .neighbours
            .store(self.writer.len() as u64, Relaxed);
    }

    /// After a config change: forgets the hosts of every interface id that
    /// now names another interface (or another link).
    pub(super) fn sync(&mut self, shared: &Shared, snap: &Snapshot, old: &Snapshot) {
        let same = |f: &IfacePlan, o: &IfacePlan| {
            (f.name.as_str(), f.vrf, f.ip, f.prefix_len, f.attach)
                == (o.name.as_str(), o.vrf, o.ip, o.prefix_len, o.attach)
        };
        let changed: Vec<bool> = old
            .l3
            .ifaces
            .iter()
            .enumerate()
            .map(|(i, o)| match (o, snap.l3.iface(i as IfaceId)) {
                (Some(o), Some(f)) => !same(f, o),
                (None, None) => false,
                _ => true,
            })
            .collect();
        if changed.iter().any(|&c| c) {
            self.remove_where(shared, |iface, _, _, _| {
                changed.get(usize::from(iface)).copied().unwrap_or(true)
            });
        }
    }

    /// Removes every entry for which `gone(interface, address, value, last
    /// seen)` is true; returns how many.
    fn remove_where(
        &mut self,
        shared: &Shared,
        gone: impl Fn(IfaceId, Ipv4Addr, u64, u32) -> bool,
    ) -> u64 {
        let map = shared.neighbours.map();
        let mut removed = 0;
        for i in 0..map.capacity() {
            let Some((key, value)) = map.entry_at(i) else {
                continue;
            };
            let (iface, ip) = split_neighbour_key(key);
            if gone(iface, ip, value, map.seen(i)) && self.writer.remove_at(i).is_some() {
                removed += 1;
            }
        }
        shared
            .control
            .neighbours
            .store(self.writer.len() as u64, Relaxed);
        removed
    }
}
