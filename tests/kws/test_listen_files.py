"""Issue 14: `perceive listen --wav` reads every format the README promises and fails on a bad file
with one line and exit 2, never a traceback or a reopen loop (each run has a timeout far above the
few seconds it takes, so a hang fails the test instead of the CI job)."""
import json
import subprocess
import sys

import numpy as np
import pytest

from pipeline.sources.audio import read_wav
from tests.kws.paths import FIXTURES

sf = pytest.importorskip("soundfile", reason="soundfile (perceive[audio]) not installed")

HANG_S = 60
CLIP = "stop_en-gb-x-gbcwmd_f3.wav"
KEYWORD = json.loads((FIXTURES / "manifest.json").read_text())[CLIP]["keyword"]


def listen(*args: str, code: str | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "pipeline.cli.main"]
    # commands mode: these clips hold a command without the wake phrase (the formats are under test, not modes)
    return subprocess.run([*cmd, "-q", "listen", "--json", "--mode", "commands", *args], capture_output=True,
                          text=True, timeout=HANG_S)


def assert_one_line_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("perceive: error: "), proc.stderr
    for word in words:
        assert word in lines[0], lines[0]


def clip_at(rate: int) -> np.ndarray:
    samples, clip_rate = read_wav(FIXTURES / CLIP)
    t = np.arange(int(len(samples) * rate / clip_rate)) / rate
    return np.interp(t, np.arange(len(samples)) / clip_rate, samples)


FORMATS = {   # name -> (rate, channels, soundfile format, subtype)
    "pcm24_16k.wav": (16000, 1, "WAV", "PCM_24"),
    "float32_48k_stereo.wav": (48000, 2, "WAV", "FLOAT"),
    "extensible_pcm32_44k_6ch.wav": (44100, 6, "WAVEX", "PCM_32"),
    "flac_22k.flac": (22050, 1, "FLAC", "PCM_16"),
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_listen_hears_the_command_in_every_promised_format(tmp_path, name):
    rate, channels, fmt, subtype = FORMATS[name]
    mono = clip_at(rate)
    path = tmp_path / name
    sf.write(path, np.repeat(mono[:, None], channels, axis=1), rate, format=fmt, subtype=subtype)
    proc = listen("--wav", str(path))
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [e["data"]["keyword"] for e in out if e.get("kind") == "keyword"] == [KEYWORD]
    assert out[-1]["summary"]["samples"] == pytest.approx(len(mono) * 16000 / rate, abs=2)


def bad_files(tmp_path):
    """name -> (path, words the error line must hold)."""
    good = tmp_path / "good.wav"
    sf.write(good, clip_at(16000)[:1600], 16000, subtype="PCM_16")
    header = bytearray(good.read_bytes())
    rate0 = bytearray(header)
    rate0[24:32] = bytes(8)   # sample rate and byte rate 0
    nan = clip_at(16000).astype(np.float32)
    nan[-800] = np.inf   # 50 ms before the end: after the spoken command
    files = {
        "missing": (tmp_path / "missing.wav", None, "not found"),
        "empty_bytes": (tmp_path / "zero.wav", b"", "is empty (0 bytes)"),
        "no_samples": (tmp_path / "header.wav", bytes(header[:44]), "contains no audio samples"),
        "rate0": (tmp_path / "rate0.wav", bytes(rate0), "sample rate of 0 Hz"),
        "picture": (tmp_path / "photo.wav", b"\x89PNG\r\n\x1a\n" + bytes(64), "not a readable audio file"),
        "directory": (tmp_path, None, "is a directory"),
        "infinite": (tmp_path / "inf.wav", nan, f"NaN or infinite samples (from {(len(nan) - 800) / 16000:.3f} s)"),
    }
    for path, contents, _ in files.values():
        if isinstance(contents, bytes):
            path.write_bytes(contents)
        elif contents is not None:
            sf.write(path, contents, 16000, subtype="FLOAT")
    return {k: (path, words) for k, (path, _, words) in files.items()}


@pytest.mark.parametrize("kind", ["missing", "empty_bytes", "no_samples", "rate0", "picture", "directory",
                                  "infinite"])
def test_a_bad_audio_file_is_one_line_and_exit_2(tmp_path, kind):
    path, words = bad_files(tmp_path)[kind]
    proc = listen("--wav", str(path))
    if kind == "infinite":   # read as a stream: what came before the bad sample was listened to
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert json.loads(proc.stdout.splitlines()[-1])["kind"] == "keyword"
        assert proc.stderr.strip().splitlines() == [f"perceive: error: {path}: contains {words}"]
        return
    assert_one_line_error(proc, str(path), words)


def test_listen_without_soundfile_says_what_to_install(tmp_path):
    path = tmp_path / "a.wav"
    sf.write(path, clip_at(16000)[:1600], 16000)
    blocked = ("import sys; sys.modules['soundfile'] = None; from pipeline.cli.main import main; "
               "sys.exit(main(sys.argv[1:]))")
    assert_one_line_error(listen("--wav", str(path), code=blocked), "install perceive[audio]")
