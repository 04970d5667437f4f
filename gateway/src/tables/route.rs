//! Per-VRF longest-prefix-match routes for the L3 gateway (issue 10).
//!
//! The control side builds a [`RouteTable`] from a validated config
//! ([`RouteTable::from_config`]) and publishes it whole, as it does the
//! [`Snapshot`](crate::snapshot::Snapshot): a table is never changed after
//! it is built, so workers read it through a shared reference with no
//! lock, no atomic and no epoch; a config change builds a new one.
//!
//! The LPM structure is `prefix-trie`'s `PrefixMap`, a tree bitmap
//! (Eatherton et al.) since 0.9: lookups walk 5-bit strides of the
//! address, so at most 7 node visits for IPv4, with memory growing with
//! the prefixes rather than the 32 MiB per VRF of a DIR-24-8 (many VRFs
//! are the point of VRFs). It is maintained, dual MIT/Apache licensed,
//! takes plain `(u32, u8)` / `(u128, u8)` keys (no address crate needed)
//! and `get_lpm` takes `&self`, which is what an immutable, shared table
//! needs. Figures: `perf/README.md`, "Route lookup".

mod build;

pub use build::{interfaces, vrf_names, L3Iface};
use prefix_trie::{Prefix, PrefixMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A VRF by number: `default` is 0, then `[[vrf]]` in config order.
pub type VrfId = u16;
/// An L3 interface by number: the VNIs' gateway interfaces in `[[vni]]`
/// order, then the routed `[[interface]]`s in theirs.
pub type IfaceId = u16;

/// Where a routed packet goes next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextHop {
    /// The destination is on `iface`'s link: resolve the destination itself.
    Connected { iface: IfaceId },
    /// Forward to the neighbour `addr` on `iface`.
    Via { addr: IpAddr, iface: IfaceId },
}

impl NextHop {
    /// The interface the packet leaves by.
    pub fn iface(&self) -> IfaceId {
        match *self {
            NextHop::Connected { iface } | NextHop::Via { iface, .. } => iface,
        }
    }

    /// The neighbour to resolve for a packet to `dst`.
    pub fn neighbour(&self, dst: IpAddr) -> IpAddr {
        match *self {
            NextHop::Connected { .. } => dst,
            NextHop::Via { addr, .. } => addr,
        }
    }
}

/// A route destination: an address and a prefix length of its family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpPrefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl IpPrefix {
    pub fn v4(addr: Ipv4Addr, len: u8) -> IpPrefix {
        IpPrefix {
            addr: IpAddr::V4(addr),
            len,
        }
    }
}

/// Why a route was not added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteError {
    /// The VRF id is not below the table's VRF count.
    UnknownVrf(VrfId),
    /// The length is beyond the family's width.
    BadLength(IpPrefix),
    /// The VRF already has a route to this prefix (the first one stays).
    Duplicate(IpPrefix),
}

/// One VRF's routes, one map per address family.
#[derive(Clone, Debug, Default)]
struct VrfRoutes {
    v4: PrefixMap<(u32, u8), NextHop>,
    v6: PrefixMap<(u128, u8), NextHop>,
}

/// Every VRF's routes, indexed by [`VrfId`]; immutable once built.
#[derive(Clone, Debug)]
pub struct RouteTable {
    vrfs: Vec<VrfRoutes>,
}

// Workers share one table across threads by reference.
const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<RouteTable>();
};

impl RouteTable {
    /// A table with `vrfs` empty VRFs, to fill with [`RouteTable::insert`]
    /// before it is published.
    pub fn new(vrfs: usize) -> RouteTable {
        RouteTable {
            vrfs: vec![VrfRoutes::default(); vrfs],
        }
    }

    /// Number of VRFs.
    pub fn vrfs(&self) -> usize {
        self.vrfs.len()
    }

    /// Routes in `vrf`, both families.
    pub fn len(&self, vrf: VrfId) -> usize {
        self.vrfs
            .get(usize::from(vrf))
            .map_or(0, |v| v.v4.len() + v.v6.len())
    }

    /// Adds a route; host bits of `prefix` are ignored.
    pub fn insert(&mut self, vrf: VrfId, prefix: IpPrefix, hop: NextHop) -> Result<(), RouteError> {
        let routes = self
            .vrfs
            .get_mut(usize::from(vrf))
            .ok_or(RouteError::UnknownVrf(vrf))?;
        let fresh = match prefix.addr {
            IpAddr::V4(a) if prefix.len <= 32 => add(&mut routes.v4, (a.into(), prefix.len), hop),
            IpAddr::V6(a) if prefix.len <= 128 => add(&mut routes.v6, (a.into(), prefix.len), hop),
            _ => return Err(RouteError::BadLength(prefix)),
        };
        if fresh {
            Ok(())
        } else {
            Err(RouteError::Duplicate(prefix))
        }
    }

    /// The longest-prefix match for `dst` in `vrf` (the data-plane path).
    #[inline]
    pub fn lookup_v4(&self, vrf: VrfId, dst: Ipv4Addr) -> Option<NextHop> {
        lpm(&self.vrfs.get(usize::from(vrf))?.v4, dst.into())
    }

    #[inline]
    pub fn lookup_v6(&self, vrf: VrfId, dst: Ipv6Addr) -> Option<NextHop> {
        lpm(&self.vrfs.get(usize::from(vrf))?.v6, dst.into())
    }

    /// `vrf`'s IPv4 routes, host bits cleared, in prefix order (address,
    /// then length); none for an unknown VRF. For the management plane's
    /// listings: it walks the whole map, never on the packet path.
    pub fn routes_v4(&self, vrf: VrfId) -> Vec<(IpPrefix, NextHop)> {
        let Some(routes) = self.vrfs.get(usize::from(vrf)) else {
            return Vec::new();
        };
        let mut out: Vec<(IpPrefix, NextHop)> = routes
            .v4
            .iter()
            .map(|((addr, len), &hop)| {
                let net = addr & vtepgw_config::prefix_mask(len);
                (IpPrefix::v4(Ipv4Addr::from(net), len), hop)
            })
            .collect();
        out.sort_by_key(|(p, _)| (p.addr, p.len));
        out
    }

    pub fn lookup(&self, vrf: VrfId, dst: IpAddr) -> Option<NextHop> {
        match dst {
            IpAddr::V4(a) => self.lookup_v4(vrf, a),
            IpAddr::V6(a) => self.lookup_v6(vrf, a),
        }
    }
}

/// Adds `hop` at `key` unless the prefix has a route; whether it was added.
fn add<R>(map: &mut PrefixMap<(R, u8), NextHop>, key: (R, u8), hop: NextHop) -> bool
where
    (R, u8): Prefix,
{
    if map.get(&key).is_some() {
        return false;
    }
    map.insert(key, hop);
    true
}

/// The route of the longest prefix covering `addr`.
#[inline]
fn lpm<R>(map: &PrefixMap<(R, u8), NextHop>, addr: R) -> Option<NextHop>
where
    (R, u8): Prefix,
{
    let host = <(R, u8)>::num_bits() as u8;
    map.get_lpm(&(addr, host)).map(|(_, hop)| *hop)
}

#[cfg(test)]
mod tests;
