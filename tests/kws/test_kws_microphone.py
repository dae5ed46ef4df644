"""The live microphone path: a PulseAudio null sink plays a held-out clip, `perceive listen` hears it.

PulseAudio runs privately (its own socket, no D-Bus); `pacat` plays the WAV into a null
sink whose monitor is the default source; PortAudio reaches it through the ALSA 'pulse'
device (libasound2-plugins). `perceive listen` runs in a subprocess so that PortAudio
initialises with this PULSE_SERVER. A second `pacat` plays a steady noise floor under the
clip, as every real microphone has one: an idle null sink is digital silence, and a clip
starting out of it is a jump in background level no room produces.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.kws.make_fixtures import NOISE_RMS, SAMPLE_RATE, write_wav
from tests.kws.paths import FIXTURES

SINK = "kwsnull"
CLIP = "unlock_en-029_m5.wav"
STARTUP_S = 15.0
FLOOR_S = 20.0        # longer than the test: the floor plays until it is stopped
KEYWORDS = {"unlock", "lock", "yes", "no", "stop", "go", "left", "right", "up", "down", "on", "off"}


def _missing() -> str:
    for tool in ("pulseaudio", "pacat", "pactl"):
        if not shutil.which(tool):
            return f"{tool} is not installed (apt-get install pulseaudio pulseaudio-utils)"
    try:
        import sounddevice  # noqa: F401
    except (ImportError, OSError) as exc:
        return f"sounddevice unavailable: {exc} (needs libportaudio2)"
    return ""


@pytest.fixture
def pulse(tmp_path):
    reason = _missing()
    if reason:
        pytest.skip(reason)
    socket = tmp_path / "pulse.sock"
    env = {**os.environ, "PULSE_SERVER": f"unix:{socket}", "HOME": str(tmp_path),
           "XDG_RUNTIME_DIR": str(tmp_path)}
    daemon = subprocess.Popen(
        ["pulseaudio", "--daemonize=no", "-n", "--exit-idle-time=-1", "--disallow-exit", "--log-target=stderr",
         f"--load=module-null-sink sink_name={SINK} rate=16000 channels=1",
         f"--load=module-native-protocol-unix socket={socket} auth-anonymous=1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + STARTUP_S
    while subprocess.run(["pactl", "info"], env=env, capture_output=True).returncode != 0:
        if daemon.poll() is not None or time.monotonic() > deadline:
            daemon.kill()
            pytest.fail(f"pulseaudio did not start: {daemon.stderr.read().decode()[-2000:]}")
        time.sleep(0.2)
    subprocess.run(["pactl", "set-default-source", f"{SINK}.monitor"], env=env, check=True)
    yield env
    daemon.terminate()
    daemon.wait(timeout=10)


def test_listen_on_the_microphone_hears_the_command(pulse, tmp_path):
    floor = tmp_path / "floor.wav"
    write_wav(floor, np.random.default_rng(0).standard_normal(int(FLOOR_S * SAMPLE_RATE)) * NOISE_RMS)
    room = subprocess.Popen(["pacat", "--playback", "--file-format=wav", f"--device={SINK}", str(floor)],
                            env=pulse, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Ctrl-C as from a terminal, even when this suite runs where SIGINT is ignored (a background
    # job of a non-interactive shell passes SIG_IGN down, and Python then never raises KeyboardInterrupt)
    listen = subprocess.Popen([sys.executable, "-m", "pipeline.cli.main", "-q", "listen", "--device", "pulse",
                               "--json", "--mode", "commands"], env=pulse, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        time.sleep(3.0)   # the stream is open before the clip plays
        assert listen.poll() is None, listen.stderr.read()
        subprocess.run(["pacat", "--playback", "--file-format=wav", f"--device={SINK}", str(FIXTURES / CLIP)],
                       env=pulse, check=True, timeout=30)
        time.sleep(1.5)   # the clip's tail reaches the detector
    finally:
        listen.send_signal(signal.SIGINT)
        out, err = listen.communicate(timeout=30)
        room.kill()
        room.wait()
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    keywords = [line["data"]["keyword"] for line in lines if line.get("kind") == "keyword"]
    summary = next(line["summary"] for line in lines if "summary" in line)
    assert summary["samples"] > 16000 * 3, (summary, err[-2000:])   # live audio really flowed
    assert keywords == ["unlock"], (lines, err[-2000:])
