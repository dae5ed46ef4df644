# Shared by install-linux.sh, install-raspberrypi.sh and install-jetson.sh (sourced, not run).
# Installs perceive from this source tree into a virtual environment, the systemd unit, the
# system user, and the device's example config (an existing /etc/perceive/perceive.toml is kept).
# Running an install script again upgrades: new code and unit, same config and state.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${PERCEIVE_PREFIX:-/opt/perceive}"
VENV="$PREFIX/venv"
CONFIG_DIR=/etc/perceive
UNIT_DIR=/etc/systemd/system

say() { printf 'perceive-install: %s\n' "$*"; }
die() { printf 'perceive-install: error: %s\n' "$*" >&2; exit 1; }

require_root() {
    [ "$(id -u)" = 0 ] || die "run as root (sudo $0)"
    command -v systemctl >/dev/null || die "systemd is required (systemctl not found)"
}

apt_install() {
    command -v apt-get >/dev/null || { say "no apt-get: install these yourself: $*"; return 0; }
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

# make_venv [--system-site-packages]
make_venv() {
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' || die "Python >= 3.10 needed"
    mkdir -p "$PREFIX"
    [ -x "$VENV/bin/python" ] || python3 -m venv "$@" "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
}

# install_perceive EXTRAS: the runtime with its extras (never the train extra: no PyTorch on a device)
install_perceive() {
    "$VENV/bin/python" -m pip install -q --upgrade "$REPO[$1]"
    ln -sf "$VENV/bin/perceive" /usr/local/bin/perceive
}

install_user() {
    install -D -m 0644 "$REPO/systemd/perceive.sysusers.conf" /usr/lib/sysusers.d/perceive.conf
    systemd-sysusers /usr/lib/sysusers.d/perceive.conf
}

# install_config EXAMPLE: the device's example config, unless a config is already there
install_config() {
    install -d -m 0755 "$CONFIG_DIR"
    if [ -e "$CONFIG_DIR/perceive.toml" ]; then
        say "keeping existing $CONFIG_DIR/perceive.toml (example: $CONFIG_DIR/perceive.toml.example)"
        install -m 0644 "$1" "$CONFIG_DIR/perceive.toml.example"
    else
        install -m 0644 "$1" "$CONFIG_DIR/perceive.toml"
    fi
    "$VENV/bin/perceive" validate "$CONFIG_DIR/perceive.toml" || die "fix $CONFIG_DIR/perceive.toml, then run me again"
}

install_unit() {
    sed "s#^ExecStart=/opt/perceive/venv/bin/perceive#ExecStart=$VENV/bin/perceive#" \
        "$REPO/systemd/perceive.service" > "$UNIT_DIR/perceive.service"
    chmod 0644 "$UNIT_DIR/perceive.service"
    systemd-analyze verify "$UNIT_DIR/perceive.service"
    systemctl daemon-reload
}

start_service() {
    systemctl enable perceive.service >/dev/null
    systemctl restart perceive.service
    sleep 2
    if systemctl is-active --quiet perceive.service; then
        say "running. Status: systemctl status perceive; logs: journalctl -u perceive -f"
    else
        say "the service did not start; what is wrong:"
        runuser -u perceive -- "$VENV/bin/perceive" doctor --config "$CONFIG_DIR/perceive.toml" || true
        journalctl -u perceive -n 30 --no-pager || true
        exit 1
    fi
}
