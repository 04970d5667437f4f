//! Messages between workers and the control thread.
//!
//! Both directions use bounded `std::sync::mpsc::sync_channel`s, one per
//! worker, created once: `try_send`/`try_recv` never allocate, never block
//! and never make a syscall as long as nobody waits in a blocking `recv`
//! (the control thread only polls).

use crate::tables::MacDest;
use crate::types::{PortId, VniSlot};
use crate::wire::Mac;
use std::net::Ipv4Addr;

/// Worker -> control: something only the single table writer may act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A source MAC that is new or has moved.
    Learn {
        vni_slot: VniSlot,
        mac: Mac,
        dest: MacDest,
    },
    /// A source MAC behind a remote VTEP that is new or has moved; the
    /// control thread interns the VTEP and points the entry at its tunnel.
    LearnRemote {
        vni_slot: VniSlot,
        mac: Mac,
        vtep: Ipv4Addr,
    },
    /// An ARP sender on the underlay (a reply to us or a request for us).
    ArpSeen { ip: Ipv4Addr, mac: Mac },
    /// A remote VTEP the VTEP table has never heard of.
    VtepMiss { vtep: Ipv4Addr },
    /// A host of an L3 interface's link and its MAC, heard from (its ARP,
    /// or a packet it sent to be routed).
    Neighbour {
        iface: crate::l3::IfaceId,
        ip: Ipv4Addr,
        mac: Mac,
    },
    /// An IGMP membership query heard on the underlay, for the IGMP host.
    IgmpQuery(crate::wire::igmp::Query),
}

/// Events a worker may queue before it starts losing them.
pub const EVENT_QUEUE_LEN: usize = 4096;

/// Control -> worker: a frame for the worker to transmit (ARP requests).
/// Fixed size, so sending it allocates nothing.
#[derive(Clone, Copy, Debug)]
pub struct ControlFrame {
    pub port: PortId,
    len: u8,
    bytes: [u8; ControlFrame::MAX_LEN],
}

impl ControlFrame {
    /// Largest control frame.
    pub const MAX_LEN: usize = 128;

    /// A frame for `port`; None if `frame` is longer than [`Self::MAX_LEN`].
    pub fn new(port: PortId, frame: &[u8]) -> Option<Self> {
        let mut bytes = [0; Self::MAX_LEN];
        bytes.get_mut(..frame.len())?.copy_from_slice(frame);
        Some(ControlFrame {
            port,
            len: frame.len() as u8,
            bytes,
        })
    }

    /// The frame's bytes.
    pub fn frame(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// Control frames queued per worker.
pub const CONTROL_QUEUE_LEN: usize = 256;
