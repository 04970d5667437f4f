//! The control thread's side of multicast core replication: it runs the
//! [`IgmpHost`] for the groups the VNIs use (joins and leaves on config
//! changes, answers to the queries the workers pass up), sends its reports
//! through worker 0 as control frames, tells the NIC layer which MACs the
//! underlay must receive, and publishes what the API shows.

use super::igmp::{GroupStatus, IgmpHost, IgmpStats};
use crate::events::ControlFrame;
use crate::shared::Shared;
use crate::snapshot::{Snapshot, UNDERLAY_PORT};
use crate::wire::igmp::{frame, Message, Query, QueryVersion};
use crate::wire::Mac;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::mpsc::SyncSender;

/// Group records per v3 report: the frame must fit a [`ControlFrame`]
/// (14 Ethernet + 24 IPv4 + 8 + 8 per record).
const RECORDS_PER_REPORT: usize = (ControlFrame::MAX_LEN - 14 - 24 - 8) / 8;

/// Tells the NIC layer which multicast MACs the underlay must receive;
/// returns how the device receives them (shown by the API).
pub type ReceiveFilter = Box<dyn FnMut(&[Mac]) -> &'static str + Send>;

/// What the management plane shows of multicast, published by the control
/// thread when it changes.
#[derive(Clone, Debug, Default)]
pub struct MulticastView {
    pub groups: Vec<GroupStatus>,
    pub stats: IgmpStats,
    /// The version of the last query heard.
    pub querier_version: Option<QueryVersion>,
    /// Reports go out as IGMPv2 (configured, or a v1/v2 querier heard).
    pub v2_mode: bool,
    /// How the underlay NIC receives the groups' MACs (see [`ReceiveFilter`]);
    /// `none` while no VNI uses a group.
    pub receive_mode: &'static str,
}

pub(super) struct Multicast {
    host: IgmpHost,
    frames: SyncSender<ControlFrame>,
    ident: u16,
    /// The MACs the NIC was last told to receive.
    macs: Vec<Mac>,
    filter: Option<ReceiveFilter>,
    receive_mode: &'static str,
}

impl Multicast {
    pub(super) fn new(snap: &Snapshot, frames: SyncSender<ControlFrame>) -> Self {
        let seed = u64::from(u32::from(snap.underlay.ip))
            ^ u64::from_be_bytes({
                let mut b = [0u8; 8];
                b[2..].copy_from_slice(&snap.underlay.mac.0);
                b
            });
        Multicast {
            host: IgmpHost::new(&snap.igmp, seed),
            frames,
            ident: 0,
            macs: Vec::new(),
            filter: None,
            receive_mode: "none",
        }
    }

    /// Installs the NIC layer's receive filter and applies the current groups.
    pub(super) fn set_filter(&mut self, shared: &Shared, snap: &Snapshot, filter: ReceiveFilter) {
        self.filter = Some(filter);
        self.macs.clear();
        self.apply_filter(snap);
        self.publish(shared, 0);
    }

    /// A new snapshot: new IGMP settings, joins and leaves, receive filter.
    pub(super) fn sync(&mut self, shared: &Shared, snap: &Snapshot, now_ms: u64) {
        self.host.configure(&snap.igmp);
        let wanted: BTreeSet<Ipv4Addr> = snap.groups.iter().map(|g| g.addr).collect();
        self.host.set_groups(&wanted, now_ms);
        // Join before the filter changes, leave after: neither loses frames
        // the other still needs (the filter is a superset meanwhile).
        self.poll(shared, snap, now_ms);
        self.apply_filter(snap);
        self.publish(shared, now_ms);
    }

    pub(super) fn on_query(&mut self, shared: &Shared, q: &Query, now_ms: u64) {
        self.host.on_query(q, now_ms);
        self.publish(shared, now_ms);
    }

    /// Sends what is due.
    pub(super) fn poll(&mut self, shared: &Shared, snap: &Snapshot, now_ms: u64) {
        let due = self.host.poll(now_ms);
        if due.is_empty() {
            return;
        }
        let u = &snap.underlay;
        for msg in due.iter().flat_map(split) {
            self.ident = self.ident.wrapping_add(1);
            let bytes = frame(u.mac, u.ip, self.ident, &msg);
            let sent = ControlFrame::new(UNDERLAY_PORT, &bytes)
                .is_some_and(|f| self.frames.try_send(f).is_ok());
            if !sent {
                shared.control.control_frames_lost.inc();
            }
        }
        self.publish(shared, now_ms);
    }

    fn apply_filter(&mut self, snap: &Snapshot) {
        let macs = &snap.group_macs;
        if *macs == self.macs {
            return;
        }
        let mode = self.filter.as_mut().map(|f| f(macs));
        self.receive_mode = match mode {
            _ if macs.is_empty() => "none",
            Some(mode) => mode,
            // No NIC layer (in-memory ports): nothing filters.
            None => "unfiltered",
        };
        self.macs = macs.clone();
    }

    pub(super) fn publish(&self, shared: &Shared, now_ms: u64) {
        let view = MulticastView {
            groups: self.host.status(),
            stats: self.host.stats,
            querier_version: self.host.querier_version(),
            v2_mode: self.host.v2_mode(now_ms),
            receive_mode: self.receive_mode,
        };
        if let Ok(mut v) = shared.multicast.lock() {
            *v = view;
        }
    }
}

/// A v3 report with more records than a control frame holds, as several.
fn split(msg: &Message) -> Vec<Message> {
    match msg {
        Message::V3Report(records) if records.len() > RECORDS_PER_REPORT => records
            .chunks(RECORDS_PER_REPORT)
            .map(|c| Message::V3Report(c.to_vec()))
            .collect(),
        m => vec![m.clone()],
    }
}
