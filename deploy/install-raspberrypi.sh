#!/usr/bin/env bash
# Install perceive on a Raspberry Pi 4/5 running Raspberry Pi OS 64-bit (Bookworm).
# onnxruntime and opencv-python-headless have aarch64 wheels on PyPI; inference runs on the CPU.
#   sudo deploy/install-raspberrypi.sh      install, or upgrade in place (config and state kept)
source "$(dirname "$0")/install-common.sh"
require_root
[ "$(uname -m)" = aarch64 ] || die "needs the 64-bit OS (uname -m is $(uname -m)); onnxruntime has no armv7 wheel"
grep -qa "Raspberry Pi" /proc/device-tree/model 2>/dev/null || say "warning: this does not look like a Raspberry Pi"
# libcamera-tools gives `libcamerify`, the V4L2 layer a CSI camera module needs for OpenCV.
apt_install python3-venv python3-pip libportaudio2 v4l-utils libcamera-tools
make_venv
install_perceive "audio,daemon"
install_user
install_config "$REPO/deploy/configs/raspberrypi.toml"
install_unit
start_service
