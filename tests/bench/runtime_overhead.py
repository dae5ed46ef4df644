"""Runtime overhead per item of the runner and the sources, for one code tree or two side by side.

    python tests/bench/runtime_overhead.py                       # the tree on PYTHONPATH
    python tests/bench/runtime_overhead.py --trees OLD NEW --rounds 5

Each source (a WAV file, a sensor CSV with one sample per item, a video file) is replayed `asap`
through one stage that does nothing (``delay`` with ms = 0), so what is timed is the runtime itself:

- ``step_us``: the consumer side, per item. The source first writes everything into its ring buffer
  (video: 6000 frames decoded before, in memory); then ``runner.step`` is timed over the items:
  taking the item from the buffer (with its capture stamp), the policy, the stage call and the
  statistics.
- ``wall_us`` and ``cpu_us``: ``perceive bench pipeline`` run as a user runs it (source thread
  included: file reading, decoding, parsing, writing into the buffer), wall time and process CPU
  time over processed items.

With ``--trees`` every round runs each tree once, in alternating order, in its own process, so
machine drift hits both alike; the medians over rounds are reported.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

RATE = 16000
WAV_SECONDS = 50          # 2500 blocks of 20 ms; the ring holds them all (buffer_s = 60)
SENSOR_SAMPLES = 20000    # one sample per item: the worst case for per-item costs
VIDEO_FRAMES = 600
WAIT_S = 120.0


def make_inputs(folder: Path) -> dict[str, str]:
    """{source kind: the TOML source table} over files written into ``folder``."""
    wav = folder / "tone.wav"
    pcm = (0.3 * np.sin(np.arange(RATE * WAV_SECONDS) * 2 * np.pi * 440 / RATE) * 32767).astype(np.int16)
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(RATE), w.writeframes(pcm.tobytes())
    csv = folder / "imu.csv"
    csv.write_text("t,ax,ay,az\n" + "".join(f"{i / 100:.2f},{i % 7},0.5,1\n" for i in range(SENSOR_SAMPLES)))
    import cv2
    video = folder / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (160, 120))
    for i in range(VIDEO_FRAMES):
        writer.write(np.full((120, 160, 3), i % 256, np.uint8))
    writer.release()
    return {"audio": f'{{type = "wav", path = "{wav}", pace = "asap", buffer_s = 60}}',
            "sensor": f'{{type = "sensor_file", path = "{csv}", channels = ["ax", "ay", "az"], pace = "asap", '
                      f'buffer = {SENSOR_SAMPLES}}}',
            "video": f'{{type = "video", uri = "{video}", pace = "asap"}}'}


def config_text(source: str) -> str:
    return (f'[[pipelines]]\nname = "p"\nsource = {source}\n'
            '[[pipelines.stages]]\ntype = "delay"\nms = 0\nmode = "spin"\n')


class FramesInMemory:
    """Decoded frames handed out as fast as they are asked for: the video consumer side alone."""

    def __init__(self, count: int):
        from pipeline.sources.base import Item
        frame = np.zeros((120, 160, 3), np.uint8)
        self.items = [Item(i + 1, time.monotonic(), frame, i / 30) for i in range(count)]
        self.alive, self.finished = True, None

    def get(self, timeout: float = 0.5):
        return self.items.pop() if self.items else None

    def stop(self, timeout: float = 2.0) -> None:
        pass


def step_us(config_path: Path, kind: str) -> float:
    """Mean time of runner.step per item, over everything the source delivers, taken from memory:
    the ring buffers are filled first (audio, sensor), video frames are decoded before."""
    from pipeline.config.tree import load_config
    from pipeline.runtime.runner import PipelineRunner
    from pipeline.runtime.stage import StageEnv
    config = load_config(config_path).pipelines[0]
    source = FramesInMemory(VIDEO_FRAMES * 10) if kind == "video" else None
    runner = PipelineRunner(config, StageEnv(), source=source)
    if source is None:
        runner.source.start()
        assert runner.source.finished.wait(WAIT_S)
    start = time.perf_counter()
    while runner.step(0) is not None:
        pass
    elapsed = time.perf_counter() - start
    runner.stop()
    return elapsed / runner.counters["processed"] * 1e6


def bench_pipeline_us(config_path: Path) -> tuple[float, float]:
    """(wall, CPU) µs per processed item from `perceive bench pipeline --pace asap`."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run([sys.executable, "-m", "pipeline.cli.main", "-q", "bench", "pipeline", str(config_path),
                        "--pace", "asap", "--seconds", "0", "--json", out.name], check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "PERCEIVE_NO_PROGRESS": "1"}, timeout=600)
        r = json.loads(Path(out.name).read_text())["results"][0]
    return r["wall_s"] / r["processed"] * 1e6, r["cpu_core_share"] * r["wall_s"] / r["processed"] * 1e6


def measure(folder: Path) -> dict[str, dict[str, float]]:
    results = {}
    for kind, source in make_inputs(folder).items():
        path = folder / f"{kind}.toml"
        path.write_text(config_text(source))
        wall, cpu = bench_pipeline_us(path)
        results[kind] = {"step_us": step_us(path, kind), "wall_us": wall, "cpu_us": cpu}
    return results


def compare(trees: list[str], rounds: int) -> dict:
    runs: dict[str, list[dict]] = {t: [] for t in trees}
    for i in range(rounds):
        for tree in (trees if i % 2 == 0 else trees[::-1]):
            env = {**os.environ, "PYTHONPATH": tree, "PYTHONDONTWRITEBYTECODE": "1"}
            proc = subprocess.run([sys.executable, __file__, "--json"], env=env, cwd=tree, capture_output=True,
                                  text=True, check=True, timeout=3600)
            runs[tree].append(json.loads(proc.stdout))
            print(f"round {i + 1} {tree}: {proc.stdout.strip()}", file=sys.stderr)
    medians = {t: {kind: {m: statistics.median(r[kind][m] for r in rs) for m in rs[0][kind]} for kind in rs[0]}
               for t, rs in runs.items()}
    minima = {t: {kind: {m: min(r[kind][m] for r in rs) for m in rs[0][kind]} for kind in rs[0]}
              for t, rs in runs.items()}
    return {"rounds": rounds, "medians": medians, "minima": minima, "runs": runs}


def ring_us(old_ringbuffer: str, repeats: int = 15, blocks: int = 5000) -> dict[str, list[float]]:
    """µs per delivered block through a RingBuffer, this tree's (stamped) and ``old_ringbuffer``'s,
    loaded side by side in this process and timed alternately: audio (a 320-sample write, a
    320-sample read) and sensor (16 one-row writes, a 16-row read)."""
    import importlib.util
    from pipeline import ringbuffer as new
    spec = importlib.util.spec_from_file_location("old_ringbuffer", old_ringbuffer)
    old = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(old)
    cases = {"audio": (1, 320, 1, np.float32), "sensor": (16, 1, 4, np.float64)}
    times: dict[str, list[float]] = {f"{kind} {tree}": [] for kind in cases for tree in ("old", "new")}
    for _ in range(repeats):
        for kind, (writes, rows, channels, dtype) in cases.items():
            for tree, module in (("old", old), ("new", new)):
                ring = module.RingBuffer(4096, channels, dtype=dtype)
                row, out = np.ones((rows, channels), dtype), np.zeros((writes * rows, channels), dtype)
                read = getattr(ring, "read_stamped", ring.read)
                start = time.perf_counter()
                for _ in range(blocks):
                    for _ in range(writes):
                        ring.write(row)
                    read(out, 0)
                times[f"{kind} {tree}"].append((time.perf_counter() - start) / blocks * 1e6)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trees", nargs=2, metavar="DIR", help="two code trees, run alternately")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="one tree: print the result as JSON")
    parser.add_argument("--ring-vs", metavar="RINGBUFFER_PY", help="time this tree's RingBuffer against "
                        "another version of pipeline/ringbuffer.py, in one process")
    args = parser.parse_args()
    if args.ring_vs:
        for name, values in ring_us(args.ring_vs).items():
            print(f"{name:11s} median {statistics.median(values):7.2f} µs  min {min(values):7.2f} µs per block")
        return
    if args.trees:
        result = compare(args.trees, args.rounds)
        print(f"{args.rounds} rounds, alternating; µs per item, median (min) over rounds: "
              f"A = {args.trees[0]}, B = {args.trees[1]}")
        for kind in result["medians"][args.trees[0]]:
            for metric in ("step_us", "wall_us", "cpu_us"):
                (a, b), (a_min, b_min) = ([result[s][t][kind][metric] for t in args.trees]
                                          for s in ("medians", "minima"))
                print(f"{kind:7s} {metric:8s} A {a:8.2f} ({a_min:8.2f})  B {b:8.2f} ({b_min:8.2f})  "
                      f"B/A {b / a:.3f} ({b_min / a_min:.3f})")
        print(json.dumps({k: result[k] for k in ("medians", "minima")}))
        return
    with tempfile.TemporaryDirectory() as folder:
        result = measure(Path(folder))
    print(json.dumps(result) if args.json else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
