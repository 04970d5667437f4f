//! Resolves remote VTEPs to the MAC their frames go to: the VTEP's own MAC
//! when it is on the underlay subnet, else the gateway's, found by ARP.
//!
//! Next hops are re-confirmed every [`REFRESH_MS`]; one that stops answering
//! for [`EXPIRE_MS`] goes back to unresolved, and traffic to its VTEPs is
//! dropped (and counted) until it answers again, instead of being sent to
//! a MAC that may be gone.

use crate::events::ControlFrame;
use crate::shared::Shared;
use crate::snapshot::{Snapshot, UNDERLAY_PORT};
use crate::tables::{TunnelId, TunnelWriter};
use crate::wire::arp::request_frame;
use crate::wire::Mac;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::SyncSender;

/// Retry period for an unresolved next hop.
const RETRY_MS: u64 = 1000;
/// A resolved next hop is re-confirmed after this long.
const REFRESH_MS: u64 = 30_000;
/// A next hop unconfirmed for this long becomes unresolved.
const EXPIRE_MS: u64 = 60_000;
/// Learned (not configured) VTEPs unused for this long are forgotten.
const VTEP_IDLE_SECS: u32 = 600;

struct NextHopState {
    mac: Option<Mac>,
    confirmed_ms: u64,
    requested_ms: Option<u64>,
}

struct VtepState {
    tunnel: TunnelId,
    next_hop: Option<Ipv4Addr>,
    /// From the config (replication list, static MACs): never forgotten.
    pinned: bool,
}

pub(super) struct Resolver {
    /// The tunnel index: ids, next-hop MACs, and the MAC entries' references.
    pub(super) tunnels: TunnelWriter,
    frames: SyncSender<ControlFrame>,
    next_hops: HashMap<Ipv4Addr, NextHopState>,
    vteps: HashMap<Ipv4Addr, VtepState>,
}

impl Resolver {
    pub(super) fn new(tunnels: TunnelWriter, frames: SyncSender<ControlFrame>) -> Self {
        Resolver {
            tunnels,
            frames,
            next_hops: HashMap::new(),
            vteps: HashMap::new(),
        }
    }

    /// Starts (or keeps) resolving `vtep`; returns its tunnel id, or None
    /// if it cannot be tracked (table full).
    pub(super) fn track(
        &mut self,
        shared: &Shared,
        snap: &Snapshot,
        vtep: Ipv4Addr,
        pinned: bool,
        now: u32,
        now_ms: u64,
    ) -> Option<TunnelId> {
        if let Some(state) = self.vteps.get_mut(&vtep) {
            state.pinned |= pinned;
            return Some(state.tunnel);
        }
        // Learned VTEPs fill at most half the table, like the MAC table:
        // VXLAN from spoofed sources cannot crowd out configured VTEPs
        // (which may use the rest) or make us ARP for more than that.
        let learned = self.vteps.values().filter(|v| !v.pinned).count();
        if !pinned && learned >= self.tunnels.table().capacity() / 2 {
            shared.control.vtep_table_full.inc();
            return None;
        }
        let next_hop = snap.underlay.next_hop(vtep);
        if next_hop.is_none() {
            shared.control.vtep_unreachable.inc();
        }
        let tunnel = self.tunnels.intern(vtep.into(), now).ok()?;
        let mac = next_hop.and_then(|nh| self.next_hop_entry(nh).mac);
        self.tunnels.set_mac(tunnel, mac);
        self.vteps.insert(
            vtep,
            VtepState {
                tunnel,
                next_hop,
                pinned,
            },
        );
        if let Some(nh) = next_hop {
            self.request_if_due(shared, snap, nh, now_ms);
        }
        self.publish_gauges(shared);
        Some(tunnel)
    }

    /// The tunnel id of a tracked VTEP.
    pub(super) fn tunnel(&self, vtep: Ipv4Addr) -> Option<TunnelId> {
        self.vteps.get(&vtep).map(|s| s.tunnel)
    }

    fn next_hop_entry(&mut self, ip: Ipv4Addr) -> &mut NextHopState {
        self.next_hops.entry(ip).or_insert(NextHopState {
            mac: None,
            confirmed_ms: 0,
            requested_ms: None,
        })
    }

    /// An ARP sender on the underlay: if it is a next hop we resolve, record
    /// it (a new MAC takes effect at once). Unknown senders are ignored.
    pub(super) fn arp_seen(&mut self, shared: &Shared, ip: Ipv4Addr, mac: Mac, now_ms: u64) {
        let Some(state) = self.next_hops.get_mut(&ip) else {
            return;
        };
        let changed = state.mac != Some(mac);
        match state.mac {
            None => shared.control.arp_resolved.inc(),
            // A next hop that moved (failover, a replaced NIC) says so by
            // gratuitous ARP: follow it now, not at the next refresh.
            Some(_) if changed => shared.control.next_hop_mac_changes.inc(),
            Some(_) => {}
        }
        state.mac = Some(mac);
        state.confirmed_ms = now_ms;
        state.requested_ms = None;
        if changed {
            self.write_vteps_of(ip, Some(mac));
            self.publish_gauges(shared);
        }
    }

    /// Retries, refreshes and expiries; forgets idle learned VTEPs.
    pub(super) fn timers(&mut self, shared: &Shared, snap: &Snapshot, now: u32, now_ms: u64) {
        let mut expired = Vec::new();
        let mut due = Vec::new();
        for (&ip, state) in &self.next_hops {
            let age = now_ms.saturating_sub(state.confirmed_ms);
            if state.mac.is_some() && age >= EXPIRE_MS {
                expired.push(ip);
            } else if state.mac.is_none() || age >= REFRESH_MS {
                due.push(ip);
            }
        }
        for ip in expired {
            if let Some(state) = self.next_hops.get_mut(&ip) {
                state.mac = None;
            }
            self.write_vteps_of(ip, None);
            due.push(ip);
        }
        for ip in due {
            self.request_if_due(shared, snap, ip, now_ms);
        }
        self.forget_idle_vteps(now);
        self.publish_gauges(shared);
    }

    /// Pins the config's VTEPs and re-derives next hops (the underlay
    /// address or gateway may have changed).
    pub(super) fn sync(&mut self, shared: &Shared, snap: &Snapshot, now: u32, now_ms: u64) {
        let configured: Vec<Ipv4Addr> = snap
            .vnis
            .iter()
            .flatten()
            .flat_map(|v| {
                v.flood_vteps
                    .iter()
                    .copied()
                    .chain(v.static_macs.iter().map(|s| s.1))
            })
            .collect();
        let old: Vec<Ipv4Addr> = self.vteps.keys().copied().collect();
        for vtep in old {
            let pinned = configured.contains(&vtep);
            let route = snap.underlay.next_hop(vtep);
            let Some(state) = self.vteps.get_mut(&vtep) else {
                continue;
            };
            state.pinned = pinned;
            if state.next_hop == route {
                continue;
            }
            let tunnel = state.tunnel;
            if self.tunnels.release(tunnel) {
                self.vteps.remove(&vtep);
                continue;
            }
            // MAC entries point at it: keep the id, follow the new route.
            state.next_hop = route;
            let mac = route.and_then(|nh| self.next_hop_entry(nh).mac);
            self.tunnels.set_mac(tunnel, mac);
            if let Some(nh) = route {
                self.request_if_due(shared, snap, nh, now_ms);
            }
        }
        for vtep in configured {
            self.track(shared, snap, vtep, true, now, now_ms);
        }
        let used: Vec<Ipv4Addr> = self.vteps.values().filter_map(|v| v.next_hop).collect();
        self.next_hops.retain(|ip, _| used.contains(ip));
        self.publish_gauges(shared);
    }

    fn forget_idle_vteps(&mut self, now: u32) {
        let table = self.tunnels.table();
        let idle: Vec<Ipv4Addr> = self
            .vteps
            .iter()
            .filter(|(_, s)| !s.pinned && self.tunnels.refs(s.tunnel) == 0)
            .filter(|(_, s)| now.saturating_sub(table.seen(s.tunnel)) >= VTEP_IDLE_SECS)
            .map(|(&ip, _)| ip)
            .collect();
        for ip in idle {
            if let Some(state) = self.vteps.remove(&ip) {
                self.tunnels.release(state.tunnel);
            }
        }
        let used: Vec<Ipv4Addr> = self.vteps.values().filter_map(|v| v.next_hop).collect();
        self.next_hops.retain(|ip, _| used.contains(ip));
    }

    fn write_vteps_of(&mut self, next_hop: Ipv4Addr, mac: Option<Mac>) {
        for state in self.vteps.values() {
            if state.next_hop == Some(next_hop) {
                self.tunnels.set_mac(state.tunnel, mac);
            }
        }
    }

    fn request_if_due(&mut self, shared: &Shared, snap: &Snapshot, ip: Ipv4Addr, now_ms: u64) {
        let Some(state) = self.next_hops.get_mut(&ip) else {
            return;
        };
        if state
            .requested_ms
            .is_some_and(|t| now_ms.saturating_sub(t) < RETRY_MS)
        {
            return;
        }
        state.requested_ms = Some(now_ms);
        let frame = request_frame(snap.underlay.mac, snap.underlay.ip, ip);
        let sent = ControlFrame::new(UNDERLAY_PORT, &frame)
            .is_some_and(|f| self.frames.try_send(f).is_ok());
        if sent {
            shared.control.arp_requests_sent.inc();
        } else {
            shared.control.control_frames_lost.inc();
        }
    }

    fn publish_gauges(&self, shared: &Shared) {
        let resolved = self.next_hops.values().filter(|s| s.mac.is_some()).count();
        shared
            .control
            .next_hops_resolved
            .store(resolved as u64, Relaxed);
        shared
            .control
            .next_hops_pending
            .store((self.next_hops.len() - resolved) as u64, Relaxed);
    }
}
