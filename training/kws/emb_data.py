"""Training sequences for the speech-embedding keyword head (v8), as embeddings, cached once.

Each sequence is ``SEQ_S`` seconds mixed by training/kws/data.py's ``compose`` (background noise at
a random SNR, gain, speed, sometimes reverb, words placed anywhere), then run through the frozen
front end exactly as the runtime sees a stream from its start (pipeline/skills/kws/frontend.py, one
embedding every 80 ms). Step j is labelled with the 10 ms
frame label of ``compose`` at the step's end: the keyword for ``label_span`` frames after its end,
ignored inside it, ``_unknown_`` in and after other speech, else ``_silence_``.

Words are drawn evenly over the 13 spoken labels (so ``unlock`` and ``lock``, which only TTS
says, are not drowned by the words real people recorded); a word with real train-split
recordings (training/kws/real.py) takes one of them with probability ``P_REAL``, else a TTS clip
of a training voice. Negatives come half from real speech of the train split (the 25 other Speech
Commands words, the other wake words, pieces of continuous read speech), half from TTS fillers.

    python -m training.kws.emb_data --seed 1 --count 6000 --out /work/data/kws_emb/train-1.npz

writes train-1-part0.npz, train-1-part1.npz ... (640 sequences each).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from pipeline.engine import CpuOptions, Engine, EngineConfig
from pipeline.contract import AudioSpec
from pipeline.skills.kws.frontend import MELS_PER_STEP, SPEECH_EMBEDDING, STEP, SpeechEmbeddingFrontEnd
from pipeline.runtime.stage import SHIPPED_MODELS
from training.kws import real
from training.kws.data import IGNORE, SILENCE, UNKNOWN, Mix, compose
from training.kws.synth import KEYWORDS, clip

SEQ_S = 3.2                 # 40 steps; the head sees at most 16 of them at once
WAKE = "computer"
NAMES = list(KEYWORDS) + [WAKE, SILENCE, UNKNOWN]
LABEL_FRAME_OFFSET = 5      # 10 ms frame 8j+5 is the last that ends inside step j
P_KEYWORD, P_SPEECH = 0.55, 0.35   # else noise alone
P_REAL = 0.6
P_REAL_NEGATIVE = 0.5
TTS_CORPUS = {"per_word_voice": 3, "fillers": 3000, "filler_voices": 2, "wake_words": [WAKE],
              "hard_negatives": "training/kws/hard_negatives_round2.txt", "data_dir": "/work/data/kws"}
MIX = Mix(seq_s=SEQ_S, label_span=30, p_second=0.4, p_clean=0.1, max_phrase=4, p_step=0.15)


def front_end(models: Path = SHIPPED_MODELS) -> SpeechEmbeddingFrontEnd:
    """The runtime's front end on one thread; its ``embed_batch`` computes many sequences at once."""
    cfg = EngineConfig(warmup_runs=0, cpu=CpuOptions(intra_op_threads=1))
    spec = AudioSpec(sample_rate=16000, window_ms=80.0, hop_ms=80.0, n_mels=32, n_fft=512, feature=SPEECH_EMBEDDING)
    return SpeechEmbeddingFrontEnd(spec, models / "kws_melspectrogram.onnx", models / "kws_speech_embedding.onnx", cfg)


def step_labels(frame_labels: np.ndarray, steps: int) -> np.ndarray:
    return frame_labels[np.arange(steps) * MELS_PER_STEP + LABEL_FRAME_OFFSET]


def load_pools(split: str = "train"):
    """The joined corpus (TTS, then real clips of ``split``) and its index pools."""
    from pipeline.config.loader import build
    from training.kws.train import Config, load_corpus
    tts = load_corpus(build(Config, TTS_CORPUS))
    extra = real.corpus([c for c in real.list_clips() if c.split == split], segment_s=2.0)
    corpus = real.concat(tts, extra)
    is_real = np.arange(len(corpus["word"])) >= len(tts["word"])
    usable = is_real | ~corpus["held_out"]
    words = corpus["word"]
    pools = {w: (np.flatnonzero(usable & ~is_real & (words == w)), np.flatnonzero(is_real & (words == w)))
             for w in NAMES[:-2]}
    negative = usable & ~np.isin(words, NAMES)
    pools[UNKNOWN] = (np.flatnonzero(negative & ~is_real), np.flatnonzero(negative & is_real))
    return corpus, pools


def _pick(rng, pool: tuple, p_real: float) -> int:
    tts, live = pool
    return int(rng.choice(live if len(live) and (rng.random() < p_real or not len(tts)) else tts))


def sample_parts(rng, corpus: dict, pools: dict, p_real: float = P_REAL) -> list:
    index = {n: i for i, n in enumerate(NAMES)}
    unknown = index[UNKNOWN]
    negative = lambda: (clip(corpus, _pick(rng, pools[UNKNOWN], P_REAL_NEGATIVE)), unknown)   # noqa: E731
    parts, r = [], rng.random()
    if r < P_KEYWORD:
        if rng.random() < MIX.p_phrase:
            parts.append(negative())
        word = NAMES[rng.integers(len(NAMES) - 2)]
        parts.append((clip(corpus, _pick(rng, pools[word], p_real)), index[word]))
    elif r < P_KEYWORD + P_SPEECH:
        parts += [negative() for _ in range(rng.integers(1, MIX.max_phrase + 1))]
    for p_more in (MIX.p_second, MIX.p_second ** 2):
        if parts and rng.random() < p_more:
            if rng.random() < 0.5:
                word = NAMES[rng.integers(len(NAMES) - 2)]
                parts.append((clip(corpus, _pick(rng, pools[word], p_real)), index[word]))
            else:
                parts.append(negative())
    return parts


def make(count: int, seed: int, out: Path, split: str = "train", chunk: int = 64, part: int = 640,
         p_real: float = P_REAL) -> list[Path]:
    """``count`` sequences in files of ``part`` sequences (``out`` with a part number), so a long run
    can be used before it ends; returns the files."""
    rng = np.random.default_rng(seed)
    corpus, pools = load_pools(split)
    babble = [clip(corpus, i) for i in rng.choice(pools[UNKNOWN][0], 200, replace=False)]
    front = front_end()
    steps = int(SEQ_S * 16000) // STEP
    xs, ys, files, start = [], [], [], time.time()
    for done in range(0, count, chunk):
        audio, labels = [], []
        for _ in range(min(chunk, count - done)):
            x, y = compose(sample_parts(rng, corpus, pools, p_real), NAMES.index(SILENCE), NAMES.index(UNKNOWN), MIX,
                           rng, babble)
            audio.append(x)
            labels.append(step_labels(y, steps))
        xs.append(front.embed_batch(np.stack(audio)).astype(np.float16))
        ys.append(np.stack(labels).astype(np.int16))
        print(f"{done + len(audio)}/{count} sequences, {time.time() - start:.0f} s", flush=True)
        if sum(map(len, xs)) >= part or done + len(audio) >= count:
            files.append(out.with_name(f"{out.stem}-part{len(files)}.npz"))
            y = np.concatenate(ys)
            np.savez(files[-1], x=np.concatenate(xs), y=y, names=np.array(NAMES))
            counts = {NAMES[i] if i != IGNORE else "ignore": int(n) for i, n in zip(*np.unique(y, return_counts=True))}
            print(files[-1], counts)
            xs, ys = [], []
    return files


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=12000)
    ap.add_argument("--split", default="train", choices=("train", "tune"))
    ap.add_argument("--out", required=True)
    ap.add_argument("--p-real", type=float, default=P_REAL,
                    help="chance that a keyword with real train-split recordings takes one rather than a TTS clip")
    args = ap.parse_args(argv)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    make(args.count, args.seed, Path(args.out), args.split, p_real=args.p_real)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
