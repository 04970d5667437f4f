#!/usr/bin/env bash
# Decap and encap benchmarks.
# decap: VXLAN frames replayed from memory by net_pcap (infinite_rx=1) into
# the gateway's underlay port, decapsulated, tagged with VLAN 10 and sent to
# a net_null sink.
# encap: VLAN-10 frames replayed the same way into the physical port, to a
# static MAC behind a remote VTEP, encapsulated and sent out of the underlay
# port (a net_pcap whose TX drops; its RX replays once the VTEP's ARP reply,
# which resolves the VTEP before anything is timed).
# The baseline is dpdk-testpmd io-forwarding the same capture between the
# same devices on the same forwarding core, measured in the same run just
# before the gateway. Prints Mpps of each, the ratio and clocks per packet;
# raw output in perf/out/ (results.tsv for this run, history.tsv across runs).
#
# Environment: SECS (measured interval, default 10), WARMUP (default 3),
# SIZES (outer, i.e. VXLAN, frame bytes, default "110 600"), CASES (default
# "decap encap"), PORT (management port, default 19187), VTEPGW (a prebuilt
# binary: skips setup and the build).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $EUID -eq 0 ]] || exec sudo -E "$0" "$@"

SECS=${SECS:-10}
WARMUP=${WARMUP:-3}
SIZES=${SIZES:-"110 600"}
CASES=${CASES:-"decap encap"}
PORT=${PORT:-19187}
PY=/usr/bin/python3
OUT=perf/out
FIFO=$OUT/testpmd.fifo
CAPFIFO=$OUT/encap-verify.fifo
mkdir -p "$OUT"
for c in $CASES; do [[ $c == decap || $c == encap ]] || { echo "bench: unknown case $c (CASES: decap encap)" >&2; exit 1; }; done
# The encap run replays the VTEP's ARP reply once; the gateway expires a
# next hop it has not heard from for 60 s, so the whole run must end sooner.
if [[ " $CASES " == *" encap "* ]] && ((WARMUP + SECS > 45)); then
    echo "bench: encap needs WARMUP + SECS <= 45 (the VTEP's MAC expires after 60 s)" >&2; exit 1
fi

if [[ -n ${VTEPGW:-} ]]; then
    GW=$VTEPGW
else
    scripts/setup.sh >/dev/null
    command -v cargo >/dev/null || PATH=$HOME/.cargo/bin:$PATH
    cargo build --release --quiet
    GW=target/release/vtepgw
fi

# --- processes: every PID we start is recorded and ended on exit ----------
PIDS=()
forget() { local p keep=(); for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done; PIDS=("${keep[@]}"); }
stop_pid() { # pid: SIGTERM, up to 10 s, then SIGKILL
    local i
    kill -TERM "$1" 2>/dev/null || true
    for i in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$1" 2>/dev/null; then echo "bench: pid $1 ignored SIGTERM, killing it" >&2; kill -KILL "$1" || true; fi
    wait "$1" 2>/dev/null || true
    forget "$1"
}
cleanup() {
    local p
    exec 3>&-
    for p in "${PIDS[@]}"; do stop_pid "$p"; done
    rm -f "$FIFO" "$CAPFIFO" "$OUT/results.tsv.tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "bench: $*" >&2; exit 1; }

if curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
    die "something already answers on 127.0.0.1:$PORT (a stale vtepgw?); set PORT or stop it"
fi

# --- gateway ----------------------------------------------------------------
gw_config() { # underlay-vdev phys0-vdev [extra lines for VNI 100]
    cat <<TOML
[dataplane]
main_lcore = 0
worker_lcores = [1]
eal_args = ["--no-huge", "-m", "1024", "--no-pci", "--file-prefix", "vgwbench",
            "--vdev", "$1", "--vdev", "$2"]
mbufs = 32767
burst_size = 32
idle_sleep_us = 0
[management]
listen = "127.0.0.1:$PORT"
[underlay]
device = "${1%%,*}"
address = "192.0.2.10/24"
udp_port = 4789
[[port]]
name = "phys0"
device = "${2%%,*}"
vlans = [{ vlan = 10, vni = 100 }]
[[vni]]
id = 100
flood = []
TOML
    [[ -z ${3:-} ]] || printf "%s\n" "$3"
}

start_gw() { # toml log; sets GW_PID once /healthz answers
    "$GW" check-config "$1" >/dev/null || die "invalid config $1"
    "$GW" run --config "$1" >"$2" 2>&1 &
    GW_PID=$!
    PIDS+=("$GW_PID")
    local i
    for i in $(seq 150); do
        curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return 0
        kill -0 "$GW_PID" 2>/dev/null || { tail -5 "$2" >&2; die "vtepgw exited early, see $2"; }
        sleep 0.1
    done
    die "vtepgw not healthy after 15 s, see $2"
}

metric() { awk -v s="$2" '$1 == s {print $2; f=1} END {if (!f) print "NaN"}' "$1"; }
delta() { awk -v a="$(metric "$2" "$3")" -v b="$(metric "$1" "$3")" 'BEGIN {printf "%.0f", a - b}'; }
now() { date +%s.%N; }

# --- testpmd ------------------------------------------------------------------
# Interactive testpmd fed through a FIFO: "start" only once its ports are up
# (it takes seconds to start), "show port stats 1" after the warm-up and again
# SECS later. The second show's Tx-pps is testpmd's own count over its own
# TSC interval between the two shows, so the rate does not depend on how
# promptly it read the commands.
run_testpmd() { # log port0-vdev port1-vdev tx-port
    local log=$1 tp i
    rm -f "$FIFO"
    mkfifo "$FIFO"
    stdbuf -oL -eL dpdk-testpmd --no-huge -m 1024 --no-pci --file-prefix vgwtestpmd -l 0,1 \
        --vdev "$2" --vdev "$3" -- \
        -i --forward-mode=io --nb-cores=1 --total-num-mbufs=32768 --record-core-cycles \
        <"$FIFO" >"$log" 2>&1 &
    tp=$!
    PIDS+=("$tp")
    exec 3>"$FIFO"
    for i in $(seq 300); do
        awk '/^Checking link statuses/ {f = 1} f && /^Done/ {ok = 1} END {exit !ok}' "$log" && break
        kill -0 "$tp" 2>/dev/null || die "testpmd exited early, see $log"
        sleep 0.1
    done
    ((i < 300)) || die "testpmd not ready after 30 s, see $log"
    echo start >&3
    sleep "$WARMUP"
    echo "show port stats $4" >&3
    sleep "$SECS"
    echo "show port stats $4" >&3
    echo stop >&3
    echo quit >&3
    exec 3>&-
    for i in $(seq 100); do kill -0 "$tp" 2>/dev/null || break; sleep 0.1; done
    stop_pid "$tp"
    rm -f "$FIFO"
}

# --- machine --------------------------------------------------------------------
{
    echo "date: $(date -u +%FT%TZ)"
    echo "cpu: $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), $(nproc) cores"
    echo "dpdk: $(pkg-config --modversion libdpdk 2>/dev/null || echo '?')"
    echo "vtepgw: $GW, git $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- . ':!perf' 2>/dev/null || echo ' + uncommitted changes outside perf/')"
    echo "loadavg before: $(cat /proc/loadavg)"
    echo "SECS=$SECS WARMUP=$WARMUP SIZES=$SIZES CASES=$CASES"
} >"$OUT/machine.txt"
cat "$OUT/machine.txt"

# --- the underlay MAC: the pcap PMD's, read from a short probe run ----------------
probe_mac() { # name underlay-vdev phys0-vdev: sets MAC to the underlay port's MAC
    gw_config "$2" "$3" >"$OUT/$1.toml"
    start_gw "$OUT/$1.toml" "$OUT/$1.log"
    stop_pid "$GW_PID"
    local mac
    mac=$(grep 'port started' "$OUT/$1.log" | grep 'underlay' | grep -o 'mac=[0-9a-fA-F:]*' | head -1 | cut -d= -f2)
    [[ $mac =~ ^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$ ]] || die "no underlay MAC in $OUT/$1.log"
    MAC=$mac
}
$PY perf/gen_decap_pcap.py "$OUT/probe.pcap" 02:00:00:00:00:99 110 --count 4
if [[ " $CASES " == *" decap "* ]]; then
    probe_mac probe "net_pcap0,rx_pcap=$PWD/$OUT/probe.pcap" "net_null1,no-rx=1"
    DMAC=$MAC
    echo "underlay MAC (decap: net_pcap0 + net_null1): $DMAC"
fi
if [[ " $CASES " == *" encap "* ]]; then
    # Same device kinds and order as the encap runs: two net_pcap ports.
    probe_mac probe-encap "net_pcap0,rx_pcap=$PWD/$OUT/probe.pcap" "net_pcap1,rx_pcap=$PWD/$OUT/probe.pcap"
    EMAC=$MAC
    echo "underlay MAC (encap: net_pcap0 + net_pcap1): $EMAC"
    ARP=$OUT/arp-reply.pcap
    $PY perf/gen_encap_pcap.py arp-reply "$ARP" "$EMAC"
fi
# In the encap runs the inner destination is a static MAC behind 192.0.2.1
# (whose MAC the ARP reply gives).
STATIC='static_macs = [{ mac = "02:00:00:04:00:01", vtep = "192.0.2.1" }]'

hdr=$(printf "%-10s %9s %9s %6s %10s %10s %10s %10s" case tp_Mpps gw_Mpps ratio tp_cyc/pkt gw_cyc/pkt tp_tsc/pps gw_tsc/pps)
printf "%s\n" "$hdr" >"$OUT/results.tsv.tmp"
notes=()

# One row: testpmd io between the two devices, then the gateway on the same
# devices (port 0 = the underlay, port 1 = phys0).
measure() { # case size tag vdev0 vdev1 vni-extra testpmd-tx-port gw-out-port gw-in-port
    local case=$1 size=$2 tag=$3 v0=$4 v1=$5 extra=$6 tport=$7 out=$8 in=$9
    # Baseline.
    run_testpmd "$OUT/testpmd-$tag.log" "$v0" "$v1" "$tport"
    tl=$OUT/testpmd-$tag.log
    tp_pps=$(grep 'Tx-pps:' "$tl" | tail -1 | awk '{print $2}')
    tp_first=$(grep -A4 "NIC statistics for port $tport " "$tl" | awk '/TX-packets:/ {print $2; exit}')
    tp_cyc=$(grep -o 'CPU cycles/packet=[0-9.]*' "$tl" | tail -1 | cut -d= -f2)
    tp_mhz=$(grep -o 'at [0-9]* MHz Clock' "$tl" | tail -1 | awk '{print $2}')
    [[ -n $tp_pps && -n $tp_first && $tp_first -gt 0 ]] || die "could not read testpmd's rate from $tl"

    # The gateway.
    gw_config "$v0" "$v1" "$extra" >"$OUT/gw-$tag.toml"
    start_gw "$OUT/gw-$tag.toml" "$OUT/gw-$tag.log"
    sleep "$WARMUP"
    b=$OUT/gw-$tag.before a=$OUT/gw-$tag.after
    t0=$(now); curl -sf "http://127.0.0.1:$PORT/metrics" >"$b"; t1=$(now)
    sleep "$SECS"
    t2=$(now); curl -sf "http://127.0.0.1:$PORT/metrics" >"$a"; t3=$(now)
    stop_pid "$GW_PID"
    dt=$(awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN {printf "%.6f", (c + d) / 2 - (a + b) / 2}')
    d_tx=$(delta "$b" "$a" "vtepgw_port_packets_total{direction=\"tx\",port=\"$out\"}")
    d_rx=$(delta "$b" "$a" "vtepgw_port_packets_total{direction=\"rx\",port=\"$in\"}")
    d_wp=$(delta "$b" "$a" 'vtepgw_worker_packets_total{worker="0"}')
    d_cyc=$(delta "$b" "$a" 'vtepgw_worker_busy_cycles_total{worker="0"}')
    d_polls=$(delta "$b" "$a" 'vtepgw_worker_polls_total{worker="0"}')
    gw_hz=$(metric "$a" vtepgw_tsc_hz)

    row=$(awk -v c="$case-$size" -v tpp="$tp_pps" -v tpc="${tp_cyc:-NaN}" -v mhz="${tp_mhz:-NaN}" \
        -v tx="$d_tx" -v dt="$dt" -v cyc="$d_cyc" -v wp="$d_wp" -v hz="$gw_hz" 'BEGIN {
        gwpps = tx / dt
        printf "%-10s %9.2f %9.2f %6.3f %10.1f %10.1f %10.1f %10.1f",
            c, tpp / 1e6, gwpps / 1e6, gwpps / tpp, tpc, cyc / wp,
            mhz * 1e6 / tpp, hz / gwpps }')
    printf "%s\n" "$row" >>"$OUT/results.tsv.tmp"
    # Anything odd: drops, and whether the counters agree.
    # (encap drops a few frames at start, before the VTEP's ARP reply is
    # processed: since-start counts are noted apart from the interval's.)
    drops=$(awk '$1 ~ /^vtepgw_drops_total/ {if (FNR == NR) b[$1] = $2; else if ($2 - b[$1] != 0) printf "%s=%s ", $1, $2 - b[$1]}' "$b" "$a")
    [[ -z $drops ]] || notes+=("$case-$size: non-zero drop counters during the interval: $drops")
    drops=$(grep '^vtepgw_drops_total' "$a" | awk '$2 != 0 {printf "%s=%s ", $1, $2}')
    [[ -z $drops ]] || notes+=("$case-$size: drop counters since the gateway started: $drops")
    notes+=("$case-$size: gateway interval ${dt}s, $in rx $d_rx, $out tx $d_tx, worker packets $d_wp, polls $d_polls ($(awk -v p="$d_wp" -v n="$d_polls" 'BEGIN {printf "%.1f", p / n}') pkts/poll); testpmd at start of interval: $tp_first pkts already forwarded")
}

run_decap() { # size
    local size=$1
    pcap=$OUT/decap-$size.pcap
    $PY perf/gen_decap_pcap.py "$pcap" "$DMAC" "$size" --count 1024

    # Check once that the gateway does decapsulate this capture: replay it
    # once (no infinite_rx) and capture what leaves phys0.
    rm -f "$OUT/verify-$size.pcap"
    gw_config "net_pcap0,rx_pcap=$PWD/$pcap" "net_pcap1,tx_pcap=$PWD/$OUT/verify-$size.pcap" >"$OUT/verify-$size.toml"
    start_gw "$OUT/verify-$size.toml" "$OUT/verify-$size.log"
    sleep 1
    curl -s "http://127.0.0.1:$PORT/metrics" >"$OUT/verify-$size.metrics"
    stop_pid "$GW_PID"
    $PY - "$OUT/verify-$size.pcap" "$size" 1024 <<'EOF' || die "the gateway's output for this capture is wrong (see $OUT/verify-$size.*)"
import sys
from scapy.all import rdpcap, Dot1Q, UDP, Ether
path, size, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pkts = rdpcap(path)
ok = [p for p in pkts if Dot1Q in p and p[Dot1Q].vlan == 10 and UDP in p
      and p[UDP].dport == 7000 and len(p) == size - 50 + 4]
srcs = {p[Ether].src for p in ok}
flows = {(p["IP"].src, p[UDP].sport) for p in ok}
print(f"verify {size}: {len(pkts)} frames out of phys0, {len(ok)} VLAN-10 decapsulated "
      f"({size - 50 + 4} bytes), {len(srcs)} inner source MACs, {len(flows)} flows")
sys.exit(0 if len(pkts) == count and len(ok) == count and len(srcs) == 16 and len(flows) == 256 else 1)
EOF

    measure decap "$size" "$size" "net_pcap0,rx_pcap=$PWD/$pcap,infinite_rx=1" "net_null1,no-rx=1" "" 1 phys0 underlay
}

run_encap() { # size (of the VXLAN frames sent; the VLAN frames in are 46 bytes shorter)
    local size=$1 v=$OUT/verify-encap-$size cap i rc=0
    pcap=$OUT/encap-$size.pcap
    $PY perf/gen_encap_pcap.py frames "$pcap" "$size" --count 1024

    # Check that the gateway does encapsulate this capture, to the MAC the
    # ARP reply gave. The frames cannot be replayed just once as for decap:
    # the first ones arrive before the ARP reply is processed and are
    # dropped (vtep_unresolved). So phys0 replays them forever, the underlay
    # TX goes into a FIFO, and a reader keeps everything up to the 2048th
    # VXLAN frame (then throws the rest away until the gateway stops).
    rm -f "$v.pcap" "$CAPFIFO"
    mkfifo "$CAPFIFO"
    timeout 60 "$PY" perf/verify_encap.py capture "$CAPFIFO" "$v.pcap" 2048 >"$v.capture.log" 2>&1 &
    cap=$!
    PIDS+=("$cap")
    gw_config "net_pcap0,rx_pcap=$PWD/$ARP,tx_pcap=$PWD/$CAPFIFO" "net_pcap1,rx_pcap=$PWD/$pcap,infinite_rx=1" "$STATIC" >"$v.toml"
    start_gw "$v.toml" "$v.log"
    for i in $(seq 200); do
        [[ -e $v.pcap ]] && break
        kill -0 "$cap" 2>/dev/null || break
        sleep 0.1
    done
    curl -s "http://127.0.0.1:$PORT/metrics" >"$v.metrics"
    stop_pid "$GW_PID"
    wait "$cap" || rc=$?
    forget "$cap"
    rm -f "$CAPFIFO"
    [[ -e $v.pcap && $rc -eq 0 ]] || die "no encapsulated frames captured (reader exit $rc; see $v.capture.log, $v.metrics, $v.log)"
    $PY perf/verify_encap.py check "$v.pcap" "$size" "$EMAC" --count 1024 \
        || die "the gateway's encap output for this capture is wrong (see $v.*)"
    echo "verify encap $size: gateway counters: $(grep -E '^vtepgw_(drops_total\{reason="vtep_unresolved"\}|next_hops\{state="resolved"\}|arp_received_total)' "$v.metrics" | tr '\n' ' ' || true)"

    measure encap "$size" "encap-$size" "net_pcap0,rx_pcap=$PWD/$ARP" "net_pcap1,rx_pcap=$PWD/$pcap,infinite_rx=1" "$STATIC" 0 underlay phys0
}

for case in $CASES; do
    for size in $SIZES; do
        "run_$case" "$size"
    done
done

mv "$OUT/results.tsv.tmp" "$OUT/results.tsv"
echo
cat "$OUT/results.tsv"
printf "  %s\n" "${notes[@]}"
stamp=$(date -u +%FT%TZ)
tail -n +2 "$OUT/results.tsv" | sed "s/^/$stamp secs=$SECS /" >>"$OUT/history.tsv"
echo "tp = dpdk-testpmd io, gw = vtepgw; cyc/pkt = busy TSC cycles per packet from each one's own counters; tsc/pps = TSC Hz / packets per second"
