//! VXLAN encapsulation (RFC 7348 section 5) over an IPv4 underlay.

use crate::wire::{
    ethernet::{EthernetFrame, ETHERTYPE_IPV4},
    ipv4::{write_ipv4_header, PROTO_UDP},
    udp::write_udp_header,
    vxlan::write_vxlan_header,
    MacBytes,
};
use std::net::Ipv4Addr;

/// Bytes VXLAN adds in front of the inner frame: Ethernet 14, IPv4 20, UDP 8, VXLAN 8.
pub const ENCAP_LEN: usize = 50;

/// Bytes the outer IPv4 packet adds to the inner frame (what the underlay MTU must hold).
pub const OUTER_IP_OVERHEAD: usize = 36;

/// The outer headers of one encapsulated frame.
#[derive(Clone, Copy, Debug)]
pub struct Outer {
    pub src_mac: MacBytes,
    pub dst_mac: MacBytes,
    pub src_ip: Ipv4Addr,
    pub dst_ip: Ipv4Addr,
    pub src_port: u16,
    pub dst_port: u16,
    pub ttl: u8,
    pub ident: u16,
    pub vni: u32,
}

/// Writes the outer headers into the first [`ENCAP_LEN`] bytes of `frame`,
/// which holds them followed by the inner frame. DF is set and the UDP
/// checksum is zero (allowed for IPv4, RFC 7348 section 5).
pub fn write_outer(frame: &mut [u8], h: &Outer) {
    let inner_len = frame.len() - ENCAP_LEN;
    let mut eth = EthernetFrame::new_unchecked(&mut frame[..14]);
    eth.set_dst(h.dst_mac);
    eth.set_src(h.src_mac);
    eth.set_ethertype(ETHERTYPE_IPV4);
    write_ipv4_header(
        &mut frame[14..34],
        h.src_ip,
        h.dst_ip,
        PROTO_UDP,
        h.ttl,
        true,
        h.ident,
        8 + 8 + inner_len,
    );
    write_udp_header(&mut frame[34..42], h.src_port, h.dst_port, 8 + inner_len);
    write_vxlan_header(&mut frame[42..50], h.vni);
}
