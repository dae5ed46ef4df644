"""KWS targets, measured on streams the model never trained on:

    .venv/bin/python -m export.kws_bench --model pipeline/models/kws.onnx --hours 1

1. Positive stream: held-out-voice keyword utterances, 1.2-2.0 s apart in noise (a new kind
   and SNR every 20 words), fed in
   20 ms blocks through the runtime detector; accuracy (right keyword within 1 s of the
   word's end), misses, and detection latency (event time - true end of word).
2. Negative stream: >= 1 hour of words from the dictionary's reserved evaluation tenth, in no
   training clip (not even as fillers),
   spoken by held-out voices, alone or run together into phrases, in noise (white, pink,
   brown, hum, babble; SNR 5-30 dB) plus noise-only stretches, replayed as fast as
   possible; false accepts per hour.
3. Real-time factor: detector compute time (features + ONNX + decisions) / audio time, one
   thread, measured during the negative stream.
Each threshold of a sweep is replayed through the real decision code on the recorded
posteriors; the contract threshold can then be set from the sweep (--write).
"""
from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

from export.kws_card import record, replace_card_section
from pipeline.engine import CpuOptions, Engine, EngineConfig
from pipeline.skills.kws.detector import DetectorOptions, KeywordSpotter
from pipeline.config.loader import build
from training.common import progress
from training.kws.data import NOISE_KINDS, noise
from training.kws.synth import all_voices, clip, filler_words, synthesise
from training.kws.train import Config, load_corpus

BLOCK = 320                 # 20 ms at 16 kHz, the live block size
CHUNK_S = 30.0              # negative stream generated and fed in chunks of this length
MATCH_S = 1.0               # a detection within this long after a word's end belongs to it
SWEEP = (0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98)
POSITIVE_CHUNK = 20         # positive words per noise condition
UNSEEN_WORDS = 2000         # distinct negative words, each spoken once
RATE = 16000


def _place(clips: list[np.ndarray], gaps: np.ndarray, rng) -> tuple[np.ndarray, list[float], float]:
    total = int(sum(len(c) for c in clips) + gaps.sum() * RATE) + RATE
    speech, ends, pos = np.zeros(total, np.float32), [], int(0.5 * RATE)
    for c, gap in zip(clips, gaps):
        c = c * 10 ** (rng.uniform(-6, 0) / 20) / (np.abs(c).max() + 1e-9) * 0.5
        speech[pos:pos + len(c)] = c
        ends.append((pos + len(c)) / RATE)
        pos += len(c) + int(gap * RATE)
    rms = np.sqrt((speech[speech != 0] ** 2).mean()) if speech.any() else 0.05
    return speech, ends, rms


def _noisy(speech: np.ndarray, rms: float, rng, babble: list[np.ndarray], snr_db: tuple) -> tuple[np.ndarray, str]:
    """The speech in one random noise kind at a random SNR, and that condition ("babble 12 dB")."""
    kind = NOISE_KINDS[rng.integers(len(NOISE_KINDS))]
    snr = rng.uniform(*snr_db)
    x = speech + noise(kind, len(speech), rng, babble, RATE) * rms * 10 ** (-snr / 20)
    return (x / max(1.0, np.abs(x).max())).astype(np.float32), f"{kind} {snr:.0f} dB"


def _stream(spotter: KeywordSpotter, x: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-frame posteriors of the whole stream fed in live-sized blocks, and the compute seconds."""
    posts, t = [], 0.0
    for i in range(0, len(x), BLOCK):
        start = time.perf_counter()
        posts.append(spotter.posteriors(x[i:i + BLOCK]))
        t += time.perf_counter() - start
    return np.concatenate(posts), t


def positives(spotter, corpus, idx, rng, babble, n: int) -> tuple[np.ndarray, list, list, list]:
    """Held-out keyword utterances 1.2-2.0 s apart, in chunks of POSITIVE_CHUNK words, each chunk in its
    own noise kind and SNR, streamed as one continuous signal."""
    pick = rng.choice(idx, size=min(n, len(idx)), replace=False)
    xs, ends, conditions, offset = [], [], [], 0.0
    for a in range(0, len(pick), POSITIVE_CHUNK):
        clips = [clip(corpus, i) for i in pick[a:a + POSITIVE_CHUNK]]
        speech, chunk_ends, rms = _place(clips, rng.uniform(1.2, 2.0, len(clips)), rng)
        x, condition = _noisy(speech, rms, rng, babble, (10.0, 30.0))
        xs.append(x)
        ends += [offset + e for e in chunk_ends]
        conditions += [condition] * len(clips)
        offset += len(xs[-1]) / RATE
    posts, _ = _stream(spotter, np.concatenate(xs))
    return posts, ends, [str(corpus["word"][i]) for i in pick], conditions


def score_positives(events, ends, words, conditions=None) -> dict:
    wrong, latency, used, hit = 0, [], set(), []
    for end, word in zip(ends, words):
        near = [e for e in events if end - 0.2 <= e.t <= end + MATCH_S and id(e) not in used]
        hit.append(bool(near) and near[0].keyword == word)
        if not near:
            continue
        used.add(id(near[0]))
        if near[0].keyword == word:
            latency.append((near[0].t - end) * 1000)
        else:
            wrong += 1
    n, hits = len(words), sum(hit)
    by_noise = {}
    for kind in sorted({c.split()[0] for c in conditions or []}):
        mine = [h for h, c in zip(hit, conditions) if c.split()[0] == kind]
        by_noise[kind] = {"accuracy": sum(mine) / len(mine), "utterances": len(mine)}
    by_keyword = {k: [sum(h for h, w in zip(hit, words) if w == k), words.count(k)] for k in sorted(set(words))}
    lat = np.array(latency) if latency else np.zeros(1)
    return {"utterances": n, "hits_by_keyword": by_keyword, "accuracy": hits / n, "wrong_keyword": wrong / n, "missed": (n - hits - wrong) / n,
            "extra_events": len(events) - len(used), "latency_ms_p50": float(np.percentile(lat, 50)),
            "latency_ms_p90": float(np.percentile(lat, 90)), "latency_ms_max": float(lat.max()),
            **({"accuracy_by_noise": by_noise} if by_noise else {})}


def unseen_words(cfg: Config, count: int, seed: int) -> tuple[list[str], list[np.ndarray]]:
    """Words from the dictionary's evaluation tenth (training/kws/synth.py: evaluation_word), so in
    no training clip, spoken by held-out voices (cached in data_dir): negatives the model has heard
    neither in those words nor in those voices."""
    path = Path(cfg.data_dir) / f"bench-evaluation-words-{'-'.join(sorted(cfg.vocabulary))}-{count}-{seed}.npz"
    rng = np.random.default_rng(seed)
    pool = filler_words(count, rng, tuple(cfg.vocabulary), evaluation=True)
    if not path.is_file():
        voices = [v for v in all_voices() if v.held_out]
        jobs = [(w, voices[rng.integers(len(voices))], *rng.uniform([0.75, 0.15], [1.35, 0.85])) for w in pool]
        with ThreadPoolExecutor(2) as pool_:
            clips = list(progress(pool_.map(lambda j: synthesise(*j), jobs), total=len(jobs), desc="unseen words"))
        kept = [i for i, c in enumerate(clips) if len(c)]
        np.savez(path, audio=np.concatenate([clips[i] for i in kept]), words=np.array([pool[i] for i in kept]),
                 offsets=np.cumsum([0] + [len(clips[i]) for i in kept]))
    with np.load(path) as d:
        audio, offsets = d["audio"], d["offsets"]
        words = d["words"].tolist()
    return words, [audio[a:b] for a, b in zip(offsets[:-1], offsets[1:])]


def negatives(spotter, words: list[np.ndarray], rng, babble, hours: float) -> tuple[np.ndarray, float, float, list]:
    """Posteriors of the negative stream, compute seconds, audio seconds, and (start s, end s, word index)
    of every word placed in it, so that false accepts can be traced to the words that caused them."""
    posts, compute, audio_s, placed = [], 0.0, 0.0, []
    bar = progress(total=int(hours * 3600), desc="negative stream (audio s)")
    while audio_s < hours * 3600:
        picks, gaps = [], []
        while sum(len(words[i]) for i in picks) / RATE + sum(gaps) < CHUNK_S * 0.8:
            picks.append(int(rng.integers(len(words))))
            gaps.append(rng.uniform(0.05, 0.25) if rng.random() < 0.7 else rng.uniform(0.5, 3.0))
        if rng.random() < 0.2:   # noise-only stretches
            picks = []
        clips = [words[i] for i in picks]
        speech, ends, rms = _place(clips, np.array(gaps[:len(clips)]), rng) if clips else (
            np.zeros(int(CHUNK_S * RATE), np.float32), [], 0.05)
        placed += [(audio_s + end - len(c) / RATE, audio_s + end, i) for c, end, i in zip(clips, ends, picks)]
        x, _ = _noisy(speech, rms, rng, babble, (5.0, 30.0))
        p, t = _stream(spotter, x)
        posts.append(p)
        compute += t
        audio_s += len(x) / RATE
        bar.update(len(x) / RATE)
    bar.close()
    return np.concatenate(posts), compute, audio_s, placed


def culprits(events, placed: list, names: list[str], top: int = 20) -> dict:
    """The words most false accepts followed: each event goes to the last word that started before it
    and ended at most MATCH_S earlier; "(noise)" when there is none."""
    starts = np.array([p[0] for p in placed]) if placed else np.zeros(0)
    counts: dict[str, int] = {}
    for e in events:
        k = int(np.searchsorted(starts, e.t, side="right")) - 1
        word = names[placed[k][2]] if k >= 0 and e.t <= placed[k][1] + MATCH_S else "(noise)"
        key = f"{word}->{e.keyword}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1])[:top])


def measure(spotter, pos_posts, ends, words, conditions, neg_posts, audio_s: float, placed: list,
            names: list[str]) -> dict:
    """Positives and false accepts with the spotter's current thresholds and hold."""
    pos = score_positives(spotter.replay(pos_posts), ends, words, conditions)
    fa_events = spotter.replay(neg_posts)
    fa = [d.keyword for d in fa_events]
    return {**pos, "false_accepts": len(fa), "false_accepts_per_hour": len(fa) / (audio_s / 3600),
            "false_accepts_by_keyword": {k: fa.count(k) for k in sorted(set(fa), key=fa.count, reverse=True)},
            "false_accepts_by_word": culprits(fa_events, placed, names)}


def sweep_thresholds(spotter, hold: int, *streams) -> dict:
    """Every threshold of SWEEP, replayed through the detector's decisions with ``hold`` frames."""
    spotter.hold = hold
    sweep = {}
    for th in SWEEP:
        spotter.thresholds[:] = th
        sweep[th] = measure(spotter, *streams)
    return sweep


def per_keyword_thresholds(sweep: dict, keywords: list[str], target: float) -> dict[str, float]:
    """Thresholds per keyword from one sweep: start every keyword at the strictest threshold and,
    while the share of commands detected is below ``target``, lower the keyword whose next step
    buys the most detections per added false accept. Per-keyword counts of a uniform sweep stand
    in for the joint replay, which they only approximate (a wrong keyword firing first can block
    the right one, so a keyword's hits need not rise as its threshold falls); the caller measures
    the result exactly."""
    levels = sorted(sweep, reverse=True)
    total = sweep[levels[0]]["utterances"]
    hits = {k: [sweep[t]["hits_by_keyword"].get(k, [0, 0])[0] for t in levels] for k in keywords}
    fas = {k: [sweep[t]["false_accepts_by_keyword"].get(k, 0) for t in levels] for k in keywords}
    at = dict.fromkeys(keywords, 0)
    while sum(hits[k][at[k]] for k in keywords) / total < target:
        steps = [((hits[k][at[k] + 1] - hits[k][at[k]]) / (fas[k][at[k] + 1] - fas[k][at[k]] + 0.5), k)
                 for k in keywords if at[k] + 1 < len(levels)]
        if not steps or max(steps)[0] <= 0:   # nothing left to buy
            break
        gain, k = max(steps)
        at[k] += 1
    return {k: float(levels[at[k]]) for k in keywords}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="pipeline/models/kws.onnx")
    ap.add_argument("--hours", type=float, default=1.0, help="negative stream length")
    ap.add_argument("--positives", type=int, default=1500, help="held-out keyword utterances")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="", help="write the figures here as JSON")
    ap.add_argument("--holds", type=lambda s: [int(x) for x in s.split(",")], default=[1],
                    help="frames the smoothed posterior must stay above the threshold, e.g. 1,4,8 (one sweep each)")
    ap.add_argument("--write-hold", type=int, default=0, help="the hold to store with --write-threshold")
    ap.add_argument("--write-threshold", type=float, default=0.0,
                    help="store this sweep threshold and the figures in the model's contract and card")
    ap.add_argument("--per-keyword-target", type=float, default=0.0,
                    help="choose a threshold per keyword on this run that detects this share of commands "
                         "with the fewest false accepts (e.g. 0.95), and measure it")
    ap.add_argument("--config", default="", help="the training run's config.json (its TTS corpus and held-out "
                                                 "voices); default: the default training config")
    ap.add_argument("--real", action="store_true",
                    help="also the real-speech figures of held-out speakers (export/kws_real.py), int8 and fp32")
    ap.add_argument("--wake-threshold", type=float, default=0.0,
                    help="wake-phrase threshold (models with one): wake-mode figures, stored with --write-threshold")
    ap.add_argument("--window-threshold", type=float, default=0.0,
                    help="command threshold inside the wake window, stored with --write-threshold")
    ap.add_argument("--per-keyword", default="",
                    help='measure these per-keyword thresholds (JSON, as export.kws_real --sweep --split tune chooses '
                         'them on real tune speakers: {"on": 0.95, ...}); '
                         "with --write-threshold they are stored too")
    args = ap.parse_args(argv)
    cfg = build(Config, json.loads(Path(args.config).read_text())) if args.config else Config()
    corpus = load_corpus(cfg)
    held = corpus["held_out"]
    is_kw = np.isin(corpus["word"], cfg.vocabulary)
    rng = np.random.default_rng(args.seed)
    fillers = np.flatnonzero(held & ~is_kw)
    babble = [clip(corpus, i) for i in rng.choice(fillers, 200, replace=False)]
    engine = Engine(args.model, EngineConfig(warmup_runs=5, cpu=replace(CpuOptions(), intra_op_threads=1)))
    spotter = KeywordSpotter(engine)
    pos_posts, ends, words, conditions = positives(spotter, corpus, np.flatnonzero(held & is_kw), rng, babble, args.positives)
    spotter.reset()
    unseen_names, unseen = unseen_words(cfg, UNSEEN_WORDS, args.seed)
    trained = sorted(set(unseen_names) & set(corpus["word"].tolist()))
    if trained:   # only a corpus built before the dictionary was split can hold any
        print(f"warning: {len(trained)} negative words are in the training corpus, e.g. {trained[:5]}")
    neg_posts, compute, audio_s, placed = negatives(spotter, unseen, rng, babble, args.hours)
    streams = (pos_posts, ends, words, conditions, neg_posts, audio_s, placed, unseen_names)
    sweeps = {hold: sweep_thresholds(spotter, hold, *streams) for hold in args.holds}
    hold = args.write_hold or args.holds[0]
    per_keyword = None
    if args.per_keyword_target or args.per_keyword:
        chosen = (json.loads(args.per_keyword) if args.per_keyword
                  else per_keyword_thresholds(sweeps[hold], spotter.keywords, args.per_keyword_target))
        spotter.hold = hold
        spotter.thresholds[:] = [chosen[k] for k in spotter.keywords]
        per_keyword = {"thresholds": chosen, "chosen_on": "the tune split of real speech (export.kws_real --sweep --split tune, "
                                     "choose_per_keyword)" if args.per_keyword else f"this run (seed {args.seed})",
                       **measure(spotter, *streams)}
    result = {"model": args.model, "negative_hours": audio_s / 3600,
              "negative_words": f"{len(unseen)} words of the dictionary's evaluation tenth "
                                f"({len(trained)} of them in the training corpus), held-out voices",
              "real_time_factor": compute / audio_s,
              "protocol": {"block_ms": BLOCK / RATE * 1000, "threads": 1, "provider": engine.provider,
                           "warmup_runs": 5, "replay": "as fast as possible", "seed": args.seed,
                           "timed": "features + ONNX + posteriors per 20 ms block (decisions replayed per threshold)"},
              "hold_frames": hold, "sweep": sweeps[hold], "sweeps_by_hold": sweeps,
              **({"per_keyword": per_keyword} if per_keyword else {})}
    if args.window_threshold:
        result["window_threshold"] = args.window_threshold
    if args.wake_threshold:
        result.update(wake_extras(args, cfg, corpus, engine, rng, babble, neg_posts, audio_s, hold))
    if args.write_threshold:
        record(Path(args.model), result, args.write_threshold, MATCH_S)
    if args.real:
        from export.kws_real import REAL_HEADING, card_section, evaluate
        twin = str(Path(args.model).with_suffix(".fp32.onnx"))
        commands = {k: per_keyword["thresholds"].get(k, args.write_threshold) for k in per_keyword["thresholds"]} \
            if per_keyword and args.write_threshold else args.write_threshold or None
        result["real_held_out"] = {v: evaluate(p, commands, args.wake_threshold or None,
                                               hold=hold, window_threshold=args.window_threshold or None)
                                   for v, p in (("int8", args.model), ("fp32", twin)) if Path(p).is_file()}
        if args.write_threshold:
            result["at_threshold"] = per_keyword or result["sweep"][args.write_threshold]
            replace_card_section(Path(args.model).with_suffix(".md"), REAL_HEADING, card_section(result),
                                 before="## Front end")   # the side-by-side table opens the card
    print(json.dumps(result, indent=1, default=float))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1, default=float))
    return 0


def wake_extras(args, cfg, corpus, engine, rng, babble, neg_posts, audio_s: float, hold: int) -> dict:
    """Wake-mode figures on the synthetic streams: held-out-voice wake phrases and the negative stream."""
    from export.kws_real import tts_wake_figures
    spotter = KeywordSpotter(engine)
    idx = np.flatnonzero(corpus["held_out"] & np.isin(corpus["word"], cfg.wake_words))
    wake_posts, ends, _, _ = positives(spotter, corpus, idx, rng, babble, args.positives)
    return {"tts_wake": tts_wake_figures(engine, hold, args.window_threshold or args.write_threshold or float(
        spotter.contract.params["threshold"]), args.wake_threshold, neg_posts, audio_s, wake_posts, ends),
        "wake_thresholds": {w: args.wake_threshold for w in spotter.wake_phrases}}


if __name__ == "__main__":
    raise SystemExit(main())
