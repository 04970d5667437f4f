//! The control thread: the only writer of the MAC and VTEP tables.
//!
//! It drains the workers' events (learning, ARP, L3 neighbours, IGMP
//! queries), ages MACs and neighbours,
//! keeps static entries in line with the config, resolves remote VTEPs'
//! next hops by ARP and is the IGMP host for the VNIs' groups. It polls
//! every millisecond and never touches packets itself: ARP requests and
//! IGMP reports go to worker 0 as control frames.

pub mod igmp;
mod learning;
pub mod multicast;
mod neighbours;
mod resolver;

use crate::events::Event;
use crate::shared::{ControlParts, Shared};
use crate::snapshot::Snapshot;
use crate::tables::MacDest;
use learning::Learning;
use multicast::Multicast;
use neighbours::Neighbours;
use resolver::Resolver;
use std::sync::mpsc::TryRecvError;
use std::sync::Arc;
use std::time::Duration;

/// Events handled per worker per tick, so one busy worker can't starve the rest.
const EVENTS_PER_TICK: usize = 1024;
/// How often timers (ageing, ARP) run.
const TIMER_PERIOD_MS: u64 = 100;

/// The control thread's state.
pub struct Control {
    shared: Arc<Shared>,
    events: Vec<std::sync::mpsc::Receiver<Event>>,
    learning: Learning,
    neighbours: Neighbours,
    resolver: Resolver,
    multicast: Multicast,
    snapshot: Arc<Snapshot>,
    last_timer_ms: u64,
}

impl Control {
    /// Takes the control parts made by [`crate::shared::build`] and applies
    /// the initial snapshot (static MACs, replication VTEPs).
    pub fn new(shared: Arc<Shared>, parts: ControlParts) -> Self {
        let snapshot = shared.snapshot.load_full();
        let mut control = Control {
            learning: Learning::new(parts.mac_writer),
            neighbours: Neighbours::new(parts.neighbour_writer),
            multicast: Multicast::new(&snapshot, parts.control_frames.clone()),
            resolver: Resolver::new(parts.tunnel_writer, parts.control_frames),
            events: parts.events,
            snapshot: snapshot.clone(),
            shared,
            last_timer_ms: 0,
        };
        let (now, now_ms) = (control.shared.clock.now(), control.shared.clock.millis());
        control.apply_snapshot(&snapshot, None, now, now_ms);
        control
    }

    /// Installs the NIC layer's receive filter for the groups' MACs and
    /// applies it to the groups in use (again whenever they change).
    pub fn set_receive_filter(&mut self, filter: multicast::ReceiveFilter) {
        self.multicast
            .set_filter(&self.shared, &self.snapshot, filter);
    }

    /// Runs until a stop is requested.
    pub fn run(mut self) {
        while !self.shared.stopping() {
            self.tick();
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// One round: clock, config changes, events, timers.
    pub fn tick(&mut self) {
        let now = self.shared.clock.tick();
        let now_ms = self.shared.clock.millis();
        self.tick_at(now, now_ms);
    }

    /// One round at a given time: `now` in coarse seconds, `now_ms` for
    /// timers. Tests drive time through this.
    pub fn tick_at(&mut self, now: u32, now_ms: u64) {
        self.shared.clock.set(now);
        self.shared.clock.set_ms(now_ms);
        let current = self.shared.snapshot.load_full();
        if current.generation != self.snapshot.generation {
            let old = std::mem::replace(&mut self.snapshot, current.clone());
            self.apply_snapshot(&current, Some(&old), now, now_ms);
        }
        self.drain_events(now, now_ms);
        self.multicast.poll(&self.shared, &self.snapshot, now_ms);
        if now_ms.saturating_sub(self.last_timer_ms) >= TIMER_PERIOD_MS {
            self.multicast.publish(&self.shared, now_ms);
            self.last_timer_ms = now_ms;
            self.learning.age_step(
                &self.shared,
                &self.snapshot,
                &mut self.resolver.tunnels,
                now,
            );
            self.resolver
                .timers(&self.shared, &self.snapshot, now, now_ms);
            self.neighbours.age_step(&self.shared, &self.snapshot, now);
        }
    }

    fn drain_events(&mut self, now: u32, now_ms: u64) {
        for rx in &self.events {
            for _ in 0..EVENTS_PER_TICK {
                let event = match rx.try_recv() {
                    Ok(e) => e,
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                };
                match event {
                    Event::Learn {
                        vni_slot,
                        mac,
                        dest,
                    } => self.learning.learn(
                        &self.shared,
                        &self.snapshot,
                        &mut self.resolver.tunnels,
                        vni_slot,
                        mac,
                        dest,
                        now,
                    ),
                    Event::LearnRemote {
                        vni_slot,
                        mac,
                        vtep,
                    } => {
                        let learning = self.snapshot.vni(vni_slot).is_some_and(|v| v.learning);
                        let tunnel = learning
                            .then(|| {
                                self.resolver.track(
                                    &self.shared,
                                    &self.snapshot,
                                    vtep,
                                    false,
                                    now,
                                    now_ms,
                                )
                            })
                            .flatten();
                        if let Some(tunnel) = tunnel {
                            self.learning.learn(
                                &self.shared,
                                &self.snapshot,
                                &mut self.resolver.tunnels,
                                vni_slot,
                                mac,
                                MacDest::Remote { tunnel },
                                now,
                            );
                        }
                    }
                    Event::ArpSeen { ip, mac } => {
                        self.resolver.arp_seen(&self.shared, ip, mac, now_ms)
                    }
                    Event::Neighbour { iface, ip, mac } => {
                        self.neighbours
                            .learn(&self.shared, &self.snapshot, iface, ip, mac, now)
                    }
                    Event::IgmpQuery(q) => self.multicast.on_query(&self.shared, &q, now_ms),
                    Event::VtepMiss { vtep } => {
                        self.resolver
                            .track(&self.shared, &self.snapshot, vtep, false, now, now_ms);
                    }
                }
            }
        }
    }

    fn apply_snapshot(&mut self, snap: &Snapshot, old: Option<&Snapshot>, now: u32, now_ms: u64) {
        if let Some(old) = old {
            for slot in snap.slots_taken_over(old) {
                self.shared.mac_stats[slot.index()].reset();
            }
            self.neighbours.sync(&self.shared, snap, old);
        }
        self.neighbours.install_static(&self.shared, snap, now);
        self.multicast.sync(&self.shared, snap, now_ms);
        // Tunnels first: static MACs point at their ids.
        self.resolver.sync(&self.shared, snap, now, now_ms);
        let resolver = &mut self.resolver;
        let ids: std::collections::HashMap<_, _> = snap
            .vnis
            .iter()
            .flatten()
            .flat_map(|v| v.static_macs.iter().map(|s| s.1))
            .filter_map(|vtep| Some((vtep, resolver.tunnel(vtep)?)))
            .collect();
        self.learning.sync(
            &self.shared,
            snap,
            old,
            &mut resolver.tunnels,
            |vtep| ids.get(&vtep).copied(),
            now,
        );
    }
}

#[cfg(test)]
mod tests;
