"""What a SIGHUP reload allocates (not collected by pytest: run it by hand).

    MALLOC_ARENA_MAX=2 .venv/bin/python tests/daemon/reload_tracemalloc.py --reloads 3 --settle 20

Runs the soak benchmark's three pipelines in one process with the daemon's own Daemon class (sinks,
metrics, runners), lets them settle, then reloads ``--reloads`` times. Around each reload it takes a
tracemalloc snapshot (Python allocations only; ONNX Runtime's and OpenCV's C++ heaps are invisible
to it) and reads RSS, and prints the allocation sites that grew most, grouped by file and line.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.daemon.soak import config_text, make_video  # noqa: E402

KB = 1024
TOP_SITES = 12
TRACE_FRAMES = 8


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reloads", type=int, default=3)
    p.add_argument("--settle", type=float, default=20, help="seconds of running before and after each reload")
    args = p.parse_args()
    from pipeline.daemon.service import Daemon, release_memory
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        config = tmp_path / "perceive.toml"
        config.write_text(config_text(tmp_path, make_video(tmp_path / "video.avi")))
        d = Daemon(str(config))
        from pipeline.config.tree import load_config
        d.config = load_config(config, require_pipelines=True)
        d._start_sinks(d.config.daemon)
        d.runners = d._build_runners(d.config)
        for r in d.runners:
            r.start()
        time.sleep(args.settle)
        tracemalloc.start(TRACE_FRAMES)
        release_memory()
        before, rss0 = tracemalloc.take_snapshot(), rss_kb()
        print(f"settled: RSS {rss0 / KB:.1f} MB, traced {tracemalloc.get_traced_memory()[0] / KB / KB:.1f} MB")
        for i in range(args.reloads):
            assert d.reload(), "reload rejected"
            time.sleep(args.settle)
            release_memory()
            snap, rss = tracemalloc.take_snapshot(), rss_kb()
            traced = tracemalloc.get_traced_memory()[0]
            print(f"\nreload {i + 1}: RSS {rss / KB:.1f} MB ({(rss - rss0) / KB:+.1f} MB since settled), "
                  f"traced Python {traced / KB / KB:.2f} MB")
            for stat in snap.compare_to(before, "lineno")[:TOP_SITES]:
                print(f"  {stat.size_diff / KB:+9.1f} kB {stat.count_diff:+7d} blocks  {stat.traceback[0]}")
            before = snap
        d._shutdown()


if __name__ == "__main__":
    main()
