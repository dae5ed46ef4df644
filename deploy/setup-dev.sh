#!/usr/bin/env bash
# Set up a development / CI machine (Debian or Ubuntu, Python >= 3.10) from a fresh clone:
# Debian packages (when run as root), a virtual environment in .venv, and perceive with every
# extra, pinned by .ci/constraints.txt so every machine gets the same versions.
set -euo pipefail
cd "$(dirname "$0")/.."
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive xargs -a .ci/apt-packages.txt \
        apt-get install -y -qq --no-install-recommends >/dev/null
elif ! command -v espeak-ng >/dev/null 2>&1; then
    echo "setup-dev: not root; install the Debian packages in .ci/apt-packages.txt yourself" >&2
fi
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c .ci/constraints.txt -e '.[audio,daemon,train,bench,dev]'
# A GUI build of the same OpenCV, off the import path: the demo's window test (tests/demo) puts it on
# PYTHONPATH under Xvfb; the runtime itself keeps opencv-python-headless.
.venv/bin/python -m pip install -q --no-deps --upgrade --target .venv/opencv-gui \
    "opencv-python==$(sed -n 's/^opencv-python-headless==//p' .ci/constraints.txt)"
echo "setup-dev: ready (.venv/bin/perceive)"
