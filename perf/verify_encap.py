#!/usr/bin/python3
"""Captures and checks what the gateway sends on the underlay in the encap
benchmark's functional check.

usage: verify_encap.py capture FIFO OUT.pcap N [--all]
       verify_encap.py check OUT.pcap OUTER_FRAME_BYTES GATEWAY_MAC [--count C]
                       [--flows F] [--macs M] [--ports LO-HI] [--dst MAC]
                       [--vteps V] [--group G]
       verify_encap.py check-local OUT.pcap OUTER_FRAME_BYTES VLAN [--count C]
                       [--flows F] [--macs M] [--dst MAC]

capture: reads the pcap stream that net_pcap's tx_pcap writes into FIFO,
keeps every frame up to and including the N-th VXLAN frame (UDP port 4789),
writes them to OUT.pcap (atomically, when complete), then reads and throws
away the rest until the writer closes the FIFO. The gateway's input is
replayed with infinite_rx, so its output never ends by itself; the FIFO
keeps the file small.

check: every frame must be either an ARP request from the gateway for the
VTEP (sent while it resolves it) or a VXLAN frame that is, field by field,
the encapsulation of one of the C input frames written by
gen_encap_pcap.py: outer destination MAC = the VTEP's MAC from its ARP
reply, source MAC = GATEWAY_MAC, IPv4 192.0.2.10 -> 192.0.2.1 with DF, TTL
64, a correct header checksum and length, UDP destination port 4789 with a
zero checksum and the right length, the source port in LO-HI (default
49152-65535) and the same for every frame of a flow, VXLAN flags 0x08, VNI
100 and zero reserved bits, and the inner frame byte for byte the input
frame without its VLAN tag. The VXLAN frames must also be consecutive input
frames (no loss or reordering while captured); with --order flow, only
the frames of each flow must be consecutive (OVS-DPDK regroups every burst
by flow).

With --vteps V (the flood case: input frames to --dst, a broadcast), every
input frame must leave as V copies, one to each of the VTEPs 192.0.2.1..V
(MACs 02:00:00:00:0a:01..V), each correct as above, and the copies' input
frames consecutive. Copies made before all V VTEPs were resolved (a leading
incomplete group) are reported and skipped.

With --group G (multicast core replication: input frames to --dst, a
broadcast), every input frame must leave as one copy to the group G, at
its mapped MAC (01:00:5e + its low 23 bits), correct as above; the
gateway's IGMP reports may come in between.

capture --all counts every frame, not only VXLAN ones, towards N.

check-local: the flood case's copy to a second physical port: every frame
must be input frame i, byte for byte, with its VLAN tag set to VLAN, and
the input frames consecutive.
"""
import argparse
import os
import struct
import sys

VXLAN_PORT = 4789


def read_exact(f, n):
    b = f.read(n)
    if len(b) != n:
        raise EOFError(f"stream ended ({len(b)} of {n} bytes)")
    return b


def is_vxlan(frame):
    return (len(frame) >= 50 and frame[12:14] == b"\x08\x00" and frame[23] == 17
            and struct.unpack("!H", frame[36:38])[0] == VXLAN_PORT)


def capture(fifo, out, n, count_all=False):
    with open(fifo, "rb", buffering=1 << 20) as f:
        gh = read_exact(f, 24)
        magic = gh[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            endian = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            endian = ">"
        else:
            sys.exit(f"capture: not a pcap stream (magic {magic.hex()})")
        records, vxlan = [], 0
        while vxlan < n:
            rh = read_exact(f, 16)
            caplen = struct.unpack(endian + "IIII", rh)[2]
            data = read_exact(f, caplen)
            records.append(rh + data)
            vxlan += count_all or is_vxlan(data)
        tmp = out + ".tmp"
        with open(tmp, "wb") as o:
            o.write(gh)
            o.writelines(records)
        os.rename(tmp, out)
        print(f"capture: {len(records)} frames, {vxlan} {'counted' if count_all else 'VXLAN'}, "
              f"written to {out}", flush=True)
        while f.read(1 << 16):
            pass


def ip_checksum(hdr):
    s = sum(struct.unpack("!10H", hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def check(a):
    from scapy.all import rdpcap, ARP, Ether
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.dont_write_bytecode = True  # no perf/__pycache__ in the work tree
    import gen_encap_pcap as g

    lo, hi = (int(x) for x in a.ports.split("-"))
    gw_mac = bytes.fromhex(a.gw_mac.replace(":", ""))
    vteps = {}  # IPv4 bytes -> (index, MAC bytes)
    for k in range(a.vteps):
        ip, mac = g.vtep(k)
        vteps[bytes(int(x) for x in ip.split("."))] = (k, bytes.fromhex(mac.replace(":", "")))
    vtep_ips = {g.vtep(k)[0] for k in range(a.vteps)}
    if a.group:
        o = [int(x) for x in a.group.split(".")]
        vteps = {bytes(o): (0, bytes([1, 0, 0x5E, o[1] & 0x7F, o[2], o[3]]))}
        vtep_ips = set()
    # The expected inner frame of each input frame: the input without its tag.
    expected = {}
    for i in range(a.count):
        t = bytes(g.frame(i, a.size, a.flows, a.macs, a.dst))
        expected[i] = t[:12] + t[16:]
    inner_len = a.size - 50

    pkts = rdpcap(a.path)
    errors, arps, vx = [], 0, []
    def bad(k, msg):
        if len(errors) < 20:
            errors.append(f"frame {k}: {msg}")

    for k, p in enumerate(pkts):
        b = bytes(p)
        if not is_vxlan(b):
            if a.group and b[12:14] == b"\x08\x00" and b[23] == 2 and b[26:30] == bytes([192, 0, 2, 10]):
                continue  # our IGMP report
            if (ARP in p and p[ARP].op == 1 and p[ARP].psrc == g.GW_IP
                    and p[ARP].pdst in vtep_ips and p[Ether].src == a.gw_mac
                    and p[Ether].dst == "ff:ff:ff:ff:ff:ff"):
                arps += 1
            else:
                bad(k, f"neither VXLAN nor our ARP request: {p.summary()}")
            continue
        if len(b) != a.size:
            bad(k, f"length {len(b)}, expected {a.size}")
            continue
        eth_dst, eth_src, ethertype = b[0:6], b[6:12], b[12:14]
        ip = b[14:34]
        ver_ihl, tos, tot_len, ident, frag, ttl, proto, csum = struct.unpack("!BBHHHBBH", ip[:12])
        src, dst = ip[12:16], ip[16:20]
        sport, dport, ulen, ucsum = struct.unpack("!HHHH", b[34:42])
        vflags, vni_word = b[42], struct.unpack("!I", b[46:50])[0]
        k, vtep_mac = vteps.get(dst, (-1, b""))
        checks = [
            (k >= 0, f"IPv4 destination {'.'.join(map(str, dst))} is not a VTEP (or the group)"),
            (eth_dst == vtep_mac, f"outer dst MAC {eth_dst.hex(':')} is not the VTEP's ARP MAC (or the group's)"),
            (eth_src == gw_mac, f"outer src MAC {eth_src.hex(':')} is not the underlay's {a.gw_mac}"),
            (ethertype == b"\x08\x00", "outer ethertype is not IPv4"),
            (ver_ihl == 0x45, f"IPv4 version/IHL {ver_ihl:#x}"),
            (tot_len == a.size - 14, f"IPv4 total length {tot_len}"),
            (frag == 0x4000, f"IPv4 flags/fragment {frag:#06x} (want DF only)"),
            (ttl == 64, f"TTL {ttl}"),
            (proto == 17, f"protocol {proto}"),
            (ip_checksum(ip) == 0xFFFF, f"bad IPv4 header checksum {csum:#06x}"),
            (src == bytes([192, 0, 2, 10]), f"IPv4 source {'.'.join(map(str, src))}"),
            (dport == VXLAN_PORT, f"UDP dst port {dport}"),
            (lo <= sport <= hi, f"UDP src port {sport} outside {lo}-{hi}"),
            (ulen == a.size - 34, f"UDP length {ulen}"),
            (ucsum == 0, f"UDP checksum {ucsum:#06x} (want 0)"),
            (vflags == 0x08 and b[43:46] == b"\0\0\0", f"VXLAN flags/reserved {b[42:46].hex()}"),
            (vni_word >> 8 == 100 and vni_word & 0xFF == 0, f"VNI {vni_word >> 8}, reserved {vni_word & 0xFF}"),
        ]
        failed = [m for ok, m in checks if not ok]
        if failed:
            bad(k, "; ".join(failed))
            continue
        inner = b[50:]
        idx = struct.unpack("!H", inner[42:44])[0] if len(inner) >= 44 else -1
        if idx not in expected or inner != expected[idx] or len(inner) != inner_len:
            bad(k, f"inner frame is not input frame {idx} without its VLAN tag")
            continue
        vx.append((idx, sport, ident, k))

    skipped = 0
    if a.vteps > 1:
        # Group the copies of each input frame; drop a leading incomplete group.
        groups = []
        for idx, sport, ident, k in vx:
            if groups and groups[-1][0] == idx:
                groups[-1][1].add(k)
            else:
                groups.append((idx, {k}))
        while groups and len(groups[0][1]) != a.vteps:
            skipped += len(groups.pop(0)[1])
        incomplete = sum(1 for _, ks in groups[:-1] if len(ks) != a.vteps)
        if incomplete:
            errors.append(f"{incomplete} input frames not copied to all {a.vteps} VTEPs")
        vx = vx[skipped:]
        order = [(i, 0, 0) for i, _ in groups]
    else:
        order = [(i, s, x) for i, s, x, _ in vx]
    vx = [(i, s, x) for i, s, x, _ in vx]

    flows = {}
    for idx, sport, _ in vx:
        flows.setdefault(idx % a.flows, set()).add(sport)
    unstable = {f: s for f, s in flows.items() if len(s) != 1}
    if unstable:
        errors.append(f"{len(unstable)} flows with more than one source port, e.g. {next(iter(unstable.items()))}")
    if a.order == "flow":
        # OVS-DPDK groups each rx burst by flow: only each flow's own order holds.
        last, gaps = {}, 0
        for x, _, _ in order:
            f = x % a.flows
            if f in last and x != (last[f] + a.flows) % a.count:
                gaps += 1
            last[f] = x
    else:
        gaps = sum(1 for (x, _, _), (y, _, _) in zip(order, order[1:]) if y != (x + 1) % a.count)
    if gaps:
        errors.append(f"{gaps} breaks in the input order{' within flows' if a.order == 'flow' else ''} "
                      "among the VXLAN frames (loss or reordering)")
    ident_steps = sum(1 for (_, _, x), (_, _, y) in zip(vx, vx[1:]) if y == (x + 1) & 0xFFFF)
    ports = {s for _, s, _ in vx}
    srcs = {expected[i][6:12] for i, _, _ in vx}
    to = a.group or (g.VTEP_MAC if a.vteps == 1 else f"each of {a.vteps} VTEPs")
    print(f"verify encap {a.size}: {len(pkts)} frames out of the underlay: {arps} ARP requests for "
          f"VTEPs, {len(vx)} VXLAN frames correct field by field ({a.size} bytes, to "
          f"{to}, VNI 100, DF, UDP 4789, UDP checksum 0, inner = input minus VLAN tag"
          f"{f'; {skipped} early copies before all VTEPs resolved skipped' if skipped else ''}); "
          f"{len(flows)} flows from {len(srcs)} source MACs, each flow on one source port, "
          f"{len(ports)} distinct source ports in {min(ports, default=0)}-{max(ports, default=0)}; "
          f"IPv4 ident +1 per frame in {ident_steps} of {max(len(vx) - 1, 0)} steps")
    for e in errors:
        print("  ERROR", e)
    want_flows = min(a.flows, a.count)
    ok = (not errors and len(vx) >= a.count * a.vteps and len(flows) == want_flows
          and len(srcs) == min(a.macs, want_flows) and len(ports) >= want_flows // 2)
    sys.exit(0 if ok else 1)


def check_local(a):
    from scapy.all import rdpcap
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.dont_write_bytecode = True
    import gen_encap_pcap as g

    expected = {}
    for i in range(a.count):
        t = bytes(g.frame(i, a.size, a.flows, a.macs, a.dst))
        expected[i] = t[:14] + struct.pack("!H", a.vlan) + t[16:]
    errors, idxs = [], []
    pkts = rdpcap(a.path)
    for k, p in enumerate(pkts):
        b = bytes(p)
        idx = struct.unpack("!H", b[46:48])[0] if len(b) >= 48 else -1
        if expected.get(idx) != b:
            if len(errors) < 20:
                errors.append(f"frame {k}: not input frame {idx} with VLAN {a.vlan}")
            continue
        idxs.append(idx)
    gaps = sum(1 for x, y in zip(idxs, idxs[1:]) if y != (x + 1) % a.count)
    if gaps:
        errors.append(f"{gaps} breaks in the input order (loss or reordering)")
    print(f"verify local copy {a.size}: {len(pkts)} frames, {len(idxs)} = input frame with VLAN "
          f"{a.vlan} byte for byte, {len({i % a.flows for i in idxs})} flows")
    for e in errors:
        print("  ERROR", e)
    sys.exit(0 if not errors and len(idxs) >= a.count else 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("capture")
    c.add_argument("fifo")
    c.add_argument("out")
    c.add_argument("n", type=int)
    c.add_argument("--all", action="store_true")
    k = sub.add_parser("check")
    k.add_argument("path")
    k.add_argument("size", type=int)
    k.add_argument("gw_mac")
    k.add_argument("--count", type=int, default=1024)
    k.add_argument("--flows", type=int, default=256)
    k.add_argument("--macs", type=int, default=16)
    k.add_argument("--ports", default="49152-65535")
    k.add_argument("--dst", default="02:00:00:04:00:01")
    k.add_argument("--vteps", type=int, default=1)
    k.add_argument("--group", default=None)
    k.add_argument("--order", choices=["all", "flow"], default="all",
                   help="flow: require input order only within each flow (OVS batches by flow)")
    m = sub.add_parser("check-local")
    m.add_argument("path")
    m.add_argument("size", type=int)
    m.add_argument("vlan", type=int)
    m.add_argument("--count", type=int, default=1024)
    m.add_argument("--flows", type=int, default=256)
    m.add_argument("--macs", type=int, default=16)
    m.add_argument("--dst", default="ff:ff:ff:ff:ff:ff")
    a = ap.parse_args()
    if a.cmd == "capture":
        capture(a.fifo, a.out, a.n, a.all)
    elif a.cmd == "check":
        a.gw_mac = a.gw_mac.lower()
        check(a)
    else:
        check_local(a)


if __name__ == "__main__":
    main()
