#!/usr/bin/env bash
# Decap benchmark: VXLAN frames replayed from memory by net_pcap
# (infinite_rx=1) into the gateway's underlay port, decapsulated, tagged
# with VLAN 10 and sent to a net_null sink; the baseline is dpdk-testpmd
# io-forwarding the same capture between the same devices on the same core.
# Prints Mpps, the ratio and cycles per packet; raw output in perf/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $EUID -eq 0 ]] || exec sudo -E "$0" "$@"
scripts/setup.sh >/dev/null
cargo build --release --quiet
OUT=perf/out; mkdir -p "$OUT"
SECS=${SECS:-10}
WARMUP=3
GW=target/release/vtepgw
PORT=19187
HZ=$(awk '/^cpu MHz/ {print $4*1e6; exit}' /proc/cpuinfo)

gw_config() { # pcap
    cat <<TOML
[dataplane]
main_lcore = 0
worker_lcores = [1]
eal_args = ["--no-huge", "-m", "1024", "--no-pci", "--file-prefix", "vgwbench",
            "--vdev", "net_pcap0,rx_pcap=$PWD/$1,infinite_rx=1", "--vdev", "net_null1,no-rx=1"]
mbufs = 32767
[management]
listen = "127.0.0.1:$PORT"
[underlay]
device = "net_pcap0"
address = "192.0.2.10/24"
[[port]]
name = "phys0"
device = "net_null1"
vlans = [{ vlan = 10, vni = 100 }]
[[vni]]
id = 100
TOML
}

metric() { awk -v s="$2" '$1 == s {print $2}' "$1"; }

# The pcap PMD's MAC: start once on a tiny capture and read the log.
/usr/bin/python3 perf/gen_decap_pcap.py "$OUT/probe.pcap" ff:ff:ff:ff:ff:ff 110 4
gw_config "$OUT/probe.pcap" > "$OUT/probe.toml"
$GW run --config "$OUT/probe.toml" > "$OUT/probe.log" 2>&1 & pid=$!
for _ in $(seq 50); do curl -sf "127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
kill -TERM $pid; wait $pid || true
MAC=$(grep -o 'port="\?underlay"\? driver=net_pcap mac=[0-9a-f:]*' "$OUT/probe.log" | sed 's/.*mac=//')
[[ -n $MAC ]] || { echo "no underlay MAC in $OUT/probe.log"; exit 1; }

printf "%-10s %12s %12s %7s %14s %14s\n" case testpmd_Mpps vtepgw_Mpps ratio testpmd_cyc/pkt vtepgw_cyc/pkt
for size in 110 600; do
    pcap="$OUT/decap-$size.pcap"
    /usr/bin/python3 perf/gen_decap_pcap.py "$pcap" "$MAC" "$size" 1024

    # Baseline: testpmd io forward, same devices, same forwarding core.
    { echo start; sleep $WARMUP; echo "clear port stats all"; sleep "$SECS";
      echo "show port stats 1"; echo stop; sleep 1; echo quit; } |
        dpdk-testpmd --no-huge -m 1024 --no-pci --file-prefix vgwtestpmd -l 0,1 \
            --vdev "net_pcap0,rx_pcap=$PWD/$pcap,infinite_rx=1" --vdev net_null1,no-rx=1 -- \
            -i --forward-mode=io --nb-cores=1 --total-num-mbufs=32768 --record-core-cycles \
            > "$OUT/testpmd-$size.log" 2>&1 || true
    tp_pkts=$(grep -A5 "NIC statistics for port 1  " "$OUT/testpmd-$size.log" | awk '/TX-packets/ {print $2; exit}')
    tp_mpps=$(awk -v p="$tp_pkts" -v s="$SECS" 'BEGIN {printf "%.2f", p/s/1e6}')
    tp_cyc=$(grep -o 'CPU cycles/packet=[0-9.]*' "$OUT/testpmd-$size.log" | tail -1 | cut -d= -f2)

    gw_config "$pcap" > "$OUT/gw-$size.toml"
    $GW run --config "$OUT/gw-$size.toml" > "$OUT/gw-$size.log" 2>&1 & pid=$!
    for _ in $(seq 50); do curl -sf "127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
    sleep $WARMUP
    curl -s "127.0.0.1:$PORT/metrics" > "$OUT/gw-$size.before"
    sleep "$SECS"
    curl -s "127.0.0.1:$PORT/metrics" > "$OUT/gw-$size.after"
    kill -TERM $pid; wait $pid || true
    tx='vtepgw_port_packets_total{direction="tx",port="phys0"}'
    d_pkts=$(( $(metric "$OUT/gw-$size.after" "$tx") - $(metric "$OUT/gw-$size.before" "$tx") ))
    w='vtepgw_worker_packets_total{worker="0"}'; c='vtepgw_worker_busy_cycles_total{worker="0"}'
    d_wp=$(( $(metric "$OUT/gw-$size.after" "$w") - $(metric "$OUT/gw-$size.before" "$w") ))
    d_cyc=$(( $(metric "$OUT/gw-$size.after" "$c") - $(metric "$OUT/gw-$size.before" "$c") ))
    gw_mpps=$(awk -v p="$d_pkts" -v s="$SECS" 'BEGIN {printf "%.2f", p/s/1e6}')
    gw_cyc=$(awk -v c="$d_cyc" -v p="$d_wp" 'BEGIN {printf "%.1f", c/p}')
    ratio=$(awk -v a="$gw_mpps" -v b="$tp_mpps" 'BEGIN {printf "%.2f", a/b}')
    drops=$(grep '^vtepgw_drops_total' "$OUT/gw-$size.after" | awk '$2 != 0' | tr '\n' ' ')
    printf "%-10s %12s %12s %7s %14s %14s\n" "decap-$size" "$tp_mpps" "$gw_mpps" "$ratio" "${tp_cyc:-?}" "$gw_cyc"
    [[ -z $drops ]] || echo "   gateway drops: $drops"
done
