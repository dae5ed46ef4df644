"""Soak benchmark of `perceive daemon` (not collected by pytest: run it by hand).

    .venv/bin/python tests/daemon/soak.py --minutes 12 --warmup 60 --out runs/soak

Runs the daemon as a subprocess on three replayed pipelines as fast as they
go (IMU CSV -> activity model, ECG CSV -> anomaly model, a video file ->
face_embed through the generic model stage), with one event-socket client
reading everything, a metrics scrape every sample, and a SIGHUP reload every
--reload-every seconds. Every --sample seconds it records RSS, open fds,
threads and the mean per-stage latency of the last interval (from the
Prometheus histogram's _sum/_count deltas). Prints the figures with the
protocol and writes them as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.daemon.daemon_harness import (ACTIVITIES, DaemonProcess, daemon_section,  # noqa: E402
                                         imu_pipeline)

ECG = ROOT / "tests" / "sensor" / "fixtures" / "ecg_eval.csv"
VIDEO_FRAMES, VIDEO_SIZE, VIDEO_FPS = 120, (320, 240), 30.0


def make_video(path: Path) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), VIDEO_FPS, VIDEO_SIZE)
    rng = np.random.default_rng(0)
    for i in range(VIDEO_FRAMES):
        frame = rng.integers(0, 255, (VIDEO_SIZE[1], VIDEO_SIZE[0], 3), dtype=np.uint8)
        cv2.putText(frame, str(i), (20, 60), cv2.FONT_HERSHEY_SIMPLEX, 2, (255, 255, 255), 3)
        writer.write(frame)
    writer.release()
    return path


def config_text(tmp: Path, video: Path) -> str:
    return daemon_section(tmp, stall_s=30.0) + imu_pipeline("imu", ACTIVITIES) + f"""
[[pipelines]]
name = "ecg"
[pipelines.source]
type = "sensor_file"
path = "{ECG}"
channels = ["value"]
block = 25
pace = "asap"
loop = true
[[pipelines.stages]]
type = "anomaly"

[[pipelines]]
name = "video"
[pipelines.source]
type = "video"
uri = "{video}"
pace = "asap"
loop = true
[[pipelines.stages]]
type = "model"
model = "face_embed"
"""


def proc_figures(pid: int) -> dict:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines())
    return {"rss_kb": int(fields["VmRSS"].split()[0]), "threads": int(fields["Threads"]),
            "fds": len(os.listdir(f"/proc/{pid}/fd"))}


def histogram_totals(port: int) -> dict[str, tuple[float, float]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    sums, counts = {}, {}
    for line in text.splitlines():
        if line.startswith("perceive_stage_latency_seconds_sum"):
            sums[line.split("{")[1].split("}")[0]] = float(line.rsplit(" ", 1)[1])
        elif line.startswith("perceive_stage_latency_seconds_count"):
            counts[line.split("{")[1].split("}")[0]] = float(line.rsplit(" ", 1)[1])
    return {k: (sums[k], counts.get(k, 0.0)) for k in sums}


def event_reader(path: Path, stop: threading.Event, counter: list[int]) -> None:
    while not stop.is_set():
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.connect(str(path))
                s.settimeout(0.5)
                while not stop.is_set():
                    try:
                        chunk = s.recv(65536)
                    except socket.timeout:
                        continue
                    if not chunk:
                        break
                    counter[0] += chunk.count(b"\n")
        except OSError:
            time.sleep(0.2)


def sample_loop(d: DaemonProcess, port: int, args) -> list[dict]:
    samples, last = [], histogram_totals(port)
    start = next_reload = time.monotonic()
    next_reload += args.reload_every
    while time.monotonic() - start < args.minutes * 60:
        time.sleep(args.sample)
        if args.reload_every and time.monotonic() >= next_reload:
            d.signal(signal.SIGHUP)
            next_reload += args.reload_every
        now = histogram_totals(port)
        mean_ms = {k: 1000 * (now[k][0] - last.get(k, (0, 0))[0]) / (now[k][1] - last.get(k, (0, 0))[1])
                   for k in now if now[k][1] > last.get(k, (0, 0))[1]}
        items = {k: now[k][1] for k in now}
        last = now
        samples.append({"t_s": round(time.monotonic() - start, 1), **proc_figures(d.proc.pid),
                        "stage_mean_ms": mean_ms, "stage_items": items})
        print(json.dumps(samples[-1]), flush=True)
    return samples


def summarise(samples: list[dict], warmup_s: float) -> dict:
    after = [s for s in samples if s["t_s"] >= warmup_s]
    base, end = after[0], after[-1]
    third = max(1, len(after) // 3)
    creep = {}
    for stage in base["stage_mean_ms"]:
        first = [s["stage_mean_ms"][stage] for s in after[:third] if stage in s["stage_mean_ms"]]
        final = [s["stage_mean_ms"][stage] for s in after[-third:] if stage in s["stage_mean_ms"]]
        if first and final:
            creep[stage] = {"first_third_ms": round(float(np.median(first)), 3),
                            "last_third_ms": round(float(np.median(final)), 3)}
    return {
        "rss_after_warmup_kb": base["rss_kb"], "rss_end_kb": end["rss_kb"],
        "rss_max_kb": max(s["rss_kb"] for s in after),
        "rss_growth_pct": round(100 * (end["rss_kb"] - base["rss_kb"]) / base["rss_kb"], 2),
        "fds_range": [min(s["fds"] for s in after), max(s["fds"] for s in after)],
        "threads_range": [min(s["threads"] for s in after), max(s["threads"] for s in after)],
        "latency_median_per_interval": creep,
        "items": end["stage_items"],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=12)
    p.add_argument("--warmup", type=float, default=60, help="seconds excluded from the growth figures")
    p.add_argument("--sample", type=float, default=10, help="seconds between samples")
    p.add_argument("--reload-every", type=float, default=120, help="SIGHUP period in seconds; 0: never")
    p.add_argument("--out", default="runs/soak")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        config = tmp / "perceive.toml"
        config.write_text(config_text(tmp, make_video(tmp / "replay.avi")))
        d = DaemonProcess(config, tmp, watchdog_usec=10_000_000)
        stop, received = threading.Event(), [0]
        try:
            d.notify.wait_for("READY", timeout=60)
            port = d.metrics_port
            threading.Thread(target=event_reader, args=(tmp / "events.sock", stop, received), daemon=True).start()
            samples = sample_loop(d, port, args)
        finally:
            stop.set()
            took = d.stop()
            reloads = sum("reloaded:" in line.get("msg", "") for line in d.logs())
            rejected = sum("reload rejected" in line.get("msg", "") for line in d.logs())
            d.close()
        summary = summarise(samples, args.warmup)
        summary.update(events_received=received[0], stop_s=round(took, 2),
                       reloads=reloads, reloads_rejected=rejected,
                       watchdog_pings=len(d.notify.with_key("WATCHDOG")),
                       protocol={"minutes": args.minutes, "warmup_s": args.warmup, "sample_s": args.sample,
                                 "reload_every_s": args.reload_every, "pace": "asap, looping",
                                 "pipelines": "imu->activity(har), ecg->anomaly, video 320x240->face_embed",
                                 "provider": "cpu", "OMP_NUM_THREADS": 1, "cpu_count": os.cpu_count()})
    (out / "soak.json").write_text(json.dumps({"summary": summary, "samples": samples}, indent=1))
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
