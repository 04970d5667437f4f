#!/usr/bin/env bash
# Worker scaling: decap (as perf/bench.sh's decap-110) with 1, 2, 4 and 8
# workers. The underlay is one net_pcap with one rx_pcap (one rx queue) per
# worker, each a capture of different flows, replayed from memory
# (infinite_rx=1); phys0 is net_null (one queue per worker). Worker i runs
# on lcore i+1, the main lcore is 0, so W workers need W+1 cores: counts
# that do not fit this machine are reported as skipped ("needs a bigger
# machine"), not run. Prints Mpps (phys0 tx over wall time) and each
# worker's busy cycles per packet; raw output in perf/out/scale-*.
#
# Environment: SECS (default 10), WARMUP (default 3), WORKERS (default
# "1 2 4 8"), PORT (default 19188), VTEPGW (a prebuilt binary).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $EUID -eq 0 ]] || exec sudo -E "$0" "$@"
SECS=${SECS:-10}
WARMUP=${WARMUP:-3}
WORKERS=${WORKERS:-"1 2 4 8"}
PORT=${PORT:-19188}
PY=/usr/bin/python3
OUT=perf/out
mkdir -p "$OUT"
if [[ -n ${VTEPGW:-} ]]; then
    GW=$VTEPGW
else
    scripts/setup.sh >/dev/null
    command -v cargo >/dev/null || PATH=$HOME/.cargo/bin:$PATH
    cargo build --release --quiet
    GW=target/release/vtepgw
fi
GW_PID=
cleanup() {
    if [[ -n $GW_PID ]]; then
        kill -TERM "$GW_PID" 2>/dev/null || true
        wait "$GW_PID" 2>/dev/null || true
    fi
    rm -rf "/var/run/dpdk/vgwscale$$"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "scale: $*" >&2; exit 1; }
metric() { awk -v s="$2" '$1 == s {print $2; f=1} END {if (!f) print "NaN"}' "$1"; }
now() { date +%s.%N; }
cores=$(nproc)
MAC=02:70:63:61:70:00 # net_pcap's MAC for port 0 (see perf/README.md)

printf "%-8s %9s %12s  %s\n" workers gw_Mpps Mpps/worker "cycles/pkt per worker"
for w in $WORKERS; do
    if ((w + 1 > cores)); then
        printf "%-8s %s\n" "$w" "skipped: needs $((w + 1)) cores (main lcore + $w workers), this machine has $cores; run on a bigger machine"
        continue
    fi
    rx="" lcores=""
    for ((q = 0; q < w; q++)); do
        pcap=$OUT/scale-w$w-q$q.pcap
        # One capture per queue (the same frames: net_pcap has no RSS).
        $PY perf/gen_decap_pcap.py "$pcap" "$MAC" 110 --count 1024 >/dev/null
        rx+=",rx_pcap=$PWD/$pcap"
        lcores+="${lcores:+, }$((q + 1))"
    done
    toml=$OUT/scale-w$w.toml log=$OUT/scale-w$w.log
    cat >"$toml" <<TOML
[dataplane]
main_lcore = 0
worker_lcores = [$lcores]
eal_args = ["--no-huge", "-m", "1024", "--no-pci", "--file-prefix", "vgwscale$$",
            "--vdev", "net_pcap0${rx},infinite_rx=1", "--vdev", "net_null1,no-rx=1"]
mbufs = $((32768 * w - 1))
burst_size = 32
idle_sleep_us = 0
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
flood = []
TOML
    "$GW" run --config "$toml" >"$log" 2>&1 &
    GW_PID=$!
    for i in $(seq 150); do
        curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
        kill -0 "$GW_PID" 2>/dev/null || { tail -5 "$log" >&2; die "vtepgw exited early, see $log"; }
        sleep 0.1
    done
    sleep "$WARMUP"
    b=$OUT/scale-w$w.before a=$OUT/scale-w$w.after
    t0=$(now); curl -sf "http://127.0.0.1:$PORT/metrics" >"$b"
    sleep "$SECS"
    t1=$(now); curl -sf "http://127.0.0.1:$PORT/metrics" >"$a"
    kill -TERM "$GW_PID"; wait "$GW_PID" || true; GW_PID=
    tx='vtepgw_port_packets_total{direction="tx",port="phys0"}'
    pps=$(awk -v a="$(metric "$b" "$tx")" -v b="$(metric "$a" "$tx")" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.0f", (b - a) / (t1 - t0)}')
    per=""
    for ((q = 0; q < w; q++)); do
        c="vtepgw_worker_busy_cycles_total{worker=\"$q\"}" p="vtepgw_worker_packets_total{worker=\"$q\"}"
        per+=$(awk -v c0="$(metric "$b" "$c")" -v c1="$(metric "$a" "$c")" -v p0="$(metric "$b" "$p")" -v p1="$(metric "$a" "$p")" \
            'BEGIN {printf " %.1f", (c1 - c0) / (p1 - p0)}')
    done
    awk -v w="$w" -v pps="$pps" -v per="$per" 'BEGIN {printf "%-8s %9.2f %12.2f  %s\n", w, pps / 1e6, pps / 1e6 / w, per}'
done
