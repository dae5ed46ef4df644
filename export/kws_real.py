"""KWS figures on REAL speech (training/kws/real.py: sources, licences and the fixed split rule):

    python -m export.kws_real --model pipeline/models/kws.onnx [--split held_out] [--out r.json]

Every figure comes from one continuous stream per source, fed in 20 ms blocks through the runtime
detector (posteriors recorded once, decisions replayed per threshold, as export/kws_bench.py does):
1. Speech Commands clips of the split's speakers (ten commands and 25 other words, shuffled with a
   fixed seed, each followed by ``GAP_S`` of silence), ``commands`` mode: share of command clips whose
   first event is the right word, per word, and share of other-word clips that fire any command.
2. Continuous read speech of the split's files (coffee orders, no command in it), ``commands`` mode:
   false accepts per hour; ``wake`` mode: false wakes per hour and commands accepted per hour.
3. Wake-word recordings of the split's files: share of the wake phrase's clips that wake the
   detector, and share of the other wake words' clips (alexa, jarvis, ...) that do.
Thresholds are chosen on the ``tune`` split (``choose``), never on ``held_out``.
"""
from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from pipeline.engine import CpuOptions, Engine, EngineConfig
from pipeline.skills.kws.detector import DetectorOptions, KeywordSpotter
from pipeline.skills.kws.modes import gate
from training.kws import real

BLOCK = 320                 # 20 ms at 16 kHz, the live block size
RATE = real.SAMPLE_RATE
GAP_S = 1.2                 # silence after each single-word clip; its events belong to it until the next clip
CONTINUOUS_GAP_S = 0.5
SHUFFLE_SEED = 0
SWEEP = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98)
STRICT = (0.99, 0.995)      # swept too, for per-command thresholds only (choose() keeps to SWEEP)
TARGETS = {"command_accuracy": 0.90, "unknown_fired": 0.05, "commands_fa_per_hour": 10.0,
           "wake_detected": 0.95, "false_wakes_per_hour": 0.5}


def _stream(clips: list[np.ndarray], gap_s: float) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Clips one after another, each followed by ``gap_s`` of silence; (start, next start) of each, s."""
    gap = np.zeros(int(gap_s * RATE), np.float32)
    parts, spans, pos = [], [], 0
    for c in clips:
        parts += [c, gap]
        spans.append((pos / RATE, (pos + len(c) + len(gap)) / RATE))
        pos += len(c) + len(gap)
    return np.concatenate(parts), spans


def wake_spotter(model: str, hold: int = 0) -> KeywordSpotter:
    """The runtime detector in wake mode on one thread (``hold`` 0: the contract's)."""
    engine = Engine(model, EngineConfig(warmup_runs=0, cpu=replace(CpuOptions(), intra_op_threads=1)))
    return KeywordSpotter(engine, DetectorOptions(wake=True, hold_frames=hold))


def _posteriors(spotter: KeywordSpotter, x: np.ndarray) -> np.ndarray:
    spotter.reset()
    return np.concatenate([spotter.posteriors(x[i:i + BLOCK]) for i in range(0, len(x), BLOCK)])


class RealStreams:
    """Posteriors of the three real streams of one split, recorded once for a model."""

    def __init__(self, model: str, split: str, hold: int = 0):
        self.spotter = wake_spotter(model, hold)
        self.commands = self.spotter.commands
        self.wake_phrases = self.spotter.wake_phrases
        clips = [c for c in real.list_clips() if c.split == split]
        words = [c for c in clips if c.source == real.SPEECH_COMMANDS]
        order = np.random.default_rng(SHUFFLE_SEED).permutation(len(words))
        self.words = [words[i].word for i in order]
        self.speakers = sorted({c.speaker for c in words})
        x, self.word_spans = _stream([real.read(words[i].path) for i in order], GAP_S)
        self.word_posts = _posteriors(self.spotter, x)
        wake = [c for c in clips if c.source == real.WAKE_WORDS]
        self.wake_words = [c.word for c in wake]
        x, self.wake_spans = _stream([real.read(c.path) for c in wake], GAP_S)
        self.wake_posts = _posteriors(self.spotter, x)
        continuous = [c for c in clips if c.source == real.CONTINUOUS]
        x, _ = _stream([real.read(c.path) for c in continuous], CONTINUOUS_GAP_S)
        self.continuous_hours = len(x) / RATE / 3600
        self.continuous_files = len(continuous)
        self.continuous_posts = _posteriors(self.spotter, x)

    def events(self, posts: np.ndarray, mode: str, command_threshold: float | dict, wake_threshold: float | None):
        """Gated events ((kind, keyword, t)) on recorded posteriors at these thresholds (``command_threshold``:
        one for every command, or one per command)."""
        s = self.spotter
        s.keywords = self.commands + (self.wake_phrases if mode == "wake" else [])
        s.kw_index = np.array([s.labels.index(k) for k in s.keywords])
        s._is_wake = np.array([k in self.wake_phrases for k in s.keywords])
        s.thresholds = np.array([wake_threshold if w else _for(command_threshold, k)
                                 for k, w in zip(s.keywords, s._is_wake)], float)
        s._streak = np.zeros(len(s.keywords), np.int64)
        return [(e.kind, e.detection.keyword, e.detection.t)
                for e in gate(s.replay(posts), mode, self.wake_phrases)]


def _for(threshold: float | dict, keyword: str) -> float:
    return float(threshold[keyword]) if isinstance(threshold, dict) else float(threshold)


def _first_in_span(events, spans):
    """The first event (kind, keyword, t) inside each (start, end) span, or None."""
    times = np.array([e[2] for e in events]) if events else np.zeros(0)
    out = []
    for start, end in spans:
        i = int(np.searchsorted(times, start))
        out.append(events[i] if i < len(events) and times[i] < end else None)
    return out


def command_figures(r: RealStreams, threshold: float | dict) -> dict:
    """``commands`` mode; per command also what it fires on that is not it (first events in other words'
    clips, the other commands' included) and its false accepts in continuous speech."""
    first = _first_in_span(r.events(r.word_posts, "commands", threshold, None), r.word_spans)
    per_word, unknown = {}, []
    wrong = dict.fromkeys(r.commands, 0)
    for word, e in zip(r.words, first):
        if word in r.commands:
            per_word.setdefault(word, []).append(e is not None and e[1] == word)
        else:
            unknown.append(e is not None)
        if e is not None and e[1] != word:
            wrong[e[1]] += 1
    hits = [h for v in per_word.values() for h in v]
    cont = r.events(r.continuous_posts, "commands", threshold, None)
    return {"command_accuracy": float(np.mean(hits)), "command_clips": len(hits),
            "accuracy_by_word": {w: [int(sum(v)), len(v)] for w, v in sorted(per_word.items())},
            "unknown_fired": float(np.mean(unknown)) if unknown else 0.0, "unknown_clips": len(unknown),
            "commands_fa_per_hour": len(cont) / r.continuous_hours, "commands_false_accepts": len(cont),
            "wrong_fired_by_keyword": wrong,
            "continuous_fa_by_keyword": {k: sum(e[1] == k for e in cont) for k in r.commands}}


def wake_figures(r: RealStreams, command_threshold: float, wake_threshold: float) -> dict:
    """Wake mode; ``command_threshold`` is the one commands are decided at inside the window."""
    if not r.wake_phrases:
        return {"wake": "the model has no wake phrase"}
    first = _first_in_span([e for e in r.events(r.wake_posts, "wake", command_threshold, wake_threshold)
                            if e[0] == "wake"], r.wake_spans)
    mine = [e is not None for w, e in zip(r.wake_words, first) if w in r.wake_phrases]
    others = [e is not None for w, e in zip(r.wake_words, first) if w not in r.wake_phrases]
    cont = r.events(r.continuous_posts, "wake", command_threshold, wake_threshold)
    wakes = sum(e[0] == "wake" for e in cont)
    return {"wake_detected": float(np.mean(mine)) if mine else 0.0, "wake_clips": len(mine),
            "other_wake_words_fired": float(np.mean(others)) if others else 0.0, "other_wake_word_clips": len(others),
            "false_wakes_per_hour": wakes / r.continuous_hours, "false_wakes": wakes,
            "wake_mode_commands_per_hour": sum(e[0] == "keyword" for e in cont) / r.continuous_hours}


def sweep(r: RealStreams) -> dict:
    out = {}
    for th in SWEEP + STRICT:
        out[th] = command_figures(r, th)
        if r.wake_phrases:
            out[th]["wake_as_threshold"] = wake_figures(r, th, th)
    return out


def choose(tune: dict) -> tuple[float, float, float]:
    """On the TUNE split's sweep: the command threshold with the best accuracy whose real unknown words
    fire <= 5% and continuous speech <= 10 FA/h (else the strictest); the window threshold (commands
    in wake mode, heard only in the window after a wake phrase) with the best accuracy; and, among the
    wake thresholds with no false wake on tune continuous speech and tune other wake words, the one that
    hears the most tune wake phrases, the strictest of equals (the margin against false wakes; else the
    strictest of all)."""
    tune = {t: f for t, f in tune.items() if t in SWEEP}
    ok = [t for t, f in tune.items() if f["unknown_fired"] <= TARGETS["unknown_fired"]
          and f["commands_fa_per_hour"] <= TARGETS["commands_fa_per_hour"]]
    command = max(ok, key=lambda t: (tune[t]["command_accuracy"], t)) if ok else max(tune)
    wake_ok = [t for t, f in tune.items() if "wake_as_threshold" in f and f["wake_as_threshold"]["false_wakes"] == 0
               and f["wake_as_threshold"]["other_wake_words_fired"] == 0]
    window = max(tune, key=lambda t: (tune[t]["command_accuracy"], t))
    wake = max(wake_ok, key=lambda t: (tune[t]["wake_as_threshold"].get("wake_detected", 0.0), t)) if wake_ok \
        else max(tune)
    return float(command), float(window), float(wake)


def choose_per_keyword(tune: dict, default: float) -> dict[str, float]:
    """A threshold per command on the TUNE split's sweep: for each command, among the thresholds at which
    it fires nowhere in tune continuous speech (else the strictest), the one that maximises its right
    detections minus its firings on other words' clips, the strictest of equals. A command no tune
    speaker said (unlock, lock: TTS only) keeps ``default`` (choose()'s) unless it fires in tune
    continuous speech there; then it gets the least strict threshold above ``default`` where it does
    not (where none stops it, ``default``: a stricter one would cost detections and buy nothing). Per-command counts of one uniform sweep approximate the joint replay (a
    wrong command firing first can block the right one): the caller measures the result exactly."""
    levels = sorted(tune, reverse=True)
    chosen = {}
    for k in tune[levels[0]]["wrong_fired_by_keyword"]:
        clean = [t for t in levels if tune[t]["continuous_fa_by_keyword"][k] == 0]
        if not tune[levels[0]]["accuracy_by_word"].get(k):
            chosen[k] = float(min((t for t in clean if t >= default), default=default))
            continue

        def score(t):
            return tune[t]["accuracy_by_word"][k][0] - tune[t]["wrong_fired_by_keyword"][k]
        chosen[k] = float(max(clean or levels[:1], key=lambda t: (score(t), t)))
    return chosen


def wake_then_command(model: str, split: str, window_threshold: float | None = None, gap_s: float = 0.2) -> dict:
    """Wake mode as a user speaks it: each Speech Commands command clip of ``split`` right after one of the
    split's real `computer` recordings (drawn with a fixed seed; ``gap_s`` apart), one stream per pair
    from a reset detector; the share whose first command in the window is the right word."""
    clips = [c for c in real.list_clips() if c.split == split]
    spotter = wake_spotter(model)
    if window_threshold:
        spotter.thresholds[~spotter._is_wake] = window_threshold
    wakes = [real.read(c.path) for c in clips if c.source == real.WAKE_WORDS and c.word in spotter.wake_phrases]
    rng, hits = np.random.default_rng(SHUFFLE_SEED), []
    silence = lambda s: np.zeros(int(s * RATE), np.float32)   # noqa: E731
    for c in clips:
        if c.source != real.SPEECH_COMMANDS or c.word not in spotter.commands:
            continue
        x = np.concatenate([silence(0.5), wakes[rng.integers(len(wakes))], silence(gap_s), real.read(c.path), silence(1.0)])
        heard = [e.detection.keyword for e in gate(spotter.replay(_posteriors(spotter, x)), "wake", spotter.wake_phrases)
                 if e.kind == "keyword"]
        hits.append(bool(heard) and heard[0] == c.word)
    return {"model": model, "split": split, "wake_recordings": len(wakes), "commands": len(hits),
            "right_after_wake": float(np.mean(hits)) if hits else 0.0}


def evaluate(model: str, command_threshold: float | dict | None = None, wake_threshold: float | None = None,
             split: str = "held_out", hold: int = 0, window_threshold: float | None = None) -> dict:
    """The real figures of one split at given thresholds and hold (None, 0: the model contract's)."""
    r = RealStreams(model, split, hold)
    params = r.spotter.contract.params
    command_threshold = command_threshold or {k: float(params.get("thresholds", {}).get(k, params["threshold"]))
                                              for k in r.commands}
    window_threshold = window_threshold or float(params.get("window_threshold", params["threshold"]))
    wake_threshold = wake_threshold or float(params.get("thresholds", {}).get(
        (r.wake_phrases or [""])[0], params["threshold"]))
    return {"model": model, "split": split, "speakers": len(r.speakers),
            "continuous_files": r.continuous_files, "continuous_hours": r.continuous_hours,
            "command_threshold": command_threshold, "window_threshold": window_threshold,
            "wake_threshold": wake_threshold, "hold_frames": r.spotter.hold, **command_figures(r, command_threshold),
            **wake_figures(r, window_threshold, wake_threshold)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="pipeline/models/kws.onnx")
    ap.add_argument("--split", default="held_out", choices=("held_out", "tune"))
    ap.add_argument("--sweep", action="store_true", help="every threshold of the sweep (commands and wake)")
    ap.add_argument("--threshold", type=float, default=0.0, help="command threshold (default: the contract's)")
    ap.add_argument("--wake-threshold", type=float, default=0.0, help="wake threshold (default: the contract's)")
    ap.add_argument("--window-threshold", type=float, default=0.0,
                    help="command threshold inside the wake window (default: the contract's)")
    ap.add_argument("--hold", type=int, default=0, help="hold frames (default: the contract's)")
    ap.add_argument("--per-keyword", default="", help='command thresholds per keyword (JSON, e.g. chosen on the '
                                                       'tune split: {"on": 0.9, ...}); overrides --threshold')
    ap.add_argument("--wake-then-command", action="store_true",
                    help="each command clip right after a real wake phrase, wake mode (the window's threshold)")
    ap.add_argument("--out", default="")
    ap.add_argument("--card", action="store_true", help="with --sweep: put the sweep in the model's card")
    args = ap.parse_args(argv)
    if args.wake_then_command:
        result = wake_then_command(args.model, args.split, args.window_threshold or None)
    elif args.sweep:
        r = RealStreams(args.model, args.split, args.hold)
        result = {"model": args.model, "split": args.split, "sweep": sweep(r)}
        if args.split == "tune":
            result["chosen"] = dict(zip(("command_threshold", "window_threshold", "wake_threshold"),
                                        choose(result["sweep"])))
            result["chosen"]["per_keyword"] = choose_per_keyword(result["sweep"],
                                                                 result["chosen"]["command_threshold"])
    else:
        commands = json.loads(args.per_keyword) if args.per_keyword else args.threshold or None
        result = evaluate(args.model, commands, args.wake_threshold or None, args.split, args.hold,
                          args.window_threshold or None)
    print(json.dumps(result, indent=1, default=float))
    if args.card and args.sweep:
        write_sweep_section(Path(args.model).with_suffix(".md"), result)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1, default=float)
    return 0


def tts_wake_figures(engine, hold: int, command_threshold: float, wake_threshold: float, neg_posts: np.ndarray,
                     audio_s: float, wake_posts: np.ndarray | None = None, wake_ends: list | None = None) -> dict:
    """Wake mode on the synthetic benchmark's streams (export/kws_bench.py): false wakes and commands
    accepted per hour on its negative stream, and the share of held-out-voice wake phrases heard."""
    spotter = KeywordSpotter(engine, DetectorOptions(wake=True))
    spotter.hold = hold
    spotter.thresholds = np.where(spotter._is_wake, wake_threshold, command_threshold).astype(float)
    neg = gate(spotter.replay(neg_posts), "wake", spotter.wake_phrases)
    out = {"wake_threshold": wake_threshold, "command_threshold": command_threshold,
           "false_wakes_per_hour": sum(e.kind == "wake" for e in neg) / (audio_s / 3600),
           "wake_mode_commands_per_hour": sum(e.kind == "keyword" for e in neg) / (audio_s / 3600)}
    if wake_posts is not None:
        times = np.array([e.detection.t for e in gate(spotter.replay(wake_posts), "wake", spotter.wake_phrases)
                          if e.kind == "wake"])
        heard = [bool(((times >= end - 0.2) & (times <= end + 1.0)).any()) for end in wake_ends]
        out.update(wake_detected=float(np.mean(heard)), wake_utterances=len(heard))
    return out


REAL_HEADING = "## Synthetic and real, side by side"


def card_section(result: dict) -> str:
    """Synthetic held-out voices next to real held-out speakers (int8 and fp32), with the issue's targets."""
    real, tts = result["real_held_out"], result.get("at_threshold") or {}
    wake_tts = result.get("tts_wake", {})
    i8, f32 = real.get("int8", {}), real.get("fp32", {})

    def pct(d, k):
        return f"{d[k]:.1%}" if isinstance(d.get(k), float) else "-"

    def rate(d, k):
        return f"{d[k]:.1f} / h" if isinstance(d.get(k), float) else "-"

    rows = [("commands detected as the right word (`commands` mode)", f"{tts['accuracy']:.1%}" if tts else "-",
             pct(i8, "command_accuracy"), pct(f32, "command_accuracy"), ">= 90% real, >= 95% TTS"),
            ("other words firing a command", "-", pct(i8, "unknown_fired"), pct(f32, "unknown_fired"), "<= 5%"),
            ("false accepts, `commands` mode", rate(tts, "false_accepts_per_hour"), rate(i8, "commands_fa_per_hour"),
             rate(f32, "commands_fa_per_hour"), "<= 10 / h real"),
            ("wake phrase detected", pct(wake_tts, "wake_detected"), pct(i8, "wake_detected"),
             pct(f32, "wake_detected"), ">= 95%"),
            ("other wake words waking it", "-", pct(i8, "other_wake_words_fired"), pct(f32, "other_wake_words_fired"),
             "-"),
            ("false wakes", rate(wake_tts, "false_wakes_per_hour"), rate(i8, "false_wakes_per_hour"),
             rate(f32, "false_wakes_per_hour"), "<= 0.5 / h"),
            ("commands accepted, `wake` mode", rate(wake_tts, "wake_mode_commands_per_hour"),
             rate(i8, "wake_mode_commands_per_hour"), rate(f32, "wake_mode_commands_per_hour"), "-")]
    table = ["| figure | synthetic held-out voices (int8) | real held-out (int8) | real held-out (fp32) | target |",
             "|---|---|---|---|---|"] + ["| " + " | ".join(r) + " |" for r in rows]
    per_word = ", ".join(f"{w} {h}/{n}" for w, (h, n) in i8.get("accuracy_by_word", {}).items())
    return (f"{REAL_HEADING} (synthetic held-out voices next to real held-out speakers; `python -m export.kws_bench "
            "... --real`; split rule in training/kws/real.py)\n\n"
            f"Held-out real speech: {i8.get('speakers', 0)} Speech Commands speakers ({i8.get('command_clips', 0)} "
            f"command clips, {i8.get('unknown_clips', 0)} other-word clips), {i8.get('wake_clips', 0)} wake-phrase "
            f"recordings, {i8.get('continuous_hours', 0) * 60:.1f} min of continuous read speech "
            f"({i8.get('continuous_files', 0)} files). Thresholds (hold {i8.get('hold_frames')} frames): "
            f"{_shown(i8.get('command_threshold'))} for commands in `commands` mode, {i8.get('window_threshold')} for "
            f"commands inside the wake window, {i8.get('wake_threshold')} for the wake phrase "
            "(see the README for how each was chosen; never on held-out data).\n\n" + "\n".join(table)
            + f"\n\nReal held-out commands per word (int8, right/clips): {per_word}.\n")


def _shown(threshold) -> str:
    """One threshold, or per command (`on` 0.9, ...)."""
    if isinstance(threshold, dict):
        return "per command (" + ", ".join(f"`{k}` {v}" for k, v in threshold.items()) + ")"
    return str(threshold)


SWEEP_HEADING = "## Real speech sweep"
DATA_NOTE = ("Real data (training/kws/real.py): Google Speech Commands v0.02 test-split clips, CC-BY-4.0 (Warden, "
             "\"Speech Commands: A Dataset for Limited-Vocabulary Speech Recognition\", 2018); picovoice wake-word "
             "benchmark and speech-to-intent recordings, Apache-2.0. Split by a crc32 of the speaker id (Speech "
             "Commands) or file name (picovoice) mod 20: 0-4 held out, 5-7 tune, the rest train (continuous "
             "speech 0-7 / 8-11 / rest). Only the train split is trained on; thresholds come from the tune split "
             "(choose()), never from the held-out split.")


def write_sweep_section(card: Path, result: dict) -> None:
    """Every threshold of a real sweep (commands mode, and wake mode at the same threshold) into the card."""
    from export.kws_card import replace_card_section
    rows = ["| threshold | commands right | other words firing | FA/h (commands) | wake heard | other wake "
            "words | false wakes / h |", "|---|---|---|---|---|---|---|"]
    for t, f in result["sweep"].items():
        w = f.get("wake_as_threshold", {})
        rows.append(f"| {t} | {f['command_accuracy']:.1%} | {f['unknown_fired']:.1%} | "
                    f"{f['commands_fa_per_hour']:.1f} | {w.get('wake_detected', 0):.1%} | "
                    f"{w.get('other_wake_words_fired', 0):.1%} | {w.get('false_wakes_per_hour', 0):.1f} |")
    replace_card_section(card, SWEEP_HEADING, f"{SWEEP_HEADING} ({result['split']} split, int8, "
                         f"`python -m export.kws_real --sweep --split {result['split']} --card`, the contract's hold)"
                         "\n\n" + DATA_NOTE + "\n\n" + "\n".join(rows) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
