#!/usr/bin/env bash
# Installs everything vtepgw's build, demo, tests and benchmarks need.
# Idempotent: installs only what is missing, so a second run is quick.
set -euo pipefail
[[ $EUID -eq 0 ]] || exec sudo -E "$0" "$@"

PACKAGES=(
    dpdk libdpdk-dev dpdk-dev          # DPDK 22.11 runtime, headers, dpdk-testpmd
    libclang-dev clang pkg-config      # bindgen; clang also builds the eBPF VLAN tagger
    linux-libc-dev                     # kernel headers for the eBPF program
    iproute2 iputils-ping ethtool      # namespaces, veths, kernel VTEPs, ping
    tcpdump tshark                     # captures read field by field
    python3-scapy                      # crafted frames (used via /usr/bin/python3)
    prometheus                         # promtool check metrics
    curl jq build-essential
)

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # tshark asks whether non-root users may capture; answer no.
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# scapy must import under the system python the tests call.
if ! /usr/bin/python3 -c 'import scapy.all' 2>/dev/null; then
    /usr/bin/python3 -m pip install --quiet --break-system-packages scapy
fi

# A Rust toolchain, only if there is none.
if ! command -v cargo >/dev/null 2>&1; then
    [[ -x $HOME/.cargo/bin/cargo ]] || curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy
    export PATH=$HOME/.cargo/bin:$PATH
fi

# DPDK runs with --no-huge in the demo and tests: no hugepages needed.
echo "setup: ok (DPDK $(pkg-config --modversion libdpdk), $(cargo --version 2>/dev/null || echo 'cargo in ~/.cargo/bin'))"
