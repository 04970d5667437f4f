#!/usr/bin/python3
"""Config and captures for the scale case: many static MACs in many VNIs.

usage: gen_scale.py config OUT.toml MACS [--vnis V]
       gen_scale.py frames OUT.pcap GATEWAY_MAC MACS TOUCH [--vnis V] [--count N]
       gen_scale.py check OUT.pcap... --macs MACS --touch TOUCH [--vnis V] [--count N]

config: the [[port]] and [[vni]] part of a gateway config. V VNIs
(default 4096), 10000..10000+V-1; VNI 10000+j is VLAN j%2048+1 on phys0 for
j < 2048 and on phys1 for the rest, so every VNI has one local port. MACS
static MACs, spread evenly over the VNIs (MAC number k is
02:00:00:kk:kk:kk in VNI 10000 + k % V), all behind the VTEP 192.0.2.1.

frames: N (default 65536) VXLAN frames of 110 bytes from 192.0.2.1 to the
gateway (GATEWAY_MAC, 192.0.2.10), written without scapy (fast). Frame i
carries, in the VNI of its inner source MAC, an inner frame from static
MAC number k(i) to an unknown MAC (so the gateway floods it to the VNI's
local port). TOUCH distinct MACs are used, as evenly spread over all MACS
as possible (k(i) = (i % TOUCH) * (MACS // TOUCH), then shuffled by a fixed
permutation so that consecutive frames are far apart in the table).

check: the gateway's output for one replay of those frames (phys0 and
phys1 captures concatenated by the caller, or one file each): every frame
must carry the VLAN of its inner source MAC's VNI, the inner frame of the
input, 64 bytes; the count must be N.
"""
import argparse
import random
import struct
import sys

VTEP_IP, VTEP_MAC = bytes([192, 0, 2, 1]), bytes.fromhex("020000000a01")
GW_IP = bytes([192, 0, 2, 10])
UNKNOWN = bytes.fromhex("060000000001")  # outside 02:00:00:xx:xx:xx, the static MACs
BASE_VNI = 10000


def mac(k):
    return bytes([2, 0, 0, (k >> 16) & 255, (k >> 8) & 255, k & 255])


def vni_of(k, vnis):
    return BASE_VNI + k % vnis


def vlan_of(vni):
    j = vni - BASE_VNI
    return (j % 2048) + 1, (0 if j < 2048 else 1)


def csum(h):
    s = sum(struct.unpack("!%dH" % (len(h) // 2), h))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ipv4_udp(src, dst, sport, dport, payload):
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + len(payload), 0, 0x4000, 64, 17, 0, src, dst))
    ip[10:12] = struct.pack("!H", csum(bytes(ip)))
    return bytes(ip) + struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def macs_touched(a):
    step = max(1, a.macs // a.touch)
    ks = [(j * step) % a.macs for j in range(a.touch)]
    random.Random(1).shuffle(ks)
    return ks


def inner(i, k):
    ip = ipv4_udp(bytes([203, 0, 113, 1 + i % 100]), bytes([203, 0, 113, 200]),
                  10000 + i % 4096, 7000, b"\0" * 18)
    return UNKNOWN + mac(k) + b"\x08\x00" + ip  # 60 bytes


def frames(a):
    gw = bytes.fromhex(a.gw_mac.replace(":", ""))
    ks = macs_touched(a)
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i in range(a.count):
        k = ks[i % len(ks)]
        vx = struct.pack("!BBHI", 0x08, 0, 0, vni_of(k, a.vnis) << 8) + inner(i, k)
        f = gw + VTEP_MAC + b"\x08\x00" + ipv4_udp(VTEP_IP, GW_IP, 49152 + i % 16384, 4789, vx)
        assert len(f) == 110
        out.append(struct.pack("<IIII", 0, i, len(f), len(f)) + f)
    with open(a.out, "wb") as o:
        o.writelines(out)


def config(a):
    out = []
    for p in range(2):
        lo = p * 2048
        vl = ", ".join("{ vlan = %d, vni = %d }" % (j - lo + 1, BASE_VNI + j)
                       for j in range(lo, min(a.vnis, lo + 2048)))
        out.append(f'[[port]]\nname = "phys{p}"\ndevice = "@PHYS{p}@"\nvlans = [{vl}]\n\n')
    per = [[] for _ in range(a.vnis)]
    for k in range(a.macs):
        per[k % a.vnis].append(k)
    for j in range(a.vnis):
        sm = ",".join('{mac="%s",vtep="192.0.2.1"}' % mac(k).hex(":") for k in per[j])
        out.append(f"[[vni]]\nid = {BASE_VNI + j}\nflood = []\nstatic_macs = [{sm}]\n")
    with open(a.out, "w") as o:
        o.writelines(out)


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    end = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    off, pkts = 24, []
    while off + 16 <= len(data):
        caplen = struct.unpack(end + "IIII", data[off:off + 16])[2]
        pkts.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return pkts


def check(a):
    ks = macs_touched(a)
    want = {}
    for i in range(a.count):
        k = ks[i % len(ks)]
        want[mac(k)] = vlan_of(vni_of(k, a.vnis))[0]
    pkts = [p for path in a.paths for p in read_pcap(path)]
    bad, srcs = 0, set()
    for p in pkts:
        ok = (len(p) == 64 and p[:6] == UNKNOWN and p[12:14] == b"\x81\x00"
              and want.get(p[6:12]) == struct.unpack("!H", p[14:16])[0] & 0xFFF
              and p[16:18] == b"\x08\x00")
        bad += not ok
        srcs.add(p[6:12])
    print(f"verify scale: {len(pkts)} frames out of phys0+phys1 for {a.count} in, {bad} wrong; "
          f"{len(srcs)} distinct inner source MACs (of {len(want)} touched, {a.macs} configured), "
          f"each on its VNI's VLAN")
    sys.exit(0 if bad == 0 and len(pkts) == a.count and len(srcs) == len(want) else 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("config")
    c.add_argument("out")
    c.add_argument("macs", type=int)
    f = sub.add_parser("frames")
    f.add_argument("out")
    f.add_argument("gw_mac")
    f.add_argument("macs", type=int)
    f.add_argument("touch", type=int)
    k = sub.add_parser("check")
    k.add_argument("paths", nargs="+")
    k.add_argument("--macs", type=int, required=True)
    k.add_argument("--touch", type=int, required=True)
    for p in (c, f, k):
        p.add_argument("--vnis", type=int, default=4096)
    for p in (f, k):
        p.add_argument("--count", type=int, default=65536)
    a = ap.parse_args()
    if a.cmd != "check" and not 1 <= a.vnis <= 4096:
        ap.error("--vnis must be 1..4096")
    {"config": config, "frames": frames, "check": check}[a.cmd](a)


if __name__ == "__main__":
    main()
