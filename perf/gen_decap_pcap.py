#!/usr/bin/python3
"""Writes a capture of VXLAN frames for the decap benchmark.

usage: gen_decap_pcap.py OUT.pcap GATEWAY_MAC OUTER_FRAME_BYTES [COUNT]
256 inner UDP flows from 16 inner source MACs, VNI 100, to 192.0.2.10:4789.
"""
import sys
from scapy.all import Ether, IP, UDP, VXLAN, Raw, wrpcap

out, gw_mac, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
count = int(sys.argv[4]) if len(sys.argv) > 4 else 1024
pad = size - 50 - 42  # outer headers 50, inner Ethernet+IPv4+UDP 42
assert pad >= 0, "outer frame too small"
frames = []
for i in range(count):
    flow = i % 256
    inner = (Ether(src="02:00:00:01:00:%02x" % (flow % 16), dst="02:00:00:02:00:01")
             / IP(src="203.0.113.%d" % (1 + flow % 100), dst="203.0.113.200")
             / UDP(sport=10000 + flow, dport=7000) / Raw(b"\x00" * pad))
    frames.append(Ether(src="02:00:00:00:0a:01", dst=gw_mac)
                  / IP(src="192.0.2.1", dst="192.0.2.10", flags="DF", ttl=64)
                  / UDP(sport=49152 + flow, dport=4789, chksum=0)
                  / VXLAN(flags=0x08, vni=100) / inner)
wrpcap(out, frames)
