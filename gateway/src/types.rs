//! Typed values the data plane passes around, so a VNI, a VNI slot, a port
//! index and a MAC address cannot be mixed up with each other or with plain
//! integers. All are `Copy` and `#[repr(transparent)]`: they cost what the
//! bare integer costs on the packet path.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;

/// A VXLAN network identifier: 24 bits, never 0 (config refuses 0, and a
/// header carrying 0 matches no VNI). Being `NonZeroU32`, `Option<Vni>` is
/// as small as a `u32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(transparent)]
pub struct Vni(NonZeroU32);

impl Vni {
    /// The largest VNI (24 bits).
    pub const MAX: u32 = 0xff_ffff;

    /// `vni` if it is in 1..=[`Vni::MAX`].
    #[inline]
    pub const fn new(vni: u32) -> Option<Vni> {
        // One compare on the packet path: 0 wraps to u32::MAX.
        if vni.wrapping_sub(1) >= Self::MAX {
            return None;
        }
        match NonZeroU32::new(vni) {
            Some(v) => Some(Vni(v)),
            None => None,
        }
    }

    /// The VNI as a number.
    #[inline]
    pub const fn get(self) -> u32 {
        self.0.get()
    }
}

impl fmt::Display for Vni {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A newtype for a dense array index: `index()`, `usize::from` and the
/// number as Display.
macro_rules! dense_index {
    ($(#[$doc:meta])* $name:ident($int:ty)) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(transparent)]
        pub struct $name(pub $int);

        impl $name {
            /// As an array index.
            #[inline]
            pub const fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl From<$name> for usize {
            #[inline]
            fn from(v: $name) -> usize {
                v.index()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

dense_index! {
    /// The dense index a configured VNI holds in a snapshot: its MAC table
    /// keys, its counters and [`crate::snapshot::Snapshot::vni`] use it. A
    /// VNI keeps its slot across config changes.
    VniSlot(u16)
}

dense_index! {
    /// The data plane's index of a port: 0 is the underlay
    /// ([`crate::snapshot::UNDERLAY_PORT`]), then the physical ports in
    /// config order.
    PortId(u8)
}

/// An Ethernet MAC address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(transparent)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: Mac = Mac([0xff; 6]);
    /// `00:00:00:00:00:00`, which no host may use as its source.
    pub const ZERO: Mac = Mac([0; 6]);

    /// The raw bytes.
    #[inline]
    pub const fn bytes(self) -> [u8; 6] {
        self.0
    }

    /// A group address (I/G bit set); broadcast is one too.
    #[inline]
    pub const fn is_multicast(self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// All zeros.
    #[inline]
    pub fn is_zero(self) -> bool {
        self == Self::ZERO
    }

    /// All ones.
    #[inline]
    pub fn is_broadcast(self) -> bool {
        self == Self::BROADCAST
    }
}

impl From<[u8; 6]> for Mac {
    #[inline]
    fn from(b: [u8; 6]) -> Mac {
        Mac(b)
    }
}

impl From<Mac> for [u8; 6] {
    #[inline]
    fn from(m: Mac) -> [u8; 6] {
        m.0
    }
}

/// So a `Mac` compares with a raw address (a table's bytes, a constant).
impl PartialEq<[u8; 6]> for Mac {
    #[inline]
    fn eq(&self, other: &[u8; 6]) -> bool {
        self.0 == *other
    }
}

impl PartialEq<Mac> for [u8; 6] {
    #[inline]
    fn eq(&self, other: &Mac) -> bool {
        *self == other.0
    }
}

/// So a frame's bytes compare with a `Mac`.
impl PartialEq<Mac> for [u8] {
    #[inline]
    fn eq(&self, other: &Mac) -> bool {
        *self == other.0
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// Why a string is not a MAC address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacParseError;

impl fmt::Display for MacParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("expected six colon-separated hex bytes (aa:bb:cc:dd:ee:ff)")
    }
}

impl std::error::Error for MacParseError {}

impl FromStr for Mac {
    type Err = MacParseError;

    /// Six colon-separated two-digit hex bytes, either case.
    fn from_str(s: &str) -> Result<Mac, MacParseError> {
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for byte in &mut out {
            let p = parts.next().ok_or(MacParseError)?;
            if p.len() != 2 || !p.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(MacParseError);
            }
            *byte = u8::from_str_radix(p, 16).map_err(|_| MacParseError)?;
        }
        match parts.next() {
            None => Ok(Mac(out)),
            Some(_) => Err(MacParseError),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vni_bounds() {
        assert_eq!(Vni::new(0), None);
        assert_eq!(Vni::new(1).map(Vni::get), Some(1));
        assert_eq!(Vni::new(0xff_ffff).map(Vni::get), Some(0xff_ffff));
        assert_eq!(Vni::new(1 << 24), None);
        assert_eq!(Vni::new(u32::MAX), None);
        assert_eq!(Vni::new(100).unwrap().to_string(), "100");
        assert_eq!(size_of::<Option<Vni>>(), size_of::<u32>());
    }

    #[test]
    fn slot_and_port_index() {
        assert_eq!(VniSlot(7).index(), 7);
        assert_eq!(PortId(3).index(), 3);
        assert_eq!(VniSlot(7).to_string(), "7");
    }

    #[test]
    fn mac_predicates() {
        assert!(Mac::BROADCAST.is_multicast() && Mac::BROADCAST.is_broadcast());
        assert!(Mac([0x01, 0x00, 0x5e, 0, 0, 1]).is_multicast());
        assert!(Mac([0x33, 0x33, 0, 0, 0, 1]).is_multicast());
        let host = Mac([0x02, 0x42, 0xac, 0x11, 0, 2]);
        assert!(!host.is_multicast() && !host.is_zero() && !host.is_broadcast());
        assert!(Mac::ZERO.is_zero() && !Mac::ZERO.is_multicast());
        assert!(!Mac([0x01, 0x00, 0x5e, 0, 0, 1]).is_broadcast());
    }

    #[test]
    fn mac_text() {
        let m = Mac([0x02, 0x42, 0xAC, 0x11, 0x00, 0x0f]);
        assert_eq!(m.to_string(), "02:42:ac:11:00:0f");
        assert_eq!("02:42:ac:11:00:0f".parse(), Ok(m));
        assert_eq!("02:42:AC:11:00:0F".parse(), Ok(m));
        for bad in [
            "",
            "02:42:ac:11:00",
            "02:42:ac:11:00:0f:00",
            "02:42:ac:11:00:f",
            "02:42:ac:11:00:0g",
            "02-42-ac-11-00-0f",
            "02:42:ac:11:00:+f",
            "02:42:ac:11::0f",
        ] {
            assert_eq!(bad.parse::<Mac>(), Err(MacParseError), "{bad:?}");
        }
    }
}
