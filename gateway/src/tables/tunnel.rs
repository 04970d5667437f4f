//! Remote VTEPs interned into a dense tunnel index.
//!
//! The control thread owns the index: it gives every remote VTEP it tracks a
//! [`TunnelId`] (an array index), resolves the tunnel's next hop by ARP and
//! writes the result into the tunnel's entry. MAC entries point at a tunnel
//! id, per-tunnel counters are indexed by it, and encapsulation reads the
//! entry by index (no hash) to find the outer destination MAC. Only decap
//! needs the address-to-id hash (the outer source), and a last-key cache in
//! the worker skips even that for runs of packets from one VTEP.
//!
//! An id is never reused while a MAC entry points at it: the writer counts
//! references (see [`TunnelWriter::add_ref`]).

use super::atomic_map::{AtomicMap, MapWriter, KEY_TAG};
use crate::wire::Mac;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering::*};
use std::sync::Arc;

/// A remote VTEP's index in the tunnel table (and in per-tunnel counters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TunnelId(u16);

impl TunnelId {
    /// The id as an array index.
    #[inline]
    pub fn index(self) -> usize {
        usize::from(self.0)
    }
    /// The id of index `i` (tests and decoders; `i` below the capacity).
    pub fn from_index(i: usize) -> TunnelId {
        TunnelId(i as u16)
    }
}

/// A tunnel's remote address. Only IPv4 is configurable today; the type
/// (and the table) already hold IPv6 for the IPv6 underlay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TunnelAddr {
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

impl From<Ipv4Addr> for TunnelAddr {
    fn from(ip: Ipv4Addr) -> Self {
        TunnelAddr::V4(ip)
    }
}

impl TunnelAddr {
    /// The IPv4 address, if it is one.
    pub fn v4(self) -> Option<Ipv4Addr> {
        match self {
            TunnelAddr::V4(ip) => Some(ip),
            TunnelAddr::V6(_) => None,
        }
    }

    /// As one 128-bit value: IPv4 in its IPv4-mapped form, so the all-zero
    /// value (`::`, never a tunnel) marks a free entry.
    fn bits(self) -> u128 {
        match self {
            TunnelAddr::V4(ip) => u128::from(ip.to_ipv6_mapped()),
            TunnelAddr::V6(ip) => u128::from(ip),
        }
    }

    fn from_bits(bits: u128) -> TunnelAddr {
        match Ipv6Addr::from(bits).to_ipv4_mapped() {
            Some(v4) => TunnelAddr::V4(v4),
            None => TunnelAddr::V6(Ipv6Addr::from(bits)),
        }
    }

    /// Key in the address-to-id map: exact for IPv4; IPv6 hashes, and a hit
    /// is confirmed against the entry's address.
    #[inline]
    fn key(self) -> u64 {
        match self {
            TunnelAddr::V4(ip) => KEY_TAG | u64::from(u32::from(ip)),
            TunnelAddr::V6(ip) => {
                let b = u128::from(ip);
                let h = ((b >> 64) as u64 ^ (b as u64).rotate_left(29))
                    .wrapping_mul(0x9E37_79B9_7F4A_7C15);
                KEY_TAG | (1 << 62) | (h >> 2)
            }
        }
    }
}

impl std::fmt::Display for TunnelAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        IpAddr::from(*self).fmt(f)
    }
}

impl From<TunnelAddr> for IpAddr {
    fn from(a: TunnelAddr) -> IpAddr {
        match a {
            TunnelAddr::V4(ip) => IpAddr::V4(ip),
            TunnelAddr::V6(ip) => IpAddr::V6(ip),
        }
    }
}

/// What the data plane knows of a tunnel's next hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextHop {
    /// Known to the control thread, resolution in progress.
    Pending,
    /// Outer destination MAC of the tunnel `tunnel`.
    Resolved { mac: Mac, tunnel: TunnelId },
}

const RESOLVED: u64 = 1 << 63;
const MAC_MASK: u64 = (1 << 48) - 1;

/// A tunnel's state in one word: resolved bit, 15-bit incarnation (bumped
/// whenever the id gets a new address, so a worker's cached rewrite for an
/// id is never reused for another VTEP), next-hop MAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TunnelState(u64);

impl TunnelState {
    /// The next-hop MAC, once resolved.
    #[inline]
    pub fn mac(self) -> Option<Mac> {
        if self.0 & RESOLVED == 0 {
            return None;
        }
        let b = self.0.to_be_bytes();
        Some(Mac([b[2], b[3], b[4], b[5], b[6], b[7]]))
    }

    /// The raw word (a cache key: equal words mean the same rewrite).
    #[inline]
    pub fn word(self) -> u64 {
        self.0
    }

    fn incarnation(self) -> u64 {
        (self.0 >> 48) & 0x7fff
    }

    fn with_mac(incarnation: u64, mac: Option<Mac>) -> TunnelState {
        let inc = (incarnation & 0x7fff) << 48;
        TunnelState(mac.map_or(inc, |m| {
            let mut b = [0u8; 8];
            b[2..].copy_from_slice(&m.0);
            RESOLVED | inc | (u64::from_be_bytes(b) & MAC_MASK)
        }))
    }
}

/// One tunnel: written by the control thread only.
#[derive(Default)]
#[repr(align(64))]
struct Entry {
    /// Odd while the writer changes the address.
    seq: AtomicU32,
    /// Second the tunnel last carried an encapsulated frame.
    seen: AtomicU32,
    addr_hi: AtomicU64,
    addr_lo: AtomicU64,
    state: AtomicU64,
}

impl Entry {
    /// The address (0: free), read consistently.
    fn addr_bits(&self) -> u128 {
        loop {
            let s1 = self.seq.load(Acquire);
            let hi = self.addr_hi.load(Relaxed);
            let lo = self.addr_lo.load(Relaxed);
            fence(Acquire);
            if s1 & 1 == 0 && self.seq.load(Relaxed) == s1 {
                return (u128::from(hi) << 64) | u128::from(lo);
            }
            std::hint::spin_loop();
        }
    }
}

/// Readers' view of the tunnel index (workers, the management plane).
pub struct TunnelTable {
    by_addr: Arc<AtomicMap>,
    entries: Box<[Entry]>,
    /// Bumped on every release. The incarnation in a state word is 15 bits
    /// and wraps; a worker that sees this change drops every cached rewrite,
    /// so a rewrite cached before an id was reused 2^15 times is never
    /// taken for the VTEP that holds the id now.
    releases: AtomicU64,
}

impl TunnelTable {
    /// How many ids have been released so far (see the field).
    #[inline]
    pub fn releases(&self) -> u64 {
        self.releases.load(Acquire)
    }

    /// Number of tunnel ids.
    pub fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// The id of the tunnel to `addr`, if the control thread tracks it.
    #[inline]
    pub fn id(&self, addr: TunnelAddr) -> Option<TunnelId> {
        let hit = self.by_addr.get(addr.key())?;
        let id = TunnelId(hit.value as u16);
        self.holds(id, addr).then_some(id)
    }

    /// Whether tunnel `id` is the one to `addr` (to validate a cached id).
    #[inline]
    pub fn holds(&self, id: TunnelId, addr: TunnelAddr) -> bool {
        self.entries
            .get(id.index())
            .is_some_and(|e| e.addr_bits() == addr.bits())
    }

    /// The remote address of tunnel `id` (None: free).
    pub fn addr(&self, id: TunnelId) -> Option<TunnelAddr> {
        let bits = self.entries.get(id.index())?.addr_bits();
        (bits != 0).then(|| TunnelAddr::from_bits(bits))
    }

    /// Tunnel `id`'s state (one load; the hot path of encapsulation).
    #[inline]
    pub fn state(&self, id: TunnelId) -> TunnelState {
        self.entries
            .get(id.index())
            .map_or(TunnelState(0), |e| TunnelState(e.state.load(Acquire)))
    }

    /// Records that tunnel `id` carried a frame at second `now` (writes only
    /// when the second changed, so busy tunnels don't bounce cache lines).
    #[inline]
    pub fn touch(&self, id: TunnelId, now: u32) {
        if let Some(e) = self.entries.get(id.index()) {
            if e.seen.load(Relaxed) != now {
                e.seen.store(now, Relaxed);
            }
        }
    }

    /// Second tunnel `id` last carried a frame.
    pub fn seen(&self, id: TunnelId) -> u32 {
        self.entries
            .get(id.index())
            .map_or(0, |e| e.seen.load(Relaxed))
    }

    /// Looks an IPv4 VTEP up; None means the control thread has not heard of it.
    pub fn lookup(&self, addr: Ipv4Addr) -> Option<NextHop> {
        let id = self.id(addr.into())?;
        Some(match self.state(id).mac() {
            Some(mac) => NextHop::Resolved { mac, tunnel: id },
            None => NextHop::Pending,
        })
    }

    /// Every tunnel: (address, next hop, last-used second).
    pub fn entries(&self) -> impl Iterator<Item = (TunnelAddr, NextHop, u32)> + '_ {
        (0..self.entries.len()).filter_map(|i| {
            let id = TunnelId(i as u16);
            let addr = self.addr(id)?;
            let next_hop = match self.state(id).mac() {
                Some(mac) => NextHop::Resolved { mac, tunnel: id },
                None => NextHop::Pending,
            };
            Some((addr, next_hop, self.seen(id)))
        })
    }
}

/// Why a tunnel could not be interned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TunnelsFull;

/// The single writer of the tunnel index (the control thread).
pub struct TunnelWriter {
    table: Arc<TunnelTable>,
    map: MapWriter,
    /// Free ids, oldest-freed first, so a freed id is reused as late as possible.
    free: std::collections::VecDeque<u16>,
    /// MAC entries pointing at each id.
    refs: Vec<u32>,
    incarnations: Vec<u64>,
}

impl TunnelWriter {
    /// A table of `capacity` tunnel ids and its only writer.
    pub fn new(capacity: usize) -> (Arc<TunnelTable>, TunnelWriter) {
        let capacity = capacity.min(usize::from(u16::MAX));
        let (by_addr, map) = MapWriter::new(capacity * 2);
        let table = Arc::new(TunnelTable {
            by_addr,
            entries: (0..capacity).map(|_| Entry::default()).collect(),
            releases: AtomicU64::new(0),
        });
        let writer = TunnelWriter {
            table: table.clone(),
            map,
            free: (0..capacity as u16).collect(),
            refs: vec![0; capacity],
            incarnations: vec![0; capacity],
        };
        (table, writer)
    }

    /// The table being written.
    pub fn table(&self) -> &TunnelTable {
        &self.table
    }

    /// Tunnels in use.
    pub fn len(&self) -> usize {
        self.table.entries.len() - self.free.len()
    }

    /// Whether no tunnel is in use.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The id for `addr`, existing or new (new ones start pending).
    pub fn intern(&mut self, addr: TunnelAddr, now: u32) -> Result<TunnelId, TunnelsFull> {
        if let Some(id) = self.table.id(addr) {
            return Ok(id);
        }
        let i = self.free.pop_front().ok_or(TunnelsFull)?;
        let id = TunnelId(i);
        if self.map.insert(addr.key(), u64::from(i), now).is_err() {
            self.free.push_front(i);
            return Err(TunnelsFull);
        }
        let e = &self.table.entries[id.index()];
        let inc = self.incarnations[id.index()].wrapping_add(1);
        self.incarnations[id.index()] = inc;
        let bits = addr.bits();
        let s = e.seq.load(Relaxed);
        e.seq.store(s.wrapping_add(1), Relaxed);
        fence(Release);
        e.addr_hi.store((bits >> 64) as u64, Relaxed);
        e.addr_lo.store(bits as u64, Relaxed);
        e.state.store(TunnelState::with_mac(inc, None).0, Relaxed);
        e.seen.store(now, Relaxed);
        e.seq.store(s.wrapping_add(2), Release);
        Ok(id)
    }

    /// Sets tunnel `id`'s next-hop MAC (None: unresolved).
    pub fn set_mac(&mut self, id: TunnelId, mac: Option<Mac>) {
        let e = &self.table.entries[id.index()];
        let inc = TunnelState(e.state.load(Relaxed)).incarnation();
        e.state.store(TunnelState::with_mac(inc, mac).0, Release);
    }

    /// A MAC entry now points at `id`.
    pub fn add_ref(&mut self, id: TunnelId) {
        self.refs[id.index()] += 1;
    }

    /// A MAC entry no longer points at `id`.
    pub fn drop_ref(&mut self, id: TunnelId) {
        let r = &mut self.refs[id.index()];
        *r = r.saturating_sub(1);
    }

    /// MAC entries pointing at `id`.
    pub fn refs(&self, id: TunnelId) -> u32 {
        self.refs[id.index()]
    }

    /// Forgets tunnel `id` unless a MAC entry still points at it; true if
    /// it was forgotten.
    pub fn release(&mut self, id: TunnelId) -> bool {
        let Some(addr) = self.table.addr(id) else {
            return false;
        };
        if self.refs[id.index()] > 0 {
            return false;
        }
        self.map.remove(addr.key());
        let e = &self.table.entries[id.index()];
        let s = e.seq.load(Relaxed);
        e.seq.store(s.wrapping_add(1), Relaxed);
        fence(Release);
        e.state.store(0, Relaxed);
        e.addr_hi.store(0, Relaxed);
        e.addr_lo.store(0, Relaxed);
        e.seq.store(s.wrapping_add(2), Release);
        self.table.releases.fetch_add(1, Release);
        self.free.push_back(id.0);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

    #[test]
    fn intern_is_idempotent_and_dense() {
        let (t, mut w) = TunnelWriter::new(8);
        let a = w.intern(A.into(), 1).unwrap();
        let b = w.intern(B.into(), 1).unwrap();
        assert_eq!((a.index(), b.index()), (0, 1));
        assert_eq!(w.intern(A.into(), 2), Ok(a));
        assert_eq!(t.id(A.into()), Some(a));
        assert_eq!(t.addr(b), Some(TunnelAddr::V4(B)));
        assert_eq!(w.len(), 2);
    }

    #[test]
    fn pending_then_resolved_then_unresolved() {
        let (t, mut w) = TunnelWriter::new(8);
        assert_eq!(t.lookup(A), None);
        let id = w.intern(A.into(), 0).unwrap();
        assert_eq!(t.lookup(A), Some(NextHop::Pending));
        let mac = Mac([2, 0, 0, 0, 0, 9]);
        w.set_mac(id, Some(mac));
        assert_eq!(t.lookup(A), Some(NextHop::Resolved { mac, tunnel: id }));
        assert_eq!(t.state(id).mac(), Some(mac));
        let all: Vec<_> = t.entries().collect();
        assert_eq!(
            all,
            vec![(TunnelAddr::V4(A), NextHop::Resolved { mac, tunnel: id }, 0)]
        );
        w.set_mac(id, None);
        assert_eq!(t.lookup(A), Some(NextHop::Pending));
    }

    #[test]
    fn referenced_ids_are_kept_and_freed_ids_are_reused_last() {
        let (t, mut w) = TunnelWriter::new(3);
        let a = w.intern(A.into(), 0).unwrap();
        w.add_ref(a);
        assert!(!w.release(a), "a MAC entry points at it");
        w.drop_ref(a);
        let before = t.state(a);
        assert!(w.release(a));
        assert_eq!((t.id(A.into()), t.addr(a)), (None, None));
        // The next two ids come first; the freed one is handed out last.
        let b = w.intern(B.into(), 0).unwrap();
        let c = w.intern(Ipv4Addr::new(192, 0, 2, 3).into(), 0).unwrap();
        let d = w.intern(Ipv4Addr::new(192, 0, 2, 4).into(), 0).unwrap();
        assert_ne!(b, a);
        assert_ne!(c, a);
        assert_eq!(d, a);
        assert_ne!(t.state(d).word(), before.word(), "new incarnation");
        assert_eq!(
            w.intern(Ipv4Addr::new(192, 0, 2, 5).into(), 0),
            Err(TunnelsFull)
        );
    }

    #[test]
    fn ipv6_tunnels_have_ids_too() {
        let (t, mut w) = TunnelWriter::new(4);
        let v6 = TunnelAddr::V6("2001:db8::1".parse().unwrap());
        let id = w.intern(v6, 0).unwrap();
        assert_eq!(t.id(v6), Some(id));
        assert_eq!(t.addr(id), Some(v6));
        assert_eq!(t.id(TunnelAddr::V6("2001:db8::2".parse().unwrap())), None);
        assert_eq!(v6.to_string(), "2001:db8::1");
    }
}
