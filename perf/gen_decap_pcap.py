#!/usr/bin/python3
"""Writes a capture of VXLAN frames for the decap benchmark.

usage: gen_decap_pcap.py OUT.pcap GATEWAY_MAC OUTER_FRAME_BYTES [--count N]
                         [--flows F] [--macs M]

Every frame is addressed to the gateway's underlay port (GATEWAY_MAC,
192.0.2.10, UDP 4789, DF set, valid IPv4 checksum, UDP checksum 0) and
carries VXLAN flags 0x08, VNI 100, and an untagged inner Ethernet/IPv4/UDP
frame. The inner frames are F distinct UDP flows (default 256) from M
inner source MACs (default 16) to one unknown destination MAC; the outer
UDP source port follows the inner flow, as a real VTEP's hash would.
OUTER_FRAME_BYTES is the outer frame without FCS (minimum 110: 50 bytes of
outer headers plus a 60-byte inner frame). The output does not depend on
the time of day (fixed timestamps), so reruns write identical files.
"""
import argparse
import re

from scapy.all import Ether, IP, UDP, VXLAN, Raw, wrpcap

OUTER = 14 + 20 + 8 + 8  # Ethernet, IPv4, UDP, VXLAN
INNER_HDRS = 14 + 20 + 8  # inner Ethernet, IPv4, UDP


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("gw_mac")
    ap.add_argument("size", type=int, help="outer frame bytes, without FCS")
    ap.add_argument("--count", type=int, default=1024)
    ap.add_argument("--flows", type=int, default=256)
    ap.add_argument("--macs", type=int, default=16)
    a = ap.parse_args()
    if not re.fullmatch(r"([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}", a.gw_mac):
        ap.error(f"not a MAC address: {a.gw_mac}")
    if a.size < OUTER + 60:
        ap.error(f"outer frame must be at least {OUTER + 60} bytes")
    if not 1 <= a.macs <= 256 or not 1 <= a.flows <= 16384:
        ap.error("--macs must be 1..256 and --flows 1..16384")
    pad = a.size - OUTER - INNER_HDRS

    frames = []
    for i in range(a.count):
        flow = i % a.flows
        inner = (Ether(src="02:00:00:01:00:%02x" % (flow % a.macs), dst="02:00:00:02:00:01")
                 / IP(src="203.0.113.%d" % (1 + flow % 100), dst="203.0.113.200")
                 / UDP(sport=10000 + flow, dport=7000)
                 / Raw(b"\x00" * pad))
        f = (Ether(src="02:00:00:00:0a:01", dst=a.gw_mac)
             / IP(src="192.0.2.1", dst="192.0.2.10", flags="DF", ttl=64)
             / UDP(sport=49152 + flow % 16384, dport=4789, chksum=0)
             / VXLAN(flags=0x08, vni=100)
             / inner)
        f.time = i * 1e-6
        assert len(f) == a.size, (len(f), a.size)
        frames.append(f)
    wrpcap(a.out, frames)


if __name__ == "__main__":
    main()
