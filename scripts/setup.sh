#!/usr/bin/env bash
# Installs everything vtepgw's build, demo, tests and benchmarks need.
# Idempotent: checks first and installs only what is missing, so a second
# run takes well under a second and touches nothing. Needs root (re-execs
# itself with sudo when that is available). No hugepages needed: DPDK runs
# with --no-huge in the demo and tests.
set -euo pipefail

source "$(dirname "$0")/lib.sh"
as_root "$@"

PACKAGES=(
    dpdk libdpdk-dev dpdk-dev          # DPDK 22.11 runtime, headers, dpdk-testpmd
    libclang-dev clang pkg-config      # bindgen; clang also builds the eBPF VLAN access port
    linux-libc-dev build-essential     # kernel headers for that eBPF program; cc and the linker
    iproute2 iputils-ping ethtool      # namespaces, veths, kernel VTEPs, ping
    iputils-tracepath traceroute       # path MTU discovery and hops across the L3 gateway
    procps ca-certificates             # sysctl and kill; HTTPS for rustup on a fresh machine
    tcpdump tshark                     # captures, read field by field
    python3-scapy                      # crafted frames (used via /usr/bin/python3)
    prometheus                         # promtool check metrics
    curl jq
    systemd                            # systemd-analyze verify for the unit file (installs fine without systemd as PID 1)
)

# No pipe into `grep -q`: under pipefail its early exit (SIGPIPE to dpkg)
# made installed packages look missing.
installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }

missing=()
for p in "${PACKAGES[@]}"; do
    installed "$p" || missing+=("$p")
done

export DEBIAN_FRONTEND=noninteractive
apt_install() {
    # tshark asks whether non-root users may capture; answer no.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    if [[ -z ${APT_UPDATED:-} ]]; then
        apt-get update -qq
        APT_UPDATED=1
    fi
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    apt_install "${missing[@]}"
fi

# scapy must import under the system python the tests call (PATH's python3
# may be another interpreter without it).
if ! /usr/bin/python3 -c 'import scapy.all' >/dev/null 2>&1; then
    echo "setup: python3-scapy does not import; installing scapy with pip"
    /usr/bin/python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
    /usr/bin/python3 -m pip install --quiet --break-system-packages scapy
fi

# A Rust toolchain, only if there is none.
if ! command -v cargo >/dev/null 2>&1; then
    if [[ ! -x $HOME/.cargo/bin/cargo ]]; then
        echo "setup: installing Rust (rustup, minimal profile)"
        curl -sSf https://sh.rustup.rs |
            sh -s -- -y --no-modify-path --profile minimal -c rustfmt,clippy
    fi
    use_cargo
fi

dpdk=$(pkg-config --modversion libdpdk 2>/dev/null || echo '?')
scapy=$(/usr/bin/python3 -c 'import scapy; print(scapy.__version__)' 2>/dev/null || echo '?')
rust=$(cargo --version 2>/dev/null) || rust='cargo ?'
if ((${#missing[@]})); then did="installed ${#missing[@]} package(s)"; else did="nothing to install"; fi
echo "setup: ok ($did; DPDK $dpdk, scapy $scapy, ${rust%% (*})"
