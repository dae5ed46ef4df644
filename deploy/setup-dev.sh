#!/usr/bin/env bash
# Set up a development / CI machine (Debian or Ubuntu, Python >= 3.10) from a fresh clone: Debian
# packages (when run as root), a virtual environment in .venv, and perceive, pinned by
# .ci/constraints.txt so every machine gets the same versions.
#
#   bash deploy/setup-dev.sh            everything: every extra, PyTorch included (~2 GB; the tests need it)
#   bash deploy/setup-dev.sh --runtime  what the demo, the daemon and the CLI need: the runtime with
#                                       audio, and a GUI build of OpenCV (no PyTorch; about a minute)
# Either can run after the other: --runtime then the full set-up only adds what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=full
case "${1:-}" in
    "") ;;
    --runtime) mode=runtime ;;
    *) echo "setup-dev: unknown option '$1' (use --runtime, or nothing for the full set-up)" >&2; exit 2 ;;
esac
step=0
steps=4
say() { step=$((step + 1)); echo "setup-dev [$step/$steps]: $*"; }
# pip shows its own progress bars when it downloads; the version check is the only chatter left out.
pip_install() { .venv/bin/python -m pip install --disable-pip-version-check --progress-bar on "$@"; }

if [ "$mode" = runtime ]; then
    apt_list=.ci/apt-runtime.txt
    extras=audio
else
    apt_list=.ci/apt-packages.txt
    extras=audio,daemon,train,bench,dev
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "Debian packages from $apt_list"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive xargs -a "$apt_list" \
        apt-get install -y -qq --no-install-recommends >/dev/null
else
    say "skipping Debian packages (not root): install those in $apt_list yourself"
fi
say "virtual environment in .venv"
python3 -m venv .venv
pip_install -q --upgrade pip
say "perceive[$extras] (pinned by .ci/constraints.txt)"
pip_install -c .ci/constraints.txt -e ".[$extras]"
# A GUI build of the same OpenCV, off the import path: `PYTHONPATH=.venv/opencv-gui perceive demo`
# opens the demo's window with it, and the window test (tests/demo) uses it under Xvfb; the runtime
# itself keeps opencv-python-headless.
say "GUI build of OpenCV in .venv/opencv-gui"
pip_install --no-deps --upgrade --target .venv/opencv-gui \
    "opencv-python==$(sed -n 's/^opencv-python-headless==//p' .ci/constraints.txt)"
echo "setup-dev: ready ($mode): .venv/bin/perceive"
