"""Latency CDF and histogram per variant. matplotlib is optional: imported only here, on demand."""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from pipeline.errors import PerceiveError

HIST_BINS = 50
FIGSIZE = (12, 5.5)
LOG_SPREAD = 20  # max/min latency above which the axes turn logarithmic
TITLE_WIDTH = 160


def require_pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")  # no display on a device; write the file only
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise PerceiveError(f"--plot needs matplotlib, which is not a runtime dependency of perceive and "
                            f"is not installed here ({exc}); install it with `pip install matplotlib` "
                            "or `pip install 'perceive[bench]'`, or drop --plot (--json keeps the samples "
                            "to plot later)") from None
    return plt


def plot_latency(series: dict[str, list[float]], out: str | Path, title: str) -> Path:
    """Left: empirical CDF with p50/p99 marks; right: histograms. One colour per variant."""
    series = {k: np.asarray(v, dtype=float) for k, v in series.items() if len(v)}
    if not series:
        raise PerceiveError("--plot: no timings to plot (every variant failed)")
    plt = require_pyplot()
    lo = min(float(v.min()) for v in series.values())
    hi = max(float(v.max()) for v in series.values())
    log_x = lo > 0 and hi / lo > LOG_SPREAD  # models of very different cost: one linear axis hides the small ones
    bins = np.geomspace(lo, hi, HIST_BINS) if log_x else HIST_BINS
    fig, (cdf, hist) = plt.subplots(1, 2, figsize=FIGSIZE)
    for name, ms in series.items():
        x = np.sort(ms)
        line, = cdf.plot(x, np.arange(1, x.size + 1) / x.size, label=name)
        for q in (50, 99):
            cdf.axvline(np.percentile(ms, q), color=line.get_color(), ls=":", lw=0.8)
        hist.hist(ms, bins=bins, alpha=0.5, color=line.get_color(), label=name)
    scale = "log" if log_x else "linear"
    cdf.set(xlabel=f"latency (ms, {scale})", ylabel="fraction of runs", title="CDF (dotted: p50, p99)",
            xscale=scale)
    hist.set(xlabel=f"latency (ms, {scale})", ylabel="runs", title="histogram", xscale=scale)
    cdf.legend(fontsize="x-small")
    fig.suptitle(textwrap.fill(title, TITLE_WIDTH), fontsize="small")
    fig.tight_layout()
    out = Path(out)
    try:
        fig.savefig(out, dpi=100)
    except (OSError, ValueError) as exc:  # ValueError: a file name whose extension matplotlib cannot write
        raise PerceiveError(f"--plot {out}: cannot write it ({exc})") from None
    finally:
        plt.close(fig)
    return out
