# Sourced by the scripts: root and the Rust toolchain, the same way in each.

# Re-runs the calling script as root: as is when already root, through
# sudo when it is there, else stops with a clear message.
as_root() {
    [[ $EUID -eq 0 ]] && return
    if command -v sudo >/dev/null 2>&1; then
        exec sudo -E "$0" "$@"
    fi
    echo "$(basename "$0"): must run as root, and sudo is not installed; run it as root" >&2
    exit 1
}

# Puts cargo on PATH: setup.sh installs rustup into ~/.cargo/bin, which a
# fresh shell (or sudo's secure_path) does not have.
use_cargo() {
    if ! command -v cargo >/dev/null 2>&1 && [[ -x $HOME/.cargo/bin/cargo ]]; then
        export PATH=$HOME/.cargo/bin:$PATH
    fi
    command -v cargo >/dev/null 2>&1 || {
        echo "$(basename "$0"): cargo not found (scripts/setup.sh installs it)" >&2
        exit 1
    }
}
