"""Export the v8 keyword model: the head over speech embeddings (training/kws/emb_head.py) to ONNX,
fp32 and dynamic int8, with its contract and card, next to the two front-end graphs it names:

    python -m export.kws_emb --checkpoint runs/kws-emb/checkpoint.pt --out pipeline/models

The front-end graphs are Google's speech_embedding as converted to ONNX and shipped by openWakeWord
0.4.0 (PyPI wheel, openwakeword/resources/models/melspectrogram.onnx and embedding_model.onnx); only
these two of its files are used (its wake-word models are CC BY-NC-SA and are not). They are copied
unchanged except for a perceive contract in their metadata.
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import torch

from export.common import check_parity, export_onnx, quantize_static_qdq, write_contract, write_model_card
from export.registry import EXPORTERS
from pipeline.errors import InputError
from pipeline.contract import make_contract
from pipeline.engine import Engine, EngineConfig
from pipeline.skills.kws.frontend import SPEECH_EMBEDDING
from pipeline.runtime.stage import SHIPPED_MODELS
from training.kws import emb_head
from training.kws.emb_data import TTS_CORPUS, WAKE
from training.kws.synth import KEYWORDS, SYNTH_PROVENANCE

MEL_FILE, EMBEDDING_FILE = "kws_melspectrogram.onnx", "kws_speech_embedding.onnx"
FRONT_END_SOURCE = ("Google speech_embedding (https://tfhub.dev/google/speech_embedding/1, Apache-2.0), as "
                    "converted to ONNX and shipped in the openWakeWord 0.4.0 wheel (David Scripka, "
                    "https://github.com/dscripka/openWakeWord; the README states these feature models are "
                    "Apache-2.0, while its wake-word models, not used here, are CC BY-NC-SA 4.0)")
FRONT_END_FETCH = ("pip download --no-deps openwakeword==0.4.0 && unzip the wheel: "
                   "openwakeword/resources/models/{melspectrogram,embedding_model}.onnx")
DEFAULT_THRESHOLD = 0.8
SMOOTH_STEPS = 1            # steps are 80 ms: no further averaging by default
HOLD_STEPS = 1
REAL_PROVENANCE = ("real speech of the train split (training/kws/real.py): Google Speech Commands v0.02 test-split "
                   "clips (CC-BY-4.0, Warden 2018, 'Speech Commands: A Dataset for Limited-Vocabulary Speech "
                   "Recognition'), picovoice wake-word benchmark and speech-to-intent recordings (Apache-2.0)")
REBUILD = ("for s in 1 2; do python -m training.kws.emb_data --seed $s --count 6000 --out "
           "/work/data/kws_emb/train-$s.npz; done && python -m training.kws.emb_data --seed 3 --count 6000 --p-real 0.3 "
           "--out /work/data/kws_emb/tts-3.npz && python -m training.kws.emb_head --data "
           "/work/data/kws_emb/train-*-part*.npz /work/data/kws_emb/tts-3-part*.npz --out RUN/checkpoint.pt && "
           "python -m export.kws_emb --checkpoint RUN/checkpoint.pt --out pipeline/models && python -m export.kws_real "
           "--model pipeline/models/kws.onnx --sweep --split tune (choose(): commands 0.98, window 0.9, wake 0.98, "
           "per_keyword PK) && python -m export.kws_bench --model pipeline/models/kws.onnx --config RUN/config.json "
           "--hours 1 --seed 1 --write-threshold 0.98 --wake-threshold 0.98 --window-threshold 0.9 --per-keyword PK "
           "--real && python -m export.kws_real --model pipeline/models/kws.onnx --sweep --card")


def front_end_contracts(out: Path) -> None:
    """The two graphs next to the model, each with a contract saying what it is and where it came from."""
    audio = {"sample_rate": 16000, "window_ms": 32.0, "hop_ms": 10.0, "n_mels": 32, "n_fft": 512,
             "feature": SPEECH_EMBEDDING}
    specs = {MEL_FILE: ("speech-embedding-melspectrogram", [{"name": "input", "shape": ["batch", "samples"],
                                                             "example": [1, 1632]}],
                        [{"name": "output", "shape": ["batch", 1, "frames", 32]}]),
             EMBEDDING_FILE: ("speech-embedding", [{"name": "input_1", "shape": ["batch", 76, 32, 1],
                                                    "example": [1, 76, 32, 1]}],
                              [{"name": "conv2d_19", "shape": ["batch", 1, 1, 96]}])}
    for name, (model_name, inputs, outputs) in specs.items():
        if (SHIPPED_MODELS / name).resolve() != (out / name).resolve():
            shutil.copyfile(SHIPPED_MODELS / name, out / name)
        write_contract(out / name, make_contract({
            "task": "kws_frontend", "name": model_name, "version": "1", "audio": audio, "inputs": inputs,
            "outputs": outputs, "quantization": {"scheme": "none"},
            "provenance": {"weights": FRONT_END_SOURCE, "licence": "Apache-2.0",
                           "data": "Google's (not documented in the release)", "command": FRONT_END_FETCH}}))


def contract_base(labels: list[str]) -> dict:
    ring = ["batch", emb_head.CONTEXT - 1, emb_head.EMBED_DIM]
    return {
        "task": "kws", "name": "kws-embedding-head", "version": "1.1", "labels": labels,
        "audio": {"sample_rate": 16000, "window_ms": 80.0, "hop_ms": 80.0, "n_mels": 32, "n_fft": 512,
                  "feature": SPEECH_EMBEDDING},
        "inputs": [{"name": "features", "shape": ["batch", "time", emb_head.EMBED_DIM], "layout": "NTC",
                    "example": [1, 1, emb_head.EMBED_DIM]},
                   {"name": "ring", "shape": ring, "example": [1, emb_head.CONTEXT - 1, emb_head.EMBED_DIM]}],
        "outputs": [{"name": "logits", "shape": ["batch", "time", len(labels)]}, {"name": "ring_out", "shape": ring}],
        "state": {"ring": "ring_out"},
        "params": {"keywords": list(KEYWORDS), "wake_phrases": [WAKE], "threshold": DEFAULT_THRESHOLD,
                   "smooth_frames": SMOOTH_STEPS, "hold_frames": HOLD_STEPS, "reset_frames": 0, "hop_frames": 1,
                   "context_steps": emb_head.CONTEXT,
                   "front_end": {"melspectrogram": MEL_FILE, "embedding": EMBEDDING_FILE}},
        "provenance": {"weights": "head trained by perceive on a frozen front end: " + FRONT_END_SOURCE,
                       "licence": "Apache-2.0",
                       "data": SYNTH_PROVENANCE + "; " + REAL_PROVENANCE, "command": REBUILD}}


CALIBRATION_PARTS = 3        # training parts the int8 calibration reads, in the order the head was trained on them
CALIBRATION_SEQUENCES = 40   # sequences drawn from each
CALIBRATION = "120 sequences of 40 embedding steps from the first three training parts"


def calibration_feeds(parts: list[str]) -> list[dict]:
    """Head inputs from the checkpoint's own training sequences: the first 15 steps as the ring, the
    rest as features."""
    found = [Path(p) for p in parts if Path(p).is_file()][:CALIBRATION_PARTS]
    if not found:
        raise InputError("kws-emb: none of the checkpoint's training parts is here to calibrate int8 on "
                         f"({parts[:2]}...; python -m training.kws.emb_data writes them)")
    rng, feeds = np.random.default_rng(0), []
    for part in found:
        x = np.load(part)["x"]
        for i in rng.choice(len(x), min(CALIBRATION_SEQUENCES, len(x)), replace=False):
            seq = x[i:i + 1].astype(np.float32)
            feeds.append({"features": seq[:, emb_head.CONTEXT - 1:], "ring": seq[:, :emb_head.CONTEXT - 1]})
    return feeds


@EXPORTERS.register("kws-emb", "keyword head over the speech_embedding front end (v8, shipped): ONNX + dynamic int8, front-end graphs")
def export(checkpoint: Path | None, out: Path) -> dict:
    if checkpoint is None:
        raise InputError("kws-emb: --checkpoint is required (the checkpoint.pt of python -m training.kws.emb_head)")
    ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
    labels = list(ckpt["labels"])
    model = emb_head.Head(len(labels), ckpt["mean"], ckpt["std"])
    model.load_state_dict(ckpt["model"])
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    front_end_contracts(out)
    example = (torch.zeros(1, 3, emb_head.EMBED_DIM), emb_head.zero_ring(1))
    dynamic = {"features": {0: "batch", 1: "time"}, "logits": {0: "batch", 1: "time"}, "ring": {0: "batch"},
               "ring_out": {0: "batch"}}
    fp32 = export_onnx(model, example, out / "kws.fp32.onnx", ["features", "ring"], ["logits", "ring_out"], dynamic)
    rng = np.random.default_rng(0)
    feeds = {"features": rng.standard_normal((2, 5, emb_head.EMBED_DIM)).astype(np.float32),
             "ring": rng.standard_normal((2, emb_head.CONTEXT - 1, emb_head.EMBED_DIM)).astype(np.float32)}
    parity = check_parity(model, fp32, feeds)
    # Static int8 QDQ (7-bit weights), calibrated on training sequences: the head is convolutions, and a
    # dynamic Conv becomes ConvInteger, which some ONNX Runtime builds cannot load (1.23 on Python 3.10).
    int8 = quantize_static_qdq(fp32, out / "kws.onnx", calibration_feeds(list(ckpt.get("data", []))), op_types=["Conv", "MatMul"])
    base = contract_base(labels)
    metrics = {"parity_max_abs": parity, "training": ckpt.get("history", [{}])[-1]}
    write_contract(fp32, make_contract({**base, "quantization": {"scheme": "none"}, "metrics": metrics}))
    write_contract(int8, make_contract({**base, "quantization": {"scheme": "int8-static-qdq", "fp32_twin": fp32.name, "calibration": CALIBRATION},
                                        "metrics": metrics}))
    write_model_card(out / "kws.md", make_contract({**base, "quantization": {"scheme": "int8-static-qdq", "calibration": CALIBRATION}}),
                     {"Front end": FRONT_END_SOURCE, "Training (last epoch, training-time gauge only)": metrics})
    return {"fp32": str(fp32), "int8": str(int8), "parity": parity}


def write_bench_config(run_dir: Path) -> Path:
    """The TTS corpus settings as a training config (export/kws_bench.py --config reads one)."""
    path = run_dir / "config.json"
    path.write_text(json.dumps({**TTS_CORPUS, "vocabulary": list(KEYWORDS)}, indent=1))
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", default=str(SHIPPED_MODELS))
    args = ap.parse_args(argv)
    result = export(Path(args.checkpoint), Path(args.out))
    result["bench_config"] = str(write_bench_config(Path(args.checkpoint).parent))
    print(json.dumps(result, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
