"""`perceive export kws`: the streaming keyword LSTM to ONNX + dynamic int8, checked and carded.

The graph takes log-mel frames and the LSTM state (h0, c0) and returns per-frame logits
and the new state (hn, cn), so a hop costs its new frames only. Accuracy of fp32 and
int8 is measured the same way training measured it (held-out voices, whole sequences
through ONNX Runtime), and the int8 file ships only when it keeps accuracy.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from export.registry import EXPORTERS
from export.common import (check_parity, compare_latency, export_onnx, quantize_dynamic_rnn, write_contract,
                           write_model_card)
from pipeline.config.loader import build
from pipeline.contract import AudioSpec, make_contract
from pipeline.engine import Engine, EngineConfig
from pipeline.errors import InputError
from pipeline.skills.kws.detector import DetectorOptions
from pipeline.skills.kws.features import frame_sizes
from training.kws import train as kws_train
from training.kws.synth import SYNTH_PROVENANCE

# How the shipped model was made: a model without hard negatives mines them, a 2-layer model trains
# with them and mines a second round, then is fine-tuned with both lists; the benchmark chooses the
# operating point on seed 0 and records it on seed 1.
REBUILD = ("perceive train kws --set hard_negatives= --set layers=1 && perceive export kws --checkpoint RUN1/checkpoint.pt "
           "--out /tmp/kws1 && python -m export.kws_mine --model /tmp/kws1/kws.fp32.onnx --config RUN1/config.json "
           "--out training/kws/hard_negatives.txt && perceive train kws && perceive export kws --checkpoint "
           "RUN2/checkpoint.pt --out /tmp/kws2 && python -m export.kws_mine --model /tmp/kws2/kws.fp32.onnx --config "
           "RUN2/config.json --out /tmp/round2.txt && sort -u training/kws/hard_negatives.txt /tmp/round2.txt > "
           "training/kws/hard_negatives_round2.txt && perceive train kws --set hard_negatives=training/kws/"
           "hard_negatives_round2.txt --set init=RUN2/checkpoint.pt --set epochs=3 --set lr=0.001 && perceive export "
           "kws --checkpoint RUN3/checkpoint.pt --out pipeline/models && python -m export.kws_bench --model "
           "pipeline/models/kws.onnx --hours 1 --holds 8 (choose on seed 0) && python -m export.kws_bench --model "
           "pipeline/models/kws.onnx --hours 1 --seed 1 --holds 8 --write-hold 8 --write-threshold 0.6")
REBUILD_REAL = ("perceive train kws --set init=pipeline/models/kws.fp32.onnx --set 'wake_words=[\"computer\"]' "
                "--set real_speech=true --set hard_negatives=training/kws/hard_negatives_round2.txt --set "
                "per_word_voice=3 --set fillers=3000 --set filler_voices=2 --set train_sequences=16000 --set "
                "test_sequences=600 --set real_test_sequences=600 --set epochs=5 --set lr=0.001 (from the previous "
                "shipped model, v6) && perceive export kws --checkpoint RUN/checkpoint.pt --out pipeline/models && "
                "python -m export.kws_real --model pipeline/models/kws.onnx --sweep --split tune --hold 8 (window "
                "and wake thresholds) && python -m export.kws_bench --model pipeline/models/kws.onnx --config "
                "RUN/config.json --hours 1 --seed 0 --holds 8 (commands threshold: the strictest keeping 90% of "
                "synthetic commands) && python -m export.kws_bench --model pipeline/models/kws.onnx --config "
                "RUN/config.json --hours 1 --seed 1 --holds 8 --write-hold 8 --write-threshold 0.8 "
                "--wake-threshold 0.9 --window-threshold 0.6 --real")
REAL_PROVENANCE = ("; real speech of the train split (training/kws/real.py): Google Speech Commands v0.02 "
                   "test-split clips (CC-BY-4.0, Warden 2018, 'Speech Commands: A Dataset for Limited-Vocabulary "
                   "Speech Recognition'), picovoice wake-word benchmark and speech-to-intent recordings "
                   "(Apache-2.0)")
DEFAULT_THRESHOLD = 0.8     # smoothed keyword posterior that fires an event (per-keyword overrides in config)
SMOOTH_FRAMES = 5           # posterior moving average, frames (50 ms)
HOP_FRAMES = DetectorOptions().hop_frames   # frames per live model call, as the runtime detector gathers them
LATENCY_RUNS = 500
ACCURACY_TOLERANCE = 0.005  # int8 may lose at most this much held-out keyword accuracy
STREAMS_NOTE = "2 staggered streams in one batch"


def load_checkpoint(checkpoint: str):
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
    cfg = build(kws_train.Config, ckpt["config"])
    model = kws_train.build_model(cfg, ckpt["audio"]["n_mels"], len(ckpt["labels"]))
    model.load_state_dict(ckpt["model"])
    return cfg, model.eval(), ckpt


def _onnx_accuracy(path: Path, cfg, x: np.ndarray, y: np.ndarray, names: list[str]) -> dict:
    engine = Engine(path, EngineConfig(warmup_runs=0))
    logits = []
    for i in range(0, len(x), 64):
        b = x[i:i + 64].astype(np.float32)
        zeros = np.zeros((cfg.layers, len(b), cfg.hidden), np.float32)
        logits.append(engine.run({"features": b, "h0": zeros, "c0": zeros})["logits"])
    scores = kws_train.utterance_accuracy(np.concatenate(logits), y, names)
    return {k: v for k, v in scores.items() if k != "confusion"}


def contract_base(cfg, ckpt: dict, audio: AudioSpec) -> dict:
    n_mels, labels = audio.n_mels, ckpt["labels"]
    state = [cfg.layers, "batch", cfg.hidden]
    window, hop = frame_sizes(audio)
    reset_frames = 1 + (int(cfg.seq_s * audio.sample_rate) - window) // hop   # frames per training sequence
    return {
        "task": "kws", "name": "kws-lstm", "version": "1.0", "labels": labels, "audio": ckpt["audio"],
        "inputs": [{"name": "features", "shape": ["batch", "time", n_mels], "layout": "NTC",
                    "example": [2, HOP_FRAMES, n_mels]},
                   {"name": "h0", "shape": state, "example": [cfg.layers, 2, cfg.hidden]},
                   {"name": "c0", "shape": state, "example": [cfg.layers, 2, cfg.hidden]}],
        "outputs": [{"name": "logits", "shape": ["batch", "time", len(labels)]},
                    {"name": "hn", "shape": state}, {"name": "cn", "shape": state}],
        "state": {"h0": "hn", "c0": "cn"},
        "params": {"keywords": list(cfg.vocabulary), "threshold": DEFAULT_THRESHOLD, "smooth_frames": SMOOTH_FRAMES,
                   "reset_frames": reset_frames, "label_span_frames": cfg.label_span,
                   **({"wake_phrases": list(cfg.wake_words)} if cfg.wake_words else {})},
        "provenance": {"weights": "trained by perceive", "licence": "Apache-2.0",
                       "data": SYNTH_PROVENANCE + (REAL_PROVENANCE if cfg.real_speech else ""),
                       "command": REBUILD_REAL if cfg.real_speech else REBUILD}}


@EXPORTERS.register("kws", "streaming keyword LSTM: ONNX with state in/out + dynamic int8, held-out-voice accuracy")
def export(checkpoint: str | None, out: Path, evaluate: bool = True) -> dict:
    if not checkpoint:
        raise InputError("perceive export kws needs --checkpoint runs/kws-*/checkpoint.pt")
    cfg, model, ckpt = load_checkpoint(checkpoint)
    audio = AudioSpec(**ckpt["audio"])
    names = ckpt["labels"]
    n_mels = audio.n_mels
    example = (torch.zeros(2, 3, n_mels), *kws_train.zero_state(cfg, 2))
    axes = {1: "batch"}
    fp32 = export_onnx(model, example, out / "kws.fp32.onnx", ["features", "h0", "c0"], ["logits", "hn", "cn"],
                       {"features": {0: "batch", 1: "time"}, "logits": {0: "batch", 1: "time"},
                        "h0": axes, "c0": axes, "hn": axes, "cn": axes})
    rng = np.random.default_rng(0)
    feeds = {"features": rng.standard_normal((3, 17, n_mels)).astype(np.float32) - 5,
             "h0": rng.standard_normal((cfg.layers, 3, cfg.hidden)).astype(np.float32) * 0.1,
             "c0": rng.standard_normal((cfg.layers, 3, cfg.hidden)).astype(np.float32) * 0.1}
    parity = check_parity(model, fp32, feeds)
    int8 = quantize_dynamic_rnn(fp32, out / "kws.int8.onnx")
    base = contract_base(cfg, ckpt, audio)
    for path, scheme in ((fp32, "none"), (int8, "int8-dynamic")):
        write_contract(path, make_contract({**base, "quantization": {"scheme": scheme, "fp32_twin": fp32.name}}))
    metrics = {"parity_max_abs": parity, "training": ckpt.get("metrics", {}), "voices": ckpt.get("voices", {})}
    if evaluate:
        _, (x_test, y_test), _ = kws_train.build_data(cfg)
        metrics["held_out"] = {v: _onnx_accuracy(p, cfg, x_test, y_test, names) for v, p in (("fp32", fp32),
                                                                                              ("int8", int8))}
    hop = {"features": np.zeros((2, HOP_FRAMES, n_mels), np.float32),
           "h0": np.zeros((cfg.layers, 2, cfg.hidden), np.float32), "c0": np.zeros((cfg.layers, 2, cfg.hidden), np.float32)}
    latency = compare_latency({"fp32": fp32, "int8": int8}, hop, runs=LATENCY_RUNS)
    keep_int8 = (not evaluate) or (metrics["held_out"]["int8"]["keyword_accuracy"]
                                   >= metrics["held_out"]["fp32"]["keyword_accuracy"] - ACCURACY_TOLERANCE)
    final = {**base, "quantization": {"scheme": "int8-dynamic" if keep_int8 else "none",
                                      "fp32_twin": fp32.name if keep_int8 else ""},
             "metrics": {k: v for k, v in metrics.items() if k != "voices"}}
    shipped = out / "kws.onnx"
    (int8 if keep_int8 else fp32).replace(shipped)
    write_contract(shipped, make_contract(final))
    if keep_int8:
        write_contract(fp32, make_contract({**final, "quantization": {"scheme": "none"}}))
    else:
        int8.unlink(missing_ok=True)
    write_model_card(out / "kws.md", make_contract(final), {
        f"Held-out accuracy (voices and variants never used in training; whole {cfg.seq_s:g} s sequences, "
        "each word classified by its mean posterior over the frames after it)": metrics.get("held_out", "not run"),
        "Voices": _voice_summary(metrics["voices"]),
        "Training": metrics["training"],
        f"Latency (one live hop: {HOP_FRAMES} frames x {STREAMS_NOTE})": latency})
    return {"shipped": str(shipped), "int8": keep_int8, "metrics": final["metrics"], "latency": latency["latency"]}



def _voice_summary(voices: dict) -> dict:
    """Synthetic voices by name; real speakers and files (hundreds) by count per source."""
    out = {}
    for part, tags in voices.items():
        synthetic = [t for t in tags if not t.startswith("real:")]
        sources = sorted({t.split(":")[1] for t in tags if t.startswith("real:")})
        out[part] = synthetic + [f"real {s}: {sum(t.startswith(f'real:{s}:') for t in tags)} speakers/files"
                                 for s in sources]
    return out
