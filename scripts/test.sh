#!/usr/bin/env bash
# Runs the whole test suite: formatting and lints, unit tests, and the
# integration tests that start the real gateway on DPDK virtual devices
# against Linux kernel VTEPs in network namespaces (needs root).
set -euo pipefail
# Before the cd: a re-run through sudo needs $0 as it was given.
source "$(dirname "$0")/lib.sh"
as_root "$@"
cd "$(dirname "$0")/.."
scripts/setup.sh
use_cargo

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

echo "== the operator CLI without DPDK (--no-default-features)"
# Its own target directory, so the default build is not relinked each run;
# PKG_CONFIG=false proves nothing asks for libdpdk.
PKG_CONFIG=false CARGO_TARGET_DIR=target/cli-only cargo build --no-default-features --quiet
if ldd target/cli-only/debug/vtepgw | grep -q librte_; then
  echo "the CLI-only vtepgw links DPDK" >&2
  exit 1
fi
cargo clippy --no-default-features --all-targets --quiet -- -D warnings

echo "== unit tests"
cargo test --workspace --lib --bins --quiet

echo "== integration tests (real binary, DPDK vdevs, kernel VTEPs)"
# Each test builds its own namespaces with unique names; two at a time keeps
# a 2-core machine responsive.
cargo test --workspace --test '*' --quiet -- --test-threads="${TEST_THREADS:-2}"
