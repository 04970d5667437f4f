#!/usr/bin/env bash
# Decap, encap, flood and scale benchmarks.
# decap: VXLAN frames replayed from memory by net_pcap (infinite_rx=1) into
# the gateway's underlay port, decapsulated, tagged with VLAN 10 and sent to
# a net_null sink.
# encap: VLAN-10 frames replayed the same way into the physical port, to a
# static MAC behind a remote VTEP, encapsulated and sent out of the underlay
# port (a net_pcap whose TX drops; its RX replays once the VTEP's ARP reply,
# which resolves the VTEP before anything is timed).
# The baseline is dpdk-testpmd io-forwarding the same capture between the
# same devices on the same forwarding core, measured in the same run just
# before the gateway; for decap and encap, OVS-DPDK 3.1 (one PMD on the same
# core, same devices and capture, VXLAN decap + VLAN push / VLAN pop + VXLAN
# encap) right after it. Every path's output is checked before it is timed.
# flood: broadcasts from the VLAN port replicated to 4 VTEPs and a second
# local port. mcast: the same broadcasts with VNI 100 on an underlay group
# instead: one copy to the group and one to the second local port. scale: decap with SCALE_MACS static MACs in 4096 VNIs, a
# capture touching SCALE_TOUCH of them against one touching 16.
# Prints Mpps of each, the ratios and clocks per packet; raw output in
# perf/out/ (results.tsv for this run, history.tsv across runs).
#
# Environment: SECS (measured interval, default 10), WARMUP (default 3),
# SIZES (outer, i.e. VXLAN, frame bytes, default "110 600"; flood and scale
# run at 110 only), CASES (default "decap encap flood scale"; also mcast), OVS (0: no
# OVS-DPDK rows), SCALE_MACS (default 1000000), SCALE_TOUCH (default 65536),
# PORT (management port, default 19187), VTEPGW (a prebuilt binary: skips
# setup and the build).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $EUID -eq 0 ]] || exec sudo -E "$0" "$@"

SECS=${SECS:-10}
WARMUP=${WARMUP:-3}
SIZES=${SIZES:-"110 600"}
CASES=${CASES:-"decap encap flood scale"}
OVS=${OVS:-1}
SCALE_MACS=${SCALE_MACS:-1000000}
SCALE_TOUCH=${SCALE_TOUCH:-65536}
PORT=${PORT:-19187}
PY=/usr/bin/python3
OUT=perf/out
FIFO=$OUT/testpmd.fifo
CAPFIFO=$OUT/encap-verify.fifo
CAPFIFO2=$OUT/local-verify.fifo
mkdir -p "$OUT"
for c in $CASES; do [[ $c =~ ^(decap|encap|flood|mcast|scale)$ ]] || { echo "bench: unknown case $c (CASES: decap encap flood mcast scale)" >&2; exit 1; }; done
has() { [[ " $CASES " == *" $1 "* ]]; }
# The encap run replays the VTEP's ARP reply once; the gateway expires a
# next hop it has not heard from for 60 s, so the whole run must end sooner.
if { has encap || has flood || has mcast; } && ((WARMUP + SECS > 45)); then
    echo "bench: encap and flood need WARMUP + SECS <= 45 (the VTEP's MAC expires after 60 s)" >&2; exit 1
fi

if [[ -n ${VTEPGW:-} ]]; then
    GW=$VTEPGW
else
    scripts/setup.sh >/dev/null
    command -v cargo >/dev/null || PATH=$HOME/.cargo/bin:$PATH
    cargo build --release --quiet
    GW=target/release/vtepgw
fi
# OVS-DPDK is only needed here, so it is installed here (not by setup.sh,
# which the test suite runs), idempotently.
WANT_OVS=0
if ((OVS)) && { has decap || has encap; }; then
    WANT_OVS=1
    if [[ $(dpkg-query -W -f='${Status}' openvswitch-switch-dpdk 2>/dev/null) != "install ok installed" ]]; then
        echo "bench: installing openvswitch-switch-dpdk"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq --no-install-recommends openvswitch-switch-dpdk >/dev/null
    fi
    OVS_VSWITCHD=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
    [[ -x $OVS_VSWITCHD ]] || { echo "bench: $OVS_VSWITCHD missing" >&2; exit 1; }
fi
NS=vgwbench$$

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
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "/var/run/dpdk/vgwbench$$" "/var/run/dpdk/vgwtestpmd$$" "/var/run/dpdk/vgwovs$$"
    rm -f "$FIFO" "$CAPFIFO" "$CAPFIFO2" "$OUT/results.tsv.tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "bench: $*" >&2; exit 1; }

if curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
    die "something already answers on 127.0.0.1:$PORT (a stale vtepgw?); set PORT or stop it"
fi

# --- gateway ----------------------------------------------------------------
gw_head() { # underlay-vdev other-vdevs...: [dataplane] to [underlay]; MBUFS, MEM, MACCAP
    local u=$1 v vdevs=""
    for v in "$@"; do vdevs+=", \"--vdev\", \"$v\""; done
    cat <<TOML
[dataplane]
main_lcore = 0
worker_lcores = [1]
eal_args = ["--no-huge", "-m", "${MEM:-1024}", "--no-pci", "--file-prefix", "vgwbench$$"$vdevs]
mbufs = ${MBUFS:-32767}
burst_size = 32
idle_sleep_us = 0
mac_table_capacity = ${MACCAP:-65536}
[management]
listen = "127.0.0.1:$PORT"
[underlay]
device = "${u%%,*}"
address = "192.0.2.10/24"
udp_port = 4789
TOML
}
gw_config() { # underlay-vdev phys0-vdev [extra lines for VNI 100]; FLOOD_TO = the VNI's flood list
    gw_head "$1" "$2" ${EXTRA_VDEVS:-}
    cat <<TOML
[[port]]
name = "phys0"
device = "${2%%,*}"
vlans = [{ vlan = 10, vni = 100 }]
[[vni]]
id = 100
flood = [${FLOOD_TO:-}]
TOML
    [[ -z ${3:-} ]] || printf "%s\n" "$3"
}

start_gw() { # toml log [seconds to wait, default 15]; sets GW_PID once /healthz answers
    "$GW" check-config "$1" >/dev/null || die "invalid config $1"
    "$GW" run --config "$1" >"$2" 2>&1 &
    GW_PID=$!
    PIDS+=("$GW_PID")
    local i
    for i in $(seq $((${3:-15} * 10))); do
        curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && return 0
        kill -0 "$GW_PID" 2>/dev/null || { tail -5 "$2" >&2; die "vtepgw exited early, see $2"; }
        sleep 0.1
    done
    die "vtepgw not healthy after ${3:-15} s, see $2"
}

metric() { awk -v s="$2" '$1 == s {print $2; f=1} END {if (!f) print "NaN"}' "$1"; }
delta() { awk -v a="$(metric "$2" "$3")" -v b="$(metric "$1" "$3")" 'BEGIN {printf "%.0f", a - b}'; }
tx_delta() { # before after port[+port...]: packets sent on those ports
    local p sum=0
    for p in ${3//+/ }; do
        sum=$((sum + $(delta "$1" "$2" "vtepgw_port_packets_total{direction=\"tx\",port=\"$p\"}")))
    done
    echo "$sum"
}
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
    stdbuf -oL -eL dpdk-testpmd --no-huge -m 1024 --no-pci --file-prefix vgwtestpmd$$ -l 0,1 \
        --vdev "$2" --vdev "$3" -- \
        -i --forward-mode=io --nb-cores=1 --total-num-mbufs="${TP_MBUFS:-32768}" --record-core-cycles \
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

# --- OVS-DPDK -----------------------------------------------------------------------
# ovsdb-server and ovs-vswitchd-dpdk run inside the network namespace $NS
# (br-phy's tap and its kernel route to 192.0.2.0/24, which OVS's tunnel
# code needs, stay in there), with a private run/db/log directory per row.
# One PMD thread on core 1 (the forwarding lcore of the others); DPDK as the
# others: --no-huge --no-pci, its own --file-prefix. br-phy holds the
# underlay port and the tunnel endpoint 192.0.2.10 (its MAC is set to the
# gateway's underlay MAC, so the same captures apply); br-int holds the
# VXLAN port (VNI 100, remote 192.0.2.1, access port of VLAN 10) and the
# physical port (trunk of VLAN 10), forwarding with NORMAL (MAC learning).
# br-int's own tap is put on VLAN 4094 so that floods in VLAN 10 skip it.
ovsctl() { OVS_RUNDIR=$OD OVS_DBDIR=$OD OVS_LOGDIR=$OD ovs-vsctl --db="unix:$OD/db.sock" --timeout=30 "$@"; }
ovsapp() { OVS_RUNDIR=$OD ovs-appctl --timeout=30 -t "$OD/vswitchd.ctl" "$@"; }
# (env, not a shell function, so that $! of "ovsenv ... &" is the daemon's PID)
ovsenv() { echo env "OVS_RUNDIR=$OD" "OVS_DBDIR=$OD" "OVS_LOGDIR=$OD" "OVS_SYSCONFDIR=$OD"; }
ovs_up() { # tag mode(decap|encap) underlay-vdev phys-vdev bridge-mac
    local tag=$1 mode=$2 i
    OD=$PWD/$OUT/ovs-$tag
    rm -rf "$OD"; mkdir -p "$OD"
    [[ -e /run/netns/$NS ]] || ip netns add "$NS"
    ip -n "$NS" link set lo up
    ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ovsdb-tool create "$OD/conf.db" /usr/share/openvswitch/vswitch.ovsschema
    $(ovsenv) ip netns exec "$NS" ovsdb-server "$OD/conf.db" --remote="punix:$OD/db.sock" --unixctl="$OD/ovsdb.ctl" \
        --log-file="$OD/ovsdb-server.log" --no-chdir >/dev/null 2>&1 &
    OVSDB_PID=$!; PIDS+=("$OVSDB_PID")
    for i in $(seq 100); do [[ -S $OD/db.sock ]] && break; sleep 0.1; done
    ovsctl --no-wait init
    ovsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true \
        "other_config:dpdk-extra=--no-huge -m 1024 --legacy-mem --no-pci --file-prefix vgwovs$$" \
        other_config:dpdk-lcore-mask=0x1 other_config:pmd-cpu-mask=0x2 \
        other_config:n-handler-threads=1 other_config:n-revalidator-threads=1
    $(ovsenv) ip netns exec "$NS" "$OVS_VSWITCHD" "unix:$OD/db.sock" --log-file="$OD/ovs-vswitchd.log" \
        --unixctl="$OD/vswitchd.ctl" --no-chdir >/dev/null 2>&1 &
    OVS_PID=$!; PIDS+=("$OVS_PID")
    for i in $(seq 300); do
        [[ $(ovsctl --no-wait get Open_vSwitch . dpdk_initialized 2>/dev/null) == true ]] && break
        kill -0 "$OVS_PID" 2>/dev/null || die "ovs-vswitchd exited early, see $OD/ovs-vswitchd.log"
        sleep 0.1
    done
    ((i < 300)) || die "OVS-DPDK not initialised after 30 s, see $OD/ovs-vswitchd.log"
    ovsctl add-br br-phy -- set bridge br-phy datapath_type=netdev "other-config:hwaddr=$5" \
        -- add-br br-int -- set bridge br-int datapath_type=netdev -- set port br-int tag=4094
    ip -n "$NS" link set br-phy up
    ip -n "$NS" addr replace 192.0.2.10/24 dev br-phy
    ovsctl add-port br-int vx0 -- set interface vx0 type=vxlan options:remote_ip=192.0.2.1 \
        options:local_ip=192.0.2.10 options:key=100 -- set port vx0 tag=10
    for i in $(seq 100); do ovsapp ovs/route/show | grep -q '192.0.2.0/24 dev br-phy' && break; sleep 0.1; done
    ovsapp tnl/neigh/set br-phy 192.0.2.1 02:00:00:00:0a:01 >/dev/null
    # The input port last, so that everything is in place when traffic starts.
    local uport=(add-port br-phy underlay -- set interface underlay type=dpdk "options:dpdk-devargs=$3")
    local pport=(add-port br-int phys0 -- set port phys0 vlan_mode=trunk trunks=10 -- set interface phys0 type=dpdk "options:dpdk-devargs=$4")
    if [[ $mode == decap ]]; then ovsctl "${pport[@]}"; ovsctl "${uport[@]}"; else ovsctl "${uport[@]}"; ovsctl "${pport[@]}"; fi
}
ovs_down() {
    ovsapp dpctl/dump-flows >"$OD/flows.txt" 2>&1 || true
    stop_pid "$OVS_PID"
    stop_pid "$OVSDB_PID"
    ip netns del "$NS"   # with br-phy's tap, if OVS left it
}
ovs_tx() { ovsctl get interface "$1" statistics:tx_packets; }
# Times OVS on the row's devices: sets OVS_PPS (tx of the output port over
# wall time) and OVS_CYC (the PMD's processing cycles per received packet,
# pmd-stats-show over the same interval).
ovs_measure() { # tag mode underlay-vdev phys-vdev bridge-mac out-interface
    local s0 s1 t0 t1
    ovs_up "$1" "$2" "$3" "$4" "$5"
    sleep "$WARMUP"
    s0=$(ovs_tx "$6"); t0=$(now)
    ovsapp dpif-netdev/pmd-stats-clear >/dev/null
    sleep "$SECS"
    ovsapp dpif-netdev/pmd-stats-show >"$OD/pmd-stats.txt"
    s1=$(ovs_tx "$6"); t1=$(now)
    ovsapp dpif-netdev/pmd-rxq-show >"$OD/pmd-rxq.txt" 2>&1 || true
    ovsctl get interface underlay statistics >"$OD/underlay-stats.txt"
    ovsctl get interface phys0 statistics >"$OD/phys0-stats.txt"
    ovs_down
    OVS_PPS=$(awk -v a="$s0" -v b="$s1" -v t0="$t0" -v t1="$t1" 'BEGIN {printf "%.0f", (b - a) / (t1 - t0)}')
    OVS_CYC=$(awk '/core_id 1:/ {f = 1} f && /avg processing cycles per packet:/ {print $6; exit}' "$OD/pmd-stats.txt")
    [[ -n $OVS_CYC && $OVS_PPS -gt 0 ]] || die "could not read OVS's rate or cycles (see $OD)"
}

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
if has decap || has scale; then
    probe_mac probe "net_pcap0,rx_pcap=$PWD/$OUT/probe.pcap" "net_null1,no-rx=1"
    DMAC=$MAC
    echo "underlay MAC (decap: net_pcap0 + net_null1): $DMAC"
fi
if has encap || has flood || has mcast; then
    # Same device kinds and order as the encap runs: two net_pcap ports.
    probe_mac probe-encap "net_pcap0,rx_pcap=$PWD/$OUT/probe.pcap" "net_pcap1,rx_pcap=$PWD/$OUT/probe.pcap"
    EMAC=$MAC
    echo "underlay MAC (encap: net_pcap0 + net_pcap1): $EMAC"
    ARP=$OUT/arp-reply.pcap
    $PY perf/gen_encap_pcap.py arp-reply "$ARP" "$EMAC"
    ARP4=$OUT/arp-reply4.pcap
    $PY perf/gen_encap_pcap.py arp-reply "$ARP4" "$EMAC" --vteps 4
fi
# In the encap runs the inner destination is a static MAC behind 192.0.2.1
# (whose MAC the ARP reply gives).
STATIC='static_macs = [{ mac = "02:00:00:04:00:01", vtep = "192.0.2.1" }]'

hdr=$(printf "%-11s %8s %8s %8s %6s %7s %8s %8s %8s %8s %8s %8s %8s" case tp_Mpps gw_Mpps ovs_Mpps gw/tp gw/ovs tp_cyc gw_cyc ovs_cyc gw-tp tp_tsc gw_tsc ovs_tsc)
printf "%s\n" "$hdr" >"$OUT/results.tsv.tmp"
notes=()
declare -A GWPPS

# One row: testpmd io between the two devices, then the gateway with the
# config already written to $OUT/gw-TAG.toml, then (if asked) OVS-DPDK.
# Port 0 = the underlay, port 1 = phys0.
measure() { # case size tag tp-vdev0 tp-vdev1 testpmd-tx-port gw-out-port(s) gw-in-port [ovs-mode ovs-underlay ovs-phys ovs-mac ovs-out]
    local case=$1 size=$2 tag=$3 v0=$4 v1=$5 tport=$6 out=$7 in=$8
    # Baseline.
    run_testpmd "$OUT/testpmd-$tag.log" "$v0" "$v1" "$tport"
    tl=$OUT/testpmd-$tag.log
    tp_pps=$(grep 'Tx-pps:' "$tl" | tail -1 | awk '{print $2}')
    tp_first=$(grep -A4 "NIC statistics for port $tport " "$tl" | awk '/TX-packets:/ {print $2; exit}')
    tp_cyc=$(grep -o 'CPU cycles/packet=[0-9.]*' "$tl" | tail -1 | cut -d= -f2)
    tp_mhz=$(grep -o 'at [0-9]* MHz Clock' "$tl" | tail -1 | awk '{print $2}')
    [[ -n $tp_pps && -n $tp_first && $tp_first -gt 0 ]] || die "could not read testpmd's rate from $tl"

    # The gateway.
    start_gw "$OUT/gw-$tag.toml" "$OUT/gw-$tag.log" "${GW_WAIT:-15}"
    sleep "$WARMUP"
    b=$OUT/gw-$tag.before a=$OUT/gw-$tag.after
    t0=$(now); curl -sf "http://127.0.0.1:$PORT/metrics" >"$b"; t1=$(now)
    sleep "$SECS"
    t2=$(now); curl -sf "http://127.0.0.1:$PORT/metrics" >"$a"; t3=$(now)
    stop_pid "$GW_PID"
    dt=$(awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN {printf "%.6f", (c + d) / 2 - (a + b) / 2}')
    d_tx=$(tx_delta "$b" "$a" "$out")
    d_rx=$(delta "$b" "$a" "vtepgw_port_packets_total{direction=\"rx\",port=\"$in\"}")
    d_wp=$(delta "$b" "$a" 'vtepgw_worker_packets_total{worker="0"}')
    d_cyc=$(delta "$b" "$a" 'vtepgw_worker_busy_cycles_total{worker="0"}')
    d_polls=$(delta "$b" "$a" 'vtepgw_worker_polls_total{worker="0"}')
    gw_hz=$(metric "$a" vtepgw_tsc_hz)

    # OVS-DPDK.
    OVS_PPS=NaN OVS_CYC=NaN
    if ((WANT_OVS)) && [[ -n ${9:-} ]]; then
        ovs_measure "$tag" "$9" "${10}" "${11}" "${12}" "${13}"
    fi

    row=$(awk -v c="$case-$size" -v tpp="$tp_pps" -v tpc="${tp_cyc:-NaN}" -v mhz="${tp_mhz:-NaN}" \
        -v tx="$d_tx" -v dt="$dt" -v cyc="$d_cyc" -v wp="$d_wp" -v hz="$gw_hz" \
        -v opp="$OVS_PPS" -v oc="$OVS_CYC" 'BEGIN {
        gwpps = tx / dt
        printf "%-11s %8.2f %8.2f %8.2f %6.3f %7.3f %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f %8.1f",
            c, tpp / 1e6, gwpps / 1e6, opp / 1e6, gwpps / tpp, gwpps / opp, tpc, cyc / wp, oc,
            cyc / wp - tpc, mhz * 1e6 / tpp, hz / gwpps, mhz * 1e6 / opp }')
    printf "%s\n" "$row" >>"$OUT/results.tsv.tmp"
    GWPPS[$case-$size]=$(awk -v tx="$d_tx" -v dt="$dt" 'BEGIN {printf "%.0f", tx / dt}')
    GWCYC=$(awk -v cyc="$d_cyc" -v wp="$d_wp" 'BEGIN {printf "%.1f", cyc / wp}')
    # Anything odd: drops, and whether the counters agree.
    # (encap drops a few frames at start, before the VTEP's ARP reply is
    # processed: since-start counts are noted apart from the interval's.)
    drops=$(awk '$1 ~ /^vtepgw_drops_total/ {if (FNR == NR) b[$1] = $2; else if ($2 - b[$1] != 0) printf "%s=%s ", $1, $2 - b[$1]}' "$b" "$a")
    [[ -z $drops ]] || notes+=("$case-$size: non-zero drop counters during the interval: $drops")
    drops=$(grep '^vtepgw_drops_total' "$a" | awk '$2 != 0 {printf "%s=%s ", $1, $2}')
    [[ -z $drops ]] || notes+=("$case-$size: drop counters since the gateway started: $drops")
    notes+=("$case-$size: gateway interval ${dt}s, $in rx $d_rx, $out tx $d_tx, worker packets $d_wp, polls $d_polls ($(awk -v p="$d_wp" -v n="$d_polls" 'BEGIN {printf "%.1f", p / n}') pkts/poll); testpmd at start of interval: $tp_first pkts already forwarded")
}

check_decap_out() { # capture size count: the gateway's (or OVS's) decap output of one replay
    $PY - "$@" <<'EOF'
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
    check_decap_out "$OUT/verify-$size.pcap" "$size" 1024 || die "the gateway's output for this capture is wrong (see $OUT/verify-$size.*)"
    # The same check of OVS's output (decap + VLAN 10 push, same capture).
    # OVS loses a few hundred frames of a single replay while its first
    # flows are set up, so it replays forever into a FIFO, and 2048
    # consecutive output frames are kept and checked.
    if ((WANT_OVS)); then
        local v=$OUT/verify-ovs-$size cap
        start_capture "$v" 2048 --all; cap=$CAP_PID
        ovs_up "verify-$size" decap "net_pcap0,rx_pcap=$PWD/$pcap,infinite_rx=1" "net_pcap1,tx_pcap=$PWD/$CAPFIFO" "$DMAC"
        wait_capture "$v"
        ovs_down
        end_capture "$v" "$cap"
        rm -f "$CAPFIFO"
        echo -n "OVS-DPDK: "
        check_decap_out "$v.pcap" "$size" 2048 || die "OVS's decap output is wrong (see $v.pcap, $OD)"
    fi

    gw_config "net_pcap0,rx_pcap=$PWD/$pcap,infinite_rx=1" "net_null1,no-rx=1" >"$OUT/gw-$size.toml"
    measure decap "$size" "$size" "net_pcap0,rx_pcap=$PWD/$pcap,infinite_rx=1" "net_null1,no-rx=1" 1 phys0 underlay \
        decap "net_pcap0,rx_pcap=$PWD/$pcap,infinite_rx=1" "net_null1,no-rx=1" "$DMAC" phys0
}

# Captures what a running gateway (or OVS) sends on the underlay into $1.pcap
# through $CAPFIFO: start_capture before it starts, end_capture after it stopped.
start_capture() { # out-base count [--all] (fifo)
    local fifo=${4:-$CAPFIFO}
    rm -f "$1.pcap" "$fifo"
    mkfifo "$fifo"
    timeout 60 "$PY" perf/verify_encap.py capture "$fifo" "$1.pcap" "$2" ${3:-} >"$1.capture.log" 2>&1 &
    CAP_PID=$!
    PIDS+=("$CAP_PID")
}
wait_capture() { # out-base
    local i
    for i in $(seq 200); do
        [[ -e $1.pcap ]] && break
        kill -0 "$CAP_PID" 2>/dev/null || break
        sleep 0.1
    done
}
end_capture() { # out-base cap-pid
    local rc=0
    wait "$2" || rc=$?
    forget "$2"
    [[ -e $1.pcap && $rc -eq 0 ]] || die "nothing captured into $1.pcap (reader exit $rc; see $1.capture.log)"
}

run_encap() { # size (of the VXLAN frames sent; the VLAN frames in are 46 bytes shorter)
    local size=$1 v=$OUT/verify-encap-$size cap
    pcap=$OUT/encap-$size.pcap
    $PY perf/gen_encap_pcap.py frames "$pcap" "$size" --count 1024

    # Check that the gateway does encapsulate this capture, to the MAC the
    # ARP reply gave. The frames cannot be replayed just once as for decap:
    # the first ones arrive before the ARP reply is processed and are
    # dropped (vtep_unresolved). So phys0 replays them forever, the underlay
    # TX goes into a FIFO, and a reader keeps everything up to the 2048th
    # VXLAN frame (then throws the rest away until the gateway stops).
    start_capture "$v" 2048; cap=$CAP_PID
    gw_config "net_pcap0,rx_pcap=$PWD/$ARP,tx_pcap=$PWD/$CAPFIFO" "net_pcap1,rx_pcap=$PWD/$pcap,infinite_rx=1" "$STATIC" >"$v.toml"
    start_gw "$v.toml" "$v.log"
    wait_capture "$v"
    curl -s "http://127.0.0.1:$PORT/metrics" >"$v.metrics"
    stop_pid "$GW_PID"
    end_capture "$v" "$cap"
    rm -f "$CAPFIFO"
    $PY perf/verify_encap.py check "$v.pcap" "$size" "$EMAC" --count 1024 \
        || die "the gateway's encap output for this capture is wrong (see $v.*)"
    echo "verify encap $size: gateway counters: $(grep -E '^vtepgw_(drops_total\{reason="vtep_unresolved"\}|next_hops\{state="resolved"\}|arp_received_total)' "$v.metrics" | tr '\n' ' ' || true)"
    # The same check of OVS's output (VLAN pop + VXLAN encap; OVS picks its
    # UDP source ports from 32768-61000).
    if ((WANT_OVS)); then
        v=$OUT/verify-ovs-encap-$size
        start_capture "$v" 2048; cap=$CAP_PID
        ovs_up "verify-encap-$size" encap "net_pcap0,rx_pcap=$PWD/$ARP,tx_pcap=$PWD/$CAPFIFO" "net_pcap1,rx_pcap=$PWD/$pcap,infinite_rx=1" "$EMAC"
        wait_capture "$v"
        ovs_down
        end_capture "$v" "$cap"
        rm -f "$CAPFIFO"
        echo -n "OVS-DPDK: "
        $PY perf/verify_encap.py check "$v.pcap" "$size" "$EMAC" --count 1024 --ports 32768-61000 --order flow \
            || die "OVS's encap output for this capture is wrong (see $v.*, $OD)"
    fi

    gw_config "net_pcap0,rx_pcap=$PWD/$ARP" "net_pcap1,rx_pcap=$PWD/$pcap,infinite_rx=1" "$STATIC" >"$OUT/gw-encap-$size.toml"
    measure encap "$size" "encap-$size" "net_pcap0,rx_pcap=$PWD/$ARP" "net_pcap1,rx_pcap=$PWD/$pcap,infinite_rx=1" 0 underlay phys0 \
        encap "net_pcap0,rx_pcap=$PWD/$ARP" "net_pcap1,rx_pcap=$PWD/$pcap,infinite_rx=1" "$EMAC" underlay
}

# Flood: broadcasts from phys0 (VLAN 10, VNI 100) go to the four VTEPs of
# VNI 100's flood list (resolved by four replayed ARP replies) and to phys1
# (VLAN 20 = VNI 100, a net_null sink): five copies of each frame.
FLOOD_VTEPS='"192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"'
flood_port() { printf '[[port]]\nname = "phys1"\ndevice = "%s"\nvlans = [{ vlan = 20, vni = 100 }]\n' "${1%%,*}"; }
flood_config() { # underlay-vdev phys0-vdev phys1-vdev
    FLOOD_TO=$FLOOD_VTEPS EXTRA_VDEVS=$3 gw_config "$1" "$2" "$(flood_port "$3")"
}
run_flood() { run_bum flood "$1" flood_config $((4 * 2048)) 5 "4 VTEPs + phys1" --vteps 4; }
# Broadcasts from phys0 replicated by the gateway, configured by CFG: the
# underlay's copies checked through one FIFO (KEEP VXLAN frames kept,
# verify_encap.py check with the remaining arguments), phys1's through a
# second (2048 frames); then measured. The rate is of input frames (phys1
# gets one copy of each).
run_bum() { # case size cfg keep copies what-copies verify-args...
    local case=$1 size=$2 cfg=$3 keep=$4 copies=$5 what=$6 v=$OUT/verify-$1-$2 cap cap2
    shift 6
    pcap=$OUT/flood-$size.pcap
    $PY perf/gen_encap_pcap.py frames "$pcap" "$size" --count 1024 --dst ff:ff:ff:ff:ff:ff
    start_capture "$v" "$keep"; cap=$CAP_PID
    start_capture "$v-phys1" 2048 --all "$CAPFIFO2"; cap2=$CAP_PID
    "$cfg" "net_pcap0,rx_pcap=$PWD/$ARP4,tx_pcap=$PWD/$CAPFIFO" "net_pcap1,rx_pcap=$PWD/$pcap,infinite_rx=1" \
        "net_pcap2,tx_pcap=$PWD/$CAPFIFO2" >"$v.toml"
    start_gw "$v.toml" "$v.log"
    wait_capture "$v"; CAP_PID=$cap2; wait_capture "$v-phys1"
    curl -s "http://127.0.0.1:$PORT/metrics" >"$v.metrics"
    stop_pid "$GW_PID"
    end_capture "$v" "$cap"; end_capture "$v-phys1" "$cap2"
    rm -f "$CAPFIFO" "$CAPFIFO2"
    $PY perf/verify_encap.py check "$v.pcap" "$size" "$EMAC" --count 1024 --dst ff:ff:ff:ff:ff:ff "$@" \
        || die "the gateway's $case copies on the underlay are wrong (see $v.*)"
    $PY perf/verify_encap.py check-local "$v-phys1.pcap" "$size" 20 --count 1024 \
        || die "the gateway's $case copies to phys1 are wrong (see $v-phys1.*)"

    "$cfg" "net_pcap0,rx_pcap=$PWD/$ARP4" "net_pcap1,rx_pcap=$PWD/$pcap,infinite_rx=1" "net_null2,no-rx=1" >"$OUT/gw-$case-$size.toml"
    measure "$case" "$size" "$case-$size" "net_pcap0,rx_pcap=$PWD/$ARP4" "net_pcap1,rx_pcap=$PWD/$pcap,infinite_rx=1" 0 phys1 phys0
    notes+=("$case-$size: $GWCYC cycles per input frame, $copies copies ($what): $(awk -v c="$GWCYC" -v n="$copies" 'BEGIN {printf "%.1f", c / n}') cycles per copy")
}

# Multicast core replication: the flood case's broadcasts, with VNI 100 on
# group 239.1.1.1 instead of the four-VTEP list: one copy to the group (no
# ARP, the mapped MAC) and one to phys1. Same devices and capture as flood.
mcast_config() { # underlay-vdev phys0-vdev phys1-vdev
    FLOOD_TO="" EXTRA_VDEVS=$3 gw_config "$1" "$2" "$(printf 'group = "239.1.1.1"\n'; flood_port "$3")"
}
run_mcast() { run_bum mcast "$1" mcast_config 2048 2 "the group + phys1" --group 239.1.1.1; }

# Scale: SCALE_MACS static MACs (behind 192.0.2.1) spread over 4096 VNIs,
# each VNI on a VLAN of phys0 or phys1 (net_null sinks); 65536 decap frames
# whose inner sources are SCALE_TOUCH (or 16) of those MACs, to an unknown
# destination (flooded to the VNI's local port).
scale_config() { # underlay-vdev phys0-vdev phys1-vdev body.toml
    MBUFS=131071 MEM=1024 MACCAP=$((1 << 21)) gw_head "$1" "$2" "$3"
    sed -e "s|@PHYS0@|${2%%,*}|" -e "s|@PHYS1@|${3%%,*}|" "$4"
}
run_scale() { # size (110 only)
    local size=$1 body=$OUT/scale-body.toml touch v
    ((size == 110)) || return 0
    ((SCALE_MACS * 2 <= 1 << 21)) || die "SCALE_MACS must be at most $((1 << 20))"
    $PY perf/gen_scale.py config "$body" "$SCALE_MACS"
    for touch in 16 "$SCALE_TOUCH"; do
        pcap=$OUT/scale-$touch.pcap
        $PY perf/gen_scale.py frames "$pcap" "$DMAC" "$SCALE_MACS" "$touch"
        v=$OUT/verify-scale-$touch
        rm -f "$v-0.pcap" "$v-1.pcap"
        scale_config "net_pcap0,rx_pcap=$PWD/$pcap" "net_pcap1,tx_pcap=$PWD/$v-0.pcap" "net_pcap2,tx_pcap=$PWD/$v-1.pcap" "$body" >"$v.toml"
        local t0; t0=$(now)
        start_gw "$v.toml" "$v.log" 120
        notes+=("scale: the gateway with $SCALE_MACS static MACs took $(awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}') s to answer /healthz")
        sleep 2
        curl -s "http://127.0.0.1:$PORT/metrics" >"$v.metrics"
        stop_pid "$GW_PID"
        $PY perf/gen_scale.py check "$v-0.pcap" "$v-1.pcap" --macs "$SCALE_MACS" --touch "$touch" \
            || die "the gateway's output for the scale capture is wrong (see $v.*)"
        scale_config "net_pcap0,rx_pcap=$PWD/$pcap,infinite_rx=1" "net_null1,no-rx=1" "net_null2,no-rx=1" "$body" >"$OUT/gw-scale$touch-$size.toml"
        GW_WAIT=120 TP_MBUFS=131072 measure "scale$touch" "$size" "scale$touch-$size" "net_pcap0,rx_pcap=$PWD/$pcap,infinite_rx=1" "net_null1,no-rx=1" 1 phys0+phys1 underlay
    done
    notes+=("scale: $SCALE_MACS MACs in 4096 VNIs, capture touching $SCALE_TOUCH of them vs 16: vtepgw $(awk -v a="${GWPPS[scale16-110]}" -v b="${GWPPS[scale$SCALE_TOUCH-110]}" 'BEGIN {printf "%.2f vs %.2f Mpps, throughput loss %.1f %%", b / 1e6, a / 1e6, 100 * (1 - b / a)}')")
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
echo "tp = dpdk-testpmd io, gw = vtepgw, ovs = OVS-DPDK (NaN: not run for this case); cyc = busy TSC cycles per packet from each one's own counters (OVS: PMD processing cycles per received packet); gw-tp = vtepgw's own cycles; tsc = TSC Hz / packets per second"
