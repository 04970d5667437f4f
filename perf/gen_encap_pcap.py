#!/usr/bin/python3
"""Writes the captures for the encap benchmark.

usage: gen_encap_pcap.py frames OUT.pcap OUTER_FRAME_BYTES [--count N]
                         [--flows F] [--macs M] [--dst MAC]
       gen_encap_pcap.py arp-reply OUT.pcap GATEWAY_MAC [--vteps N]

frames: VLAN-10-tagged Ethernet/IPv4/UDP frames for the physical port, all
to the static MAC 02:00:00:04:00:01 (which the benchmark config puts behind
the remote VTEP 192.0.2.1 in VNI 100), or to --dst (the flood case sends
broadcasts: ff:ff:ff:ff:ff:ff). F distinct UDP flows (default 256)
from M source MACs (default 16). OUTER_FRAME_BYTES is the size of the VXLAN
frame the gateway should send for each (without FCS, minimum 110): the
input frame is 46 bytes shorter (the gateway strips the 4-byte tag and adds
50 bytes of outer headers). Frame i carries i in the first two bytes of its
UDP payload, so a checker can tell which input frame an output came from.

arp-reply: one ARP reply from the remote VTEP (192.0.2.1 is at
02:00:00:00:0a:01) to the gateway's underlay port (GATEWAY_MAC, 192.0.2.10).
Replayed once on the underlay it resolves the VTEP's MAC. With --vteps N,
one reply from each of 192.0.2.1..N (at 02:00:00:00:0a:01..N).

Fixed timestamps: reruns write identical files.
"""
import argparse
import re
import struct

from scapy.all import ARP, Dot1Q, Ether, IP, UDP, Raw, wrpcap

VTEP_IP, VTEP_MAC = "192.0.2.1", "02:00:00:00:0a:01"
GW_IP = "192.0.2.10"
STATIC_MAC = "02:00:00:04:00:01"
VLAN = 10
ENCAP = 50 - 4  # outer headers added, VLAN tag removed
HDRS = 14 + 4 + 20 + 8  # Ethernet, 802.1Q, IPv4, UDP


def vtep(k):
    """The k-th remote VTEP (0-based): IP and MAC."""
    return "192.0.2.%d" % (k + 1), "02:00:00:00:0a:%02x" % (k + 1)


def frame(i, size, flows, macs, dst=STATIC_MAC):
    """Input frame i (VLAN-tagged) for an outer frame of `size` bytes."""
    flow = i % flows
    payload = struct.pack("!H", i) + b"\x00" * (size - ENCAP - HDRS - 2)
    return (Ether(src="02:00:00:03:00:%02x" % (flow % macs), dst=dst)
            / Dot1Q(vlan=VLAN)
            / IP(src="203.0.113.%d" % (1 + flow % 100), dst="203.0.113.200")
            / UDP(sport=10000 + flow, dport=7000)
            / Raw(payload))


def mac_arg(s):
    if not re.fullmatch(r"([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}", s):
        raise argparse.ArgumentTypeError(f"not a MAC address: {s}")
    return s.lower()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("frames")
    f.add_argument("out")
    f.add_argument("size", type=int, help="outer (VXLAN) frame bytes, without FCS")
    f.add_argument("--count", type=int, default=1024)
    f.add_argument("--flows", type=int, default=256)
    f.add_argument("--macs", type=int, default=16)
    f.add_argument("--dst", type=mac_arg, default=STATIC_MAC)
    a = sub.add_parser("arp-reply")
    a.add_argument("out")
    a.add_argument("gw_mac", type=mac_arg)
    a.add_argument("--vteps", type=int, default=1)
    args = ap.parse_args()

    if args.cmd == "arp-reply":
        replies = []
        for k in range(args.vteps):
            ip, mac = vtep(k)
            p = (Ether(src=mac, dst=args.gw_mac)
                 / ARP(op=2, hwsrc=mac, psrc=ip, hwdst=args.gw_mac, pdst=GW_IP))
            p.time = k * 1e-6
            replies.append(p)
        wrpcap(args.out, replies)
        return

    if args.size < ENCAP + HDRS + 18 or args.size > 1514:
        ap.error(f"outer frame must be {ENCAP + HDRS + 18}..1514 bytes")
    if not 1 <= args.macs <= 256 or not 1 <= args.flows <= 16384:
        ap.error("--macs must be 1..256 and --flows 1..16384")
    if not 1 <= args.count <= 65536:
        ap.error("--count must be 1..65536")
    frames = []
    for i in range(args.count):
        p = frame(i, args.size, args.flows, args.macs, args.dst)
        p.time = i * 1e-6
        assert len(p) == args.size - ENCAP, (len(p), args.size)
        frames.append(p)
    wrpcap(args.out, frames)


if __name__ == "__main__":
    main()
