#!/usr/bin/env bash
# Install perceive on an NVIDIA Jetson (JetPack 5 or 6) with the onnxruntime-gpu build that has the
# TensorRT and CUDA execution providers (NVIDIA's wheels, not PyPI's). The config enables fp16 and
# the TensorRT engine cache in /var/cache/perceive/tensorrt, with strict provider checking.
#   sudo deploy/install-jetson.sh
#   sudo ORT_WHEEL=/path/onnxruntime_gpu-*.whl deploy/install-jetson.sh     a wheel you downloaded
#   sudo ORT_INDEX=https://pypi.jetson-ai-lab.dev/jp6/cu126 deploy/install-jetson.sh
source "$(dirname "$0")/install-common.sh"
require_root
[ -e /etc/nv_tegra_release ] || die "not a Jetson (/etc/nv_tegra_release missing); use install-linux.sh"
L4T="$(head -n1 /etc/nv_tegra_release)"
say "L4T: $L4T"
case "$L4T" in
    *"R36"*) DEFAULT_INDEX="https://pypi.jetson-ai-lab.dev/jp6/cu126" ;;
    *"R35"*) DEFAULT_INDEX="https://pypi.jetson-ai-lab.dev/jp5/cu114" ;;
    *) DEFAULT_INDEX="" ;;
esac
apt_install python3-venv python3-pip libportaudio2 v4l-utils
# TensorRT's Python-free runtime libraries come with JetPack; the venv sees the system packages.
make_venv --system-site-packages
install_perceive "audio,daemon"
"$VENV/bin/python" -m pip uninstall -y -q onnxruntime || true
if [ -n "${ORT_WHEEL:-}" ]; then
    "$VENV/bin/python" -m pip install -q --force-reinstall "$ORT_WHEEL"
else
    INDEX="${ORT_INDEX:-$DEFAULT_INDEX}"
    [ -n "$INDEX" ] || die "unknown JetPack ($L4T): set ORT_WHEEL to NVIDIA's onnxruntime-gpu wheel"
    "$VENV/bin/python" -m pip install -q --force-reinstall --extra-index-url "$INDEX" onnxruntime-gpu
fi
"$VENV/bin/python" - <<'PY' || die "this onnxruntime lacks the GPU providers (see above)"
import onnxruntime as ort
have = set(ort.get_available_providers())
need = {"TensorrtExecutionProvider", "CUDAExecutionProvider"}
print("onnxruntime", ort.__version__, "providers:", sorted(have))
raise SystemExit(0 if need <= have else f"missing {sorted(need - have)}")
PY
install_user
install_config "$REPO/deploy/configs/jetson.toml"
install_unit
# GPU device nodes (/dev/nvhost-*, /dev/nvmap, /dev/nvgpu) differ between L4T releases: the
# drop-in opens the device list instead of guessing it; everything else in the unit stays hardened.
install -D -m 0644 "$REPO/systemd/jetson-gpu.conf" "$UNIT_DIR/perceive.service.d/jetson-gpu.conf"
systemctl daemon-reload
start_service
