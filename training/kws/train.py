"""`perceive train kws`: a streaming LSTM keyword spotter over log-mel frames.

The model reads feature frames and its recurrent state and returns a posterior per
frame plus the new state, so the runtime feeds each hop's new frames only. It is
trained on ``seq_s`` sequences from a zero state with words at any position (the
runtime resets its streams on the same schedule; see pipeline/skills/kws/detector.py). Accuracy is measured on voices and
variants that never appear in training (training/kws/synth.py: HELD_OUT_*).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from pipeline.config.loader import option, to_dict
from pipeline.skills.kws.features import default_spec
from training.registry import TRAINERS
from training.common import RunDir, confusion_matrix, progress, set_seed
from training.kws.data import IGNORE, SILENCE, UNKNOWN, Mix, make_sequences
from training.kws.synth import KEYWORDS, evaluation_word, load_or_build


@dataclass(kw_only=True)
class Config:
    vocabulary: list[str] = option(factory=lambda: list(KEYWORDS), doc="Keywords to spot (any words espeak can say).")
    seed: int = option(0, "Random seed for synthesis, mixing and training.")
    data_dir: str = option("/work/data/kws", "Where the synthesised corpus is cached (large; not in git).")
    per_word_voice: int = option(6, "Utterances per keyword per espeak voice+variant (x3 for flite voices).")
    fillers: int = option(12000, "Distinct non-keyword words for _unknown_ and babble.")
    filler_voices: int = option(3, "Voices each filler word is spoken in.")
    confusables: bool = option(True, "Add dictionary words one letter from a keyword (block, clock, ...) as "
                                     "hard _unknown_ fillers.")
    hard_negatives: str = option("default", "Words added to the fillers as hard _unknown_ examples: a word list "
                                 "(one per line, e.g. from `python -m export.kws_mine`); 'default' is the list "
                                 "mined for the default commands (training/kws/hard_negatives.txt), used only "
                                 "with the default vocabulary; empty: none.")
    train_sequences: int = option(40000, "Augmented training sequences (built once, cached in data_dir).")
    test_sequences: int = option(1500, "Augmented sequences from held-out voices for evaluation.")
    seq_s: float = option(3.0, "Sequence length in seconds; the runtime resets each stream after this.")
    p_second: float = option(0.4, "Chance of a second word in a sequence (a third: its square).")
    p_clean: float = option(0.1, "Share of sequences without background noise (digital silence between words).")
    max_phrase: int = option(4, "Non-keyword sequences hold 1 to this many filler words run together.")
    p_step: float = option(0.15, "Share of sequences whose background noise starts mid-sequence (a level step).")
    label_span: int = option(20, "Frames after a keyword's end that are labelled with it.")
    hidden: int = option(128, "LSTM hidden size.")
    layers: int = option(2, "LSTM layers (1 or 2).")
    epochs: int = option(15, "Passes over the training sequences.")
    max_steps: int = option(0, "Stop after this many optimiser steps (0: no limit; CI uses a few).")
    batch: int = option(64, "Sequences per step.")
    lr: float = option(3e-3, "Adam learning rate (cosine-decayed).")
    clip: float = option(1.0, "Gradient-norm clip (LSTMs diverge without it).")
    keyword_weight: float = option(5.0, "Loss weight of keyword frames (they are ~8% of all frames).")
    warp_bins: float = option(2.0, "Random shift of each sequence along the mel axis, up to this many bins "
                                   "(a cheap vocal-tract-length perturbation); 0 is off.")
    freq_mask: int = option(6, "SpecAugment: zero a random band of up to this many mel bins; 0 is off.")
    init: str = option("", "Checkpoint to continue from (same model shape), or a shipped fp32 ONNX file "
                           "(pipeline/models/kws.fp32.onnx: its weights, head rows matched by label, new labels "
                           "added); empty starts from scratch.")
    wake_words: list[str] = option(factory=list, doc="Wake phrases: extra labels spotted by the same model "
                                                     "(e.g. [\"computer\"]), synthesised in every voice like "
                                                     "the keywords.")
    real_speech: bool = option(False, "Mix real speech (training/kws/real.py, train split only) into the TTS "
                                      "corpus: Speech Commands words, wake-word recordings, continuous speech.")
    real_repeat: int = option(2, "Times each real single-word clip enters the pool sequences are drawn from.")
    wake_repeat: int = option(6, "Times each real recording of a wake phrase enters that pool.")
    real_test_sequences: int = option(600, "Sequences from the real TUNE split, scored with the TTS held-out "
                                           "ones to choose the epoch kept (never the held-out split).")


def build_model(cfg: Config, n_mels: int, n_classes: int):
    import torch
    from torch import nn

    class StreamingKws(nn.Module):
        """(B, T, mels) log-mel + (h, c) -> (B, T, classes) logits + new (h, c)."""

        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.zeros(n_mels))
            self.register_buffer("std", torch.ones(n_mels))
            self.lstm = nn.LSTM(n_mels, cfg.hidden, cfg.layers, batch_first=True)
            self.head = nn.Linear(cfg.hidden, n_classes)

        def forward(self, x, h0, c0):
            out, (h, c) = self.lstm((x - self.mean) / self.std, (h0, c0))
            return self.head(out), h, c

    torch.manual_seed(cfg.seed)
    return StreamingKws()


def zero_state(cfg: Config, batch: int, device=None):
    import torch
    return (torch.zeros(cfg.layers, batch, cfg.hidden, device=device),
            torch.zeros(cfg.layers, batch, cfg.hidden, device=device))


def label_names(cfg: Config) -> list[str]:
    return spoken(cfg) + [SILENCE, UNKNOWN]


def spoken(cfg: Config) -> list[str]:
    """The words the model names: the commands, then the wake phrases."""
    return list(cfg.vocabulary) + [w for w in cfg.wake_words if w not in cfg.vocabulary]


def _logits(model, cfg: Config, feats: np.ndarray, batch: int = 128) -> np.ndarray:
    import torch
    outs, device = [], next(model.parameters()).device
    with torch.no_grad():
        for i in range(0, len(feats), batch):
            x = torch.from_numpy(feats[i:i + batch].astype(np.float32)).to(device)
            outs.append(model(x, *zero_state(cfg, len(x), device))[0].float().cpu().numpy())
    return np.concatenate(outs)


def label_runs(labels: np.ndarray):
    """(start, stop, label) of each contiguous run of labelled (non-silence, non-ignored) frames."""
    runs, start = [], None
    for t in range(len(labels) + 1):
        cur = labels[t] if t < len(labels) else None
        if start is not None and cur != labels[start]:
            runs.append((start, t, int(labels[start])))
            start = None
        if start is None and cur is not None and cur != IGNORE:
            start = t
    return runs


def utterance_accuracy(logits: np.ndarray, targets: np.ndarray, names: list[str]) -> dict:
    """Each labelled run (the frames after a word) classified by its mean log-posterior."""
    silence = names.index(SILENCE)
    true, pred = [], []
    for lg, y in zip(logits, targets):
        logp = lg - np.log(np.exp(lg - lg.max(-1, keepdims=True)).sum(-1, keepdims=True)) - lg.max(-1, keepdims=True)
        for a, b, label in label_runs(y):
            if label == silence:
                continue
            true.append(label)
            pred.append(int(logp[a:b].mean(0).argmax()))
    true, pred = np.array(true), np.array(pred)
    is_kw = true < len(names) - 2   # every label but _silence_ and _unknown_ (the last two)
    frames = targets != IGNORE
    return {"keyword_accuracy": float((pred[is_kw] == true[is_kw]).mean()) if is_kw.any() else 0.0,
            "keyword_utterances": int(is_kw.sum()),
            "unknown_accuracy": float((pred[~is_kw] == true[~is_kw]).mean()) if (~is_kw).any() else 0.0,
            "unknown_utterances": int((~is_kw).sum()),
            "frame_accuracy": float((logits.argmax(-1)[frames] == targets[frames]).mean()),
            "confusion": confusion_matrix(true, pred, len(names))}


def load_corpus(cfg: Config) -> dict:
    """The synthesised corpus of a config: read from its cache, or built exactly as training builds it
    (the benchmark and the miner call this too, so a missing cache is rebuilt, not a TypeError)."""
    return load_or_build(Path(cfg.data_dir) / f"corpus-{_corpus_key(cfg)}.npz",
                         vocabulary=tuple(spoken(cfg)), per_word_voice=cfg.per_word_voice,
                         n_fillers=cfg.fillers, filler_per_word=cfg.filler_voices, seed=cfg.seed,
                         confusables=cfg.confusables, extra_fillers=_hard_negatives(cfg))


def build_data(cfg: Config):
    corpus = load_corpus(cfg)
    held = corpus["held_out"]
    mix = Mix(seq_s=cfg.seq_s, label_span=cfg.label_span, p_second=cfg.p_second, p_clean=cfg.p_clean,
              max_phrase=cfg.max_phrase, p_step=cfg.p_step)
    names = label_names(cfg)
    test_mix = replace(mix, p_second=0.0)   # held-out sequences get no second or third utterance
    pool = np.flatnonzero(~held)
    test_corpus, test_idx = corpus, np.flatnonzero(held)
    if cfg.real_speech:
        from training.kws.real_mix import with_real
        corpus, pool, test_corpus, test_idx = with_real(cfg, corpus, pool, test_idx)
    train = _cached(cfg, "train", lambda: make_sequences(corpus, pool, cfg.train_sequences, names,
                                                         mix, cfg.seed + 1, "mixing train"))
    test = _cached(cfg, "test", lambda: make_sequences(test_corpus, test_idx, cfg.test_sequences, names,
                                                       test_mix, cfg.seed + 2, "mixing held-out"))
    voices = {"train": sorted(set(corpus["voice"][pool])), "held_out": sorted(set(test_corpus["voice"][test_idx]))}
    return train, test, voices


def real_tune(cfg: Config, names: list[str]):
    """Sequences of real TUNE-split speakers and files (training/kws/real.py), cached like the others."""
    from training.kws.real_mix import tune_sequences
    mix = Mix(seq_s=cfg.seq_s, label_span=cfg.label_span, p_second=0.0, p_clean=cfg.p_clean,
              max_phrase=cfg.max_phrase, p_step=cfg.p_step)
    return _cached(cfg, "tune", lambda: tune_sequences(cfg, names, mix, cfg.seed + 3))


def _cached(cfg: Config, part: str, make):
    """Mixed sequences are deterministic for the config, so they are kept next to the corpus."""
    count = {"train": cfg.train_sequences, "test": cfg.test_sequences, "tune": cfg.real_test_sequences}[part]
    real = f"-real{cfg.real_repeat}-{cfg.wake_repeat}" if cfg.real_speech else ""
    path = Path(cfg.data_dir) / (f"{part}-{_corpus_key(cfg)}-{count}-{cfg.seq_s}-{cfg.label_span}-"
                                 f"{cfg.p_second}-{cfg.p_clean}-{cfg.max_phrase}-{cfg.p_step}{real}.npz")
    if path.is_file():
        with np.load(path) as d:
            return d["x"], d["y"]
    x, y = make()
    np.savez(path, x=x, y=y)
    return x, y


DEFAULT_HARD_NEGATIVES = Path(__file__).with_name("hard_negatives.txt")


def _hard_negatives(cfg: Config) -> list[str]:
    if cfg.hard_negatives == "default" and list(cfg.vocabulary) == list(KEYWORDS):
        path = DEFAULT_HARD_NEGATIVES
    elif cfg.hard_negatives in ("", "default"):
        return []
    else:
        path = Path(cfg.hard_negatives)
    if not path.is_file():
        raise FileNotFoundError(f"hard_negatives: no word list at {path}")
    words = [w.strip().lower() for w in path.read_text().split()]
    bad = [w for w in words if w in cfg.vocabulary or evaluation_word(w)]
    if bad:
        raise ValueError(f"hard_negatives: {path} holds keywords or reserved evaluation words: {bad[:10]}")
    return words


def _corpus_key(cfg: Config) -> str:
    import hashlib
    key = f"{sorted(spoken(cfg))}-{cfg.per_word_voice}-{cfg.fillers}-{cfg.filler_voices}-{cfg.seed}"
    key += "-confusables" if cfg.confusables else ""
    hard = _hard_negatives(cfg)
    key += f"-hard{hard}" if hard else ""
    return hashlib.sha1(key.encode()).hexdigest()[:10]


@TRAINERS.register("kws", "streaming LSTM keyword spotter on synthesised speech (espeak-ng, flite)")
def train(cfg: Config, run: RunDir) -> dict:
    import torch
    dist = run.dist
    set_seed(cfg.seed, threads=1)
    (x_train, y_train), (x_test, y_test), voices = dist.main_first(lambda: build_data(cfg))  # rank 0 caches it
    names = label_names(cfg)
    if cfg.real_speech:   # the epoch kept is chosen on held-out TTS voices and real TUNE-split speakers
        x_test, y_test = (np.concatenate(p) for p in zip((x_test, y_test), real_tune(cfg, names)))
    model = build_model(cfg, x_train.shape[-1], len(names))
    flat = x_train.reshape(-1, x_train.shape[-1]).astype(np.float32)
    model.mean.copy_(torch.from_numpy(flat.mean(0)))
    model.std.copy_(torch.from_numpy(flat.std(0) + 1e-3))
    if cfg.init.endswith(".onnx"):
        from training.kws.warm_start import load_into
        load_into(model, cfg.init, names)
    elif cfg.init:
        model.load_state_dict(torch.load(cfg.init, map_location="cpu", weights_only=False)["model"])
    model = dist.wrap(model)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    rank_batch = dist.per_rank(cfg.batch)
    steps_per_epoch = max(1, len(x_train) // dist.world // rank_batch)
    total = steps_per_epoch * cfg.epochs if not cfg.max_steps else min(cfg.max_steps, steps_per_epoch * cfg.epochs)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, total))
    weights = torch.ones(len(names))
    weights[:len(spoken(cfg))] = cfg.keyword_weight
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights.to(dist.device), ignore_index=IGNORE)
    saved = run.load_state(model, opt, sched)
    step, best, losses = saved.get("step", 0), saved.get("best", -1.0), saved.get("losses", [])
    epoch, best_scores = saved.get("epoch", 0), saved.get("best_scores")
    bar = progress(total=total, initial=step, desc="training kws")
    while step < total:
        model.train()
        order = dist.epoch_shard(len(x_train), epoch, cfg.seed)
        rng = dist.rng(cfg.seed, epoch)
        epoch_losses, began = [], time.perf_counter()
        for i in range(steps_per_epoch):
            if step >= total:
                break
            idx = order[i * rank_batch:(i + 1) * rank_batch]
            x = dist.tensor(augment(x_train[idx].astype(np.float32), cfg, rng))
            y = dist.tensor(y_train[idx])
            with dist.autocast():
                logits = model(x, *zero_state(cfg, len(idx), dist.device))[0]
                loss = loss_fn(logits.reshape(-1, len(names)).float(), y.reshape(-1))
            dist.step(loss, opt, model, cfg.clip)
            sched.step()
            step += 1
            losses.append(loss.item())
            epoch_losses.append(loss.item())
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}")
        model.eval()
        epoch, train_seconds = epoch + 1, time.perf_counter() - began  # the steps, without the evaluation
        scores = dist.on_main(lambda: utterance_accuracy(_logits(dist.unwrap(model), cfg, x_test), y_test, names))
        run.log(train_loss=dist.mean(float(np.mean(epoch_losses))), heldout_keyword_acc=scores["keyword_accuracy"],
                heldout_frame_acc=scores["frame_accuracy"], train_seconds=train_seconds)
        if scores["keyword_accuracy"] >= best:
            best = scores["keyword_accuracy"]
            best_scores = scores
            run.save_checkpoint(model, labels=names, audio=to_dict(default_spec()), voices=voices,
                                metrics=_public(scores, losses))
        run.save_state(model, opt, sched, step=step, epoch=epoch, best=best, best_scores=best_scores, losses=losses)
    bar.close()
    losses = list(dist.mean(np.array(losses)))  # each rank's step losses -> the global batch's
    run.plot_curves()
    run.plot_confusion(best_scores["confusion"], names)
    return {**_public(best_scores, losses), "steps": step, "checkpoint": str(run.path / "checkpoint.pt"),
            "held_out_voices": len(voices["held_out"]), "train_voices": len(voices["train"])}


def augment(x: np.ndarray, cfg: Config, rng: np.random.Generator) -> np.ndarray:
    """Feature-level augmentation for unseen voices: mel-axis warp and a frequency mask."""
    n, _, mels = x.shape
    if cfg.warp_bins:
        grid = np.arange(mels)
        for i, shift in enumerate(rng.uniform(-cfg.warp_bins, cfg.warp_bins, n)):
            src = np.clip(grid + shift, 0, mels - 1)
            lo = np.floor(src).astype(int)
            hi = np.minimum(lo + 1, mels - 1)
            w = (src - lo).astype(np.float32)
            x[i] = x[i][:, lo] * (1 - w) + x[i][:, hi] * w
    if cfg.freq_mask:
        floor = x.min()
        for i in range(n):
            width = rng.integers(0, cfg.freq_mask + 1)
            start = rng.integers(0, mels - width + 1)
            x[i, :, start:start + width] = floor
    return x


def _public(scores: dict, losses: list[float]) -> dict:
    head = max(1, min(10, len(losses) // 4))
    return {**{k: v for k, v in scores.items() if k != "confusion"},
            "first_loss": float(np.mean(losses[:head])), "last_loss": float(np.mean(losses[-head:]))}
