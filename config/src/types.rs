//! Small value types that appear in the config file as strings:
//! `"192.0.2.10/24"`, `"49152-65535"`, `"02:00:00:00:00:01"`.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An IPv4 address with its prefix length, written `addr/len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ipv4Cidr {
    pub addr: Ipv4Addr,
    pub prefix_len: u8,
}

impl Ipv4Cidr {
    /// The network mask as a host-order integer.
    pub fn mask(&self) -> u32 {
        match self.prefix_len {
            0 => 0,
            n => u32::MAX << (32 - u32::from(n.min(32))),
        }
    }

    /// Whether `ip` is in the same subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & self.mask() == u32::from(self.addr) & self.mask()
    }

    /// "network" or "broadcast" when `ip` is that address of this subnet
    /// (only subnets of /30 and larger have them; /31 and /32 do not).
    pub fn reserved_role(&self, ip: Ipv4Addr) -> Option<&'static str> {
        if self.prefix_len > 30 || !self.contains(ip) {
            return None;
        }
        let host = u32::from(ip) & !self.mask();
        match host {
            0 => Some("network"),
            h if h == !self.mask() => Some("broadcast"),
            _ => None,
        }
    }
}

/// Splits `ADDRESS/LENGTH` (`form` names it in errors, e.g.
/// `ADDRESS/PREFIX, e.g. "192.0.2.10/24"`), with a length of `min` to 32.
pub(crate) fn parse_addr_len(s: &str, form: &str, min: u8) -> Result<(Ipv4Addr, u8), String> {
    let (addr, len) = s
        .split_once('/')
        .ok_or_else(|| format!("\"{s}\" is not {form}"))?;
    let addr = addr
        .parse()
        .map_err(|_| format!("\"{addr}\" is not an IPv4 address"))?;
    let len = len
        .parse()
        .ok()
        .filter(|n| (min..=32).contains(n))
        .ok_or_else(|| format!("prefix length \"{len}\" is not between {min} and 32"))?;
    Ok((addr, len))
}

impl FromStr for Ipv4Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (addr, prefix_len) = parse_addr_len(s, "ADDRESS/PREFIX, e.g. \"192.0.2.10/24\"", 1)?;
        Ok(Ipv4Cidr { addr, prefix_len })
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

impl TryFrom<String> for Ipv4Cidr {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<Ipv4Cidr> for String {
    fn from(c: Ipv4Cidr) -> String {
        c.to_string()
    }
}

/// An inclusive range of UDP ports, written `min-max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PortRange {
    pub min: u16,
    pub max: u16,
}

impl Default for PortRange {
    /// The IANA dynamic range, as RFC 7348 recommends.
    fn default() -> Self {
        PortRange {
            min: 49152,
            max: 65535,
        }
    }
}

impl FromStr for PortRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (min, max) = s
            .split_once('-')
            .ok_or_else(|| format!("\"{s}\" is not MIN-MAX, e.g. \"49152-65535\""))?;
        let port = |p: &str| {
            p.trim()
                .parse::<u16>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("\"{p}\" is not a UDP port between 1 and 65535"))
        };
        let (min, max) = (port(min)?, port(max)?);
        if min > max {
            return Err(format!(
                "range {min}-{max} is empty (minimum above maximum)"
            ));
        }
        Ok(PortRange { min, max })
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.min, self.max)
    }
}

impl TryFrom<String> for PortRange {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<PortRange> for String {
    fn from(r: PortRange) -> String {
        r.to_string()
    }
}

/// An Ethernet MAC address, written `02:00:00:00:00:01`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }

    pub fn is_zero(&self) -> bool {
        self.0 == [0; 6]
    }
}

impl FromStr for MacAddr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("\"{s}\" is not a MAC address like 02:00:00:00:00:01");
        let mut mac = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for byte in &mut mac {
            let part = parts.next().filter(|p| p.len() == 2).ok_or_else(bad)?;
            *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(MacAddr(mac))
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl TryFrom<String> for MacAddr {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<MacAddr> for String {
    fn from(m: MacAddr) -> String {
        m.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parses_and_matches_subnet() {
        let c: Ipv4Cidr = "192.0.2.10/24".parse().unwrap();
        assert_eq!(c.addr, Ipv4Addr::new(192, 0, 2, 10));
        assert!(c.contains(Ipv4Addr::new(192, 0, 2, 1)));
        assert!(!c.contains(Ipv4Addr::new(192, 0, 3, 1)));
        assert_eq!(c.to_string(), "192.0.2.10/24");
        assert!("192.0.2.10".parse::<Ipv4Cidr>().is_err());
        assert!("192.0.2.10/33".parse::<Ipv4Cidr>().is_err());
        assert!("192.0.2.300/24".parse::<Ipv4Cidr>().is_err());
    }

    #[test]
    fn port_range_rejects_empty_and_zero() {
        assert_eq!(
            "1000-2000".parse::<PortRange>().unwrap(),
            PortRange {
                min: 1000,
                max: 2000
            }
        );
        assert!("2000-1000".parse::<PortRange>().is_err());
        assert!("0-10".parse::<PortRange>().is_err());
        assert!("10-70000".parse::<PortRange>().is_err());
        assert!("10".parse::<PortRange>().is_err());
    }

    #[test]
    fn mac_round_trips() {
        let m: MacAddr = "02:00:0a:FF:00:01".parse().unwrap();
        assert_eq!(m.0, [2, 0, 0x0a, 0xff, 0, 1]);
        assert_eq!(m.to_string(), "02:00:0a:ff:00:01");
        assert!("02:00:0a:ff:00".parse::<MacAddr>().is_err());
        assert!("02:00:0a:ff:00:01:02".parse::<MacAddr>().is_err());
        assert!("02:00:0a:ff:00:zz".parse::<MacAddr>().is_err());
        assert!("01:00:5e:00:00:01"
            .parse::<MacAddr>()
            .unwrap()
            .is_multicast());
    }
}
