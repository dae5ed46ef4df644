"""Hard-negative mining for the keyword spotter:

    .venv/bin/python -m export.kws_mine --model RUN/kws.fp32.onnx --out training/kws/hard_negatives.txt

Every dictionary word that is neither in the training corpus nor in the reserved
evaluation tenth (training/kws/synth.py: evaluation_word) is spoken once by a random
*training* voice and streamed, a few words a second in light noise, through the runtime
detector at a permissive operating point. The words it fires on are written out; training
them as extra _unknown_ fillers (`perceive train kws --set hard_negatives=FILE`) teaches
the near misses the random fillers did not. Evaluation words and held-out voices are never
used, so the benchmark's negatives stay words the model has not trained on.
"""
from __future__ import annotations

import argparse
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

from export.kws_bench import RATE, _noisy, _place, _stream, culprits
from pipeline.config.loader import build
from pipeline.engine import CpuOptions, Engine, EngineConfig
from pipeline.skills.kws.detector import KeywordSpotter
from training.common import progress
from training.kws.synth import all_voices, clip, synthesise, training_words
from training.kws.train import Config, load_corpus

CHUNK_WORDS = 40


def candidates(cfg: Config, corpus: dict) -> list[str]:
    known = set(corpus["word"].tolist())
    return [w for w in training_words(tuple(cfg.vocabulary)) if w not in known]


def mine(spotter: KeywordSpotter, words: list[str], rng, babble, threshold: float, hold: int) -> dict[str, int]:
    """Word -> number of events it caused, over one pass of every word."""
    voices = [v for v in all_voices() if not v.held_out]
    jobs = [(w, voices[rng.integers(len(voices))], *rng.uniform([0.75, 0.15], [1.35, 0.85])) for w in words]
    hits: dict[str, int] = {}
    spotter.thresholds[:] = threshold
    spotter.hold = hold
    with ThreadPoolExecutor(2) as pool:
        for a in progress(range(0, len(jobs), CHUNK_WORDS), desc="mining (chunks of %d words)" % CHUNK_WORDS):
            names = [j[0] for j in jobs[a:a + CHUNK_WORDS]]
            clips = list(pool.map(lambda j: synthesise(*j), jobs[a:a + CHUNK_WORDS]))
            keep = [i for i, c in enumerate(clips) if len(c)]
            speech, ends, rms = _place([clips[i] for i in keep], rng.uniform(0.1, 0.4, len(keep)), rng)
            x, _ = _noisy(speech, rms, rng, babble, (10.0, 30.0))
            spotter.reset()
            posts, _ = _stream(spotter, x)
            placed = [(end - len(clips[i]) / RATE, end, i) for i, end in zip(keep, ends)]
            for key, n in culprits(spotter.replay(posts), placed, names, top=CHUNK_WORDS).items():
                word = key.split("->")[0]
                if word != "(noise)":
                    hits[word] = hits.get(word, 0) + n
    return hits


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="an exported keyword model (the fp32 twin is fine)")
    ap.add_argument("--out", required=True, help="word list to write (one word per line)")
    ap.add_argument("--threshold", type=float, default=0.5, help="permissive on purpose: near misses count")
    ap.add_argument("--hold", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="mine only this many words (0: all candidates)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--config", default="", help="the training run's config.json (default: today's defaults), "
                                                 "naming the corpus whose words are not candidates")
    args = ap.parse_args(argv)
    cfg = build(Config, json.loads(Path(args.config).read_text()), "config") if args.config else Config()
    corpus = load_corpus(cfg)
    rng = np.random.default_rng(args.seed)
    words = candidates(cfg, corpus)
    if args.limit:
        words = list(rng.choice(words, size=min(args.limit, len(words)), replace=False))
    train_fillers = np.flatnonzero(~corpus["held_out"] & ~np.isin(corpus["word"], cfg.vocabulary))
    babble = [clip(corpus, i) for i in rng.choice(train_fillers, min(200, len(train_fillers)), replace=False)]
    engine = Engine(args.model, EngineConfig(warmup_runs=1, cpu=replace(CpuOptions(), intra_op_threads=1)))
    hits = mine(KeywordSpotter(engine), words, rng, babble, args.threshold, args.hold)
    Path(args.out).write_text("".join(f"{w}\n" for w in sorted(hits)))
    print(f"{len(hits)} of {len(words)} candidate words fired at threshold {args.threshold}, hold {args.hold} "
          f"-> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
