#!/usr/bin/env bash
# vtepgw demo: a DPDK gateway between a VLAN and two Linux kernel VTEPs
# (and, at the end, the VNI's L3 gateway interface, added live).
#
#   ph (VLAN 10, 203.0.113.3) --veth-- [vtepgw phys0]      VLAN 10 <-> VNI 100
#                                      [vtepgw underlay] 192.0.2.10
#                                          |  (bridge in namespace sw)
#            hv1 192.0.2.1 (kernel vxlan100) -- h1 203.0.113.1
#            hv2 192.0.2.2 (kernel vxlan100) -- h2 203.0.113.2
#
# Everything lives in network namespaces and veths this script creates
# (the gateway's two veth ends stay in the root namespace, where DPDK's
# net_pcap attaches to them), and is torn down on exit.
set -euo pipefail

# Before the cd: a re-run through sudo needs $0 as it was given.
source "$(dirname "$0")/lib.sh"
as_root "$@"
cd "$(dirname "$0")/.."
scripts/setup.sh
use_cargo

T=demo$$
T=${T:0:8}
NS=(sw$T hv1$T hv2$T h1$T h2$T ph$T)
UL=vg${T}u
PL=vg${T}p
WORK=$(mktemp -d /tmp/vtepgw-demo.XXXX)
GW_PID=
MGMT=127.0.0.1:9181

cleanup() {
    set +e
    [[ -n $GW_PID ]] && kill -TERM "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null
    for ns in "${NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
    ip link del "$UL" 2>/dev/null
    ip link del "$PL" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
quiet_ns() {
    ip netns add "$1"
    in_ns "$1" ip link set lo up
    in_ns "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}
no_offload() { in_ns "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true; }

echo "== building vtepgw (release)"
cargo build --release --quiet

echo "== topology"
for ns in "${NS[@]}"; do quiet_ns "$ns"; done
in_ns sw$T ip link add br0 type bridge
in_ns sw$T ip link set br0 up

# The gateway's veths: one end in the root namespace for DPDK.
ip link add "$UL" type veth peer name gw netns sw$T
ip link add "$PL" type veth peer name eth0 netns ph$T
for dev in "$UL" "$PL"; do
    sysctl -qw net.ipv6.conf.$dev.disable_ipv6=1
    ethtool -K "$dev" tx off rx off tso off gso off gro off rxvlan off txvlan off >/dev/null 2>&1 || true
    ip link set "$dev" up
done
in_ns sw$T ip link set gw master br0 up

# Two kernel VTEPs, each with an inner host on VNI 100.
for i in 1 2; do
    hv=hv$i$T h=h$i$T
    ip link add u1 netns "$hv" type veth peer name hv$i netns sw$T
    in_ns sw$T ip link set hv$i master br0 up
    in_ns "$hv" ip addr add 192.0.2.$i/24 dev u1
    in_ns "$hv" ip link set u1 up
    no_offload "$hv" u1   # full UDP checksums for the AF_PACKET reader
    in_ns "$hv" ip link add br0 type bridge
    in_ns "$hv" ip link add vxlan100 type vxlan id 100 dstport 4789 local 192.0.2.$i nolearning
    ip link add eth0 netns "$h" type veth peer name p1 netns "$hv"
    in_ns "$hv" ip link set vxlan100 master br0
    in_ns "$hv" ip link set p1 master br0
    for dev in vxlan100 p1 br0; do in_ns "$hv" ip link set "$dev" up; done
    in_ns "$hv" bridge fdb append 00:00:00:00:00:00 dev vxlan100 dst 192.0.2.10
    in_ns "$h" ip link set eth0 address 02:00:00:00:0$i:01
    in_ns "$h" ip addr add 203.0.113.$i/24 dev eth0
    in_ns "$h" ip link set eth0 mtu 1450 up
done

# The physical host on VLAN 10: its eth0 sits on an "access port" that
# tags and untags VLAN 10 (eBPF; see scripts/vlan_access.bpf.c for why).
in_ns ph$T ip link set eth0 address 02:00:00:00:03:01
in_ns ph$T ip addr add 203.0.113.3/24 dev eth0
in_ns ph$T ip link set eth0 mtu 1450 up
no_offload ph$T eth0
scripts/vlan_access.sh ph$T eth0 10

cat > "$WORK/gateway.toml" <<TOML
[dataplane]
main_lcore = 0
worker_lcores = [1]
eal_args = ["--no-huge", "-m", "512", "--no-pci", "--file-prefix", "vtepgw$T",
            "--vdev", "net_pcap0,iface=$UL,phy_mac=1", "--vdev", "net_pcap1,iface=$PL,phy_mac=1"]
idle_sleep_us = 50

[management]
listen = "$MGMT"

[underlay]
device = "net_pcap0"
address = "192.0.2.10/24"

[[port]]
name = "phys0"
device = "net_pcap1"
vlans = [{ vlan = 10, vni = 100 }]

[[vni]]
id = 100
flood = ["192.0.2.1", "192.0.2.2"]
TOML

echo "== config"
target/release/vtepgw check-config "$WORK/gateway.toml"

echo "== starting vtepgw"
target/release/vtepgw run --config "$WORK/gateway.toml" >"$WORK/gateway.log" 2>&1 &
GW_PID=$!
for _ in $(seq 100); do
    curl -sf "http://$MGMT/healthz" >/dev/null && break
    kill -0 "$GW_PID" 2>/dev/null || { cat "$WORK/gateway.log"; exit 1; }
    sleep 0.2
done
curl -s "http://$MGMT/healthz"; echo

status=0
demo_ping() {
    local from=$1 to=$2
    if in_ns "$from" ping -c 3 -i 0.3 -W 2 "$to" >/dev/null; then
        echo "   ping ${from%$T} -> $to: ok"
    else
        echo "   ping ${from%$T} -> $to: FAILED"; status=1
    fi
}
echo "== pings across the gateway"
demo_ping ph$T 203.0.113.1
demo_ping ph$T 203.0.113.2
demo_ping h1$T 203.0.113.3
demo_ping h2$T 203.0.113.3

echo "== gateway counters (non-zero)"
curl -s "http://$MGMT/metrics" | grep -E '^vtepgw_(port|vni|flood|mac_table|drops|arp)' | grep -v ' 0$' | sed 's/^/   /'
CLI=(target/release/vtepgw --api "http://$MGMT")
echo "== the gateway's MAC table and remote VTEPs (operator CLI over the REST API)"
"${CLI[@]}" show macs | sed 's/^/   /'
"${CLI[@]}" show vteps | sed 's/^/   /'
echo "== live changes while ph pings h1: add VNI 200 on VLAN 20, then remove it"
in_ns ph$T ping -c 20 -i 0.1 -W 2 203.0.113.1 >"$WORK/ping.txt" &
PING_PID=$!
sleep 0.3
"${CLI[@]}" vni add 200 --flood 192.0.2.1 | sed 's/^/   /'
"${CLI[@]}" vlan add phys0 20 200 | sed 's/^/   /'
"${CLI[@]}" show vnis | sed 's/^/   /'
"${CLI[@]}" vlan remove phys0 20 | sed 's/^/   /'
"${CLI[@]}" vni remove 200 | sed 's/^/   /'
wait "$PING_PID" || true
echo "   ping during the changes: $(grep -o '[0-9]* packets transmitted, [0-9]* received' "$WORK/ping.txt")"
grep -q ' 0% packet loss' "$WORK/ping.txt" || status=1

echo "== L3 gateway: VNI 100 gets a gateway interface, live; the hosts ping it"
curl -s -X PATCH -H 'Content-Type: application/json' \
    -d '{"gateway": {"address": "203.0.113.254/24"}}' \
    "http://$MGMT/api/v1/vnis/100" >/dev/null || status=1
demo_ping ph$T 203.0.113.254
demo_ping h1$T 203.0.113.254
"${CLI[@]}" show interfaces | sed 's/^/   /'
"${CLI[@]}" show route | sed 's/^/   /'
"${CLI[@]}" show arp | sed 's/^/   /'

exit $status
