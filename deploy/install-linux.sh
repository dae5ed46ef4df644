#!/usr/bin/env bash
# Install perceive as a systemd service on any Linux box with Python >= 3.10 (CPU inference).
#   sudo deploy/install-linux.sh            install, or upgrade in place (config and state kept)
#   sudo deploy/uninstall.sh [--purge]      remove
source "$(dirname "$0")/install-common.sh"
require_root
apt_install python3-venv python3-pip libportaudio2 v4l-utils
make_venv
install_perceive "audio,daemon"
install_user
install_config "$REPO/deploy/configs/linux.toml"
install_unit
start_service
