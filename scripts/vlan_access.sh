#!/usr/bin/env bash
# Makes DEV in namespace NS behave like a host on an 802.1Q access port of
# VLAN VID: everything it sends is tagged VID, only VID comes in (untagged).
# Usage: scripts/vlan_access.sh NS DEV VID
set -euo pipefail
ns=$1 dev=$2 vid=$3
src="$(dirname "$0")/vlan_access.bpf.c"
obj=$(mktemp /tmp/vlan_access.XXXXXX.o)
trap 'rm -f "$obj"' EXIT
clang -O2 -target bpf -DVLAN_ID="$vid" -I"/usr/include/$(uname -m)-linux-gnu" -c "$src" -o "$obj"
ip netns exec "$ns" ethtool -K "$dev" rxvlan off txvlan off >/dev/null 2>&1 || true
ip netns exec "$ns" tc qdisc add dev "$dev" clsact
ip netns exec "$ns" tc filter add dev "$dev" egress bpf da obj "$obj" sec tc/egress
ip netns exec "$ns" tc filter add dev "$dev" ingress bpf da obj "$obj" sec tc/ingress
