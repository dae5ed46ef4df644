"""`perceive train anomaly`: an LSTM forecaster whose normalised prediction error flags anomalies.

The series is split in time: the model learns from the first (normal) part, the
threshold is calibrated on the next (normal) part, and precision / recall / F1 are
measured on the rest, which holds every labelled anomaly. A rolling z-score detector
is calibrated and scored on exactly the same parts, and the forecast MAE is compared
with a seasonal-naive forecast.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.config.loader import option
from pipeline.skills.sensor.preprocess import anomaly_scores, forecast_errors, rolling_zscore
from training.common import RunDir, progress, set_seed
from training.registry import TRAINERS
from training.sensor.data import AnomalySeries, load_anomaly_series
from training.sensor.scoring import detection_scores, dominant_period, threshold_from


@dataclass(kw_only=True)
class Config:
    series: str = option("mitdb", "Labelled series: mitdb (ECG) or yahoo.")
    seed: int = option(0, "Random seed.")
    steps: int = option(1500, "Optimiser steps.")
    batch: int = option(16, "Sequences per step.")
    seq_len: int = option(256, "Samples per training sequence.")
    hidden: int = option(32, "LSTM hidden size.")
    layers: int = option(1, "LSTM layers.")
    lr: float = option(3e-3, "Adam learning rate.")
    clip: float = option(1.0, "Gradient-norm clip (LSTMs diverge without it).")
    smooth: int = option(8, "Samples averaged into one anomaly score (causal).")
    margin: float = option(1.2, "Threshold = margin x the highest score seen on the calibration part.")
    zscore_window: int = option(0, "Rolling z-score baseline window; 0 = one dominant period.")
    hop: int = option(25, "Samples per streaming hop at run time.")
    difference: bool = option(False, "Model first differences instead of levels (for trending series).")


def build_model(cfg: Config):
    import torch
    from torch import nn

    class Forecaster(nn.Module):
        """(B, T, 1) standardised values + state -> (B, T, 1) next-value forecasts + state."""

        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(1, cfg.hidden, cfg.layers, batch_first=True)
            self.head = nn.Linear(cfg.hidden, 1)

        def forward(self, x, h0, c0):
            out, (h, c) = self.lstm(x, (h0, c0))
            return self.head(out) + x, h, c  # predict the change: a residual keeps early training stable

    torch.manual_seed(cfg.seed)
    return Forecaster()


def zero_state(cfg: Config, batch: int, device=None):
    import torch
    return (torch.zeros(cfg.layers, batch, cfg.hidden, device=device),
            torch.zeros(cfg.layers, batch, cfg.hidden, device=device))


def fit(cfg: Config, norm: np.ndarray, run: RunDir):
    """Every rank draws the same global batch of sequence starts and trains on its part of it.
    Returns the unwrapped model."""
    import torch
    dist = run.dist
    rng = np.random.default_rng(cfg.seed)
    model = dist.wrap(build_model(cfg))
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps)
    saved = run.load_state(model, opt, sched)
    if saved:
        rng.bit_generator.state = saved["rng"]
    start, rank_batch, losses = saved.get("step", 0), dist.per_rank(cfg.batch), []
    for step in progress(range(start, cfg.steps), desc=f"anomaly {cfg.series}", initial=start, total=cfg.steps):
        starts = dist.part(rng.integers(0, len(norm) - cfg.seq_len - 1, cfg.batch))
        seqs = np.stack([norm[s:s + cfg.seq_len + 1] for s in starts])[..., None].astype(np.float32)
        x, target = dist.tensor(seqs[:, :-1]), dist.tensor(seqs[:, 1:])
        with dist.autocast():
            pred, _, _ = model(x, *zero_state(cfg, rank_batch, dist.device))
            loss = torch.nn.functional.l1_loss(pred.float(), target)
        dist.step(loss, opt, model, cfg.clip)
        sched.step()
        losses.append(loss.item())
        if (step + 1) % 50 == 0:
            run.log(train_l1=dist.mean(float(np.mean(losses[-50:]))))
            run.save_state(model, opt, sched, step=step + 1, rng=rng.bit_generator.state)
    return dist.unwrap(model)


def forecast(model, cfg: Config, norm: np.ndarray) -> np.ndarray:
    """One pass from a zero state, as the streaming runtime does it: predictions[t] forecasts t+1."""
    import torch
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        x = torch.from_numpy(norm[None, :, None].astype(np.float32)).to(device)
        pred, _, _ = model(x, *zero_state(cfg, 1, device))
    return pred[0, :, 0].float().cpu().numpy()


def model_inputs(values: np.ndarray, difference: bool) -> np.ndarray:
    """What the LSTM reads: levels, or first differences (the first sample differs from itself)."""
    return np.diff(values, prepend=values[:1]) if difference else values


def from_model_units(pred: np.ndarray, values: np.ndarray, difference: bool) -> np.ndarray:
    """Forecasts of the next level: pred[t] is for t+1; with differences it is x[t] + predicted step."""
    return values + pred if difference else pred


def evaluate(series: AnomalySeries, cfg: Config, pred_raw: np.ndarray) -> dict:
    v, lab = series.values, series.labels
    period = dominant_period(v[: series.train_end])
    # errors[t] belongs to sample t+1; pad so index = sample
    errors = np.concatenate([[0.0], forecast_errors(v, pred_raw)])
    calib = slice(series.train_end, series.calib_end)
    evalp = slice(series.calib_end, len(v))
    error_scale = float(np.mean(errors[calib]))
    scores = anomaly_scores(errors, error_scale, cfg.smooth)
    threshold = threshold_from(scores[calib], cfg.margin)
    z = rolling_zscore(v, cfg.zscore_window or period)
    z_threshold = threshold_from(z[calib], cfg.margin)
    naive = np.abs(v[period:] - v[:-period])  # seasonal naive: x[t] forecast by x[t - period]
    persistence = np.abs(np.diff(v))          # naive: x[t] forecast by x[t - 1]
    normal_eval = lab[evalp] == 0
    return {
        "series": series.name, "provenance": series.provenance, "rate_hz": series.rate_hz,
        "split": {"train": [0, series.train_end], "calibration": [series.train_end, series.calib_end],
                  "evaluation": [series.calib_end, len(v)], "anomalous_points": int(lab[evalp].sum())},
        "error_scale": error_scale, "threshold": threshold, "smooth": cfg.smooth, "margin": cfg.margin,
        "lstm": detection_scores(scores[evalp] > threshold, lab[evalp]),
        "zscore_baseline": {**detection_scores(z[evalp] > z_threshold, lab[evalp]),
                            "window": cfg.zscore_window or period, "threshold": z_threshold},
        "forecast_mae": {"lstm": float(errors[evalp][normal_eval].mean()),
                         "seasonal_naive": float(naive[series.calib_end - period:][normal_eval].mean()),
                         "persistence": float(persistence[series.calib_end - 1:][normal_eval].mean()),
                         "period": period, "on": "normal samples of the evaluation part, original units"},
        "scores": scores, "z": z,
    }


@TRAINERS.register("anomaly", "LSTM forecaster and anomaly scorer on a real labelled sensor series")
def train(cfg: Config, run: RunDir) -> dict:
    set_seed(cfg.seed)
    series = load_anomaly_series(cfg.series)
    inputs = model_inputs(series.values, cfg.difference)
    train_part = inputs[: series.train_end]
    mean, std = float(train_part.mean()), float(train_part.std())
    model = fit(cfg, (train_part - mean) / std, run)
    pred_raw = from_model_units(forecast(model, cfg, (inputs - mean) / std) * std + mean, series.values,
                                cfg.difference)
    result = evaluate(series, cfg, pred_raw)
    _plot(run, series, result)
    metrics = {k: v for k, v in result.items() if k not in ("scores", "z")}
    metrics.update(mean=mean, std=std, first_l1=run.history["train_l1"][0], last_l1=run.history["train_l1"][-1])
    run.plot_curves()
    run.save_checkpoint(model, metrics=metrics)
    return metrics


def _plot(run: RunDir, series: AnomalySeries, result: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(3, 1, figsize=(10, 6), sharex=True)
    axes[0].plot(series.values, lw=0.6)
    axes[0].fill_between(np.arange(len(series.values)), series.values.min(), series.values.max(),
                         where=series.labels > 0, color="red", alpha=0.2, label="labelled anomaly")
    axes[0].legend(loc="upper left")
    axes[1].plot(result["scores"], lw=0.6)
    axes[1].axhline(result["threshold"], color="red", ls="--")
    axes[1].set_ylabel("LSTM score")
    axes[2].plot(result["z"], lw=0.6)
    axes[2].axhline(result["zscore_baseline"]["threshold"], color="red", ls="--")
    axes[2].set_ylabel("rolling z")
    for ax in axes:
        for x in (series.train_end, series.calib_end):
            ax.axvline(x, color="grey", lw=0.8)
    fig.tight_layout()
    run.save_figure(fig, "scores.png")
    plt.close(fig)
