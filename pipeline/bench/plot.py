"""Latency CDF and histogram per variant. matplotlib is optional: imported only here, on demand."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.errors import PerceiveError

HIST_BINS = 50
FIGSIZE = (11, 4.5)


def _pyplot():
    try:
        import matplotlib
        matplotlib.use("Agg")  # no display on a device; write the file only
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise PerceiveError(f"--plot needs matplotlib, which is not a runtime dependency of perceive and "
                            f"is not installed here ({exc}); install it with `pip install matplotlib` "
                            "or `pip install 'perceive[train]'`, or drop --plot (--json keeps the samples "
                            "to plot later)") from None
    return plt


def plot_latency(series: dict[str, list[float]], out: str | Path, title: str) -> Path:
    """Left: empirical CDF with p50/p99 marks; right: histograms. One colour per variant."""
    series = {k: np.asarray(v, dtype=float) for k, v in series.items() if len(v)}
    if not series:
        raise PerceiveError("--plot: no timings to plot (every variant failed)")
    plt = _pyplot()
    fig, (cdf, hist) = plt.subplots(1, 2, figsize=FIGSIZE)
    for name, ms in series.items():
        x = np.sort(ms)
        line, = cdf.plot(x, np.arange(1, x.size + 1) / x.size, label=name)
        for q in (50, 99):
            cdf.axvline(np.percentile(ms, q), color=line.get_color(), ls=":", lw=0.8)
        hist.hist(ms, bins=HIST_BINS, alpha=0.5, color=line.get_color(), label=name)
    cdf.set(xlabel="latency (ms)", ylabel="fraction of runs", title="CDF (dotted: p50, p99)")
    hist.set(xlabel="latency (ms)", ylabel="runs", title="histogram")
    cdf.legend(fontsize="small")
    fig.suptitle(title, fontsize="small")
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out
