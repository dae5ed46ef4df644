"""The identity threshold on real, different photos and clips of the same people (not re-captures).

Sources: every still (one face each) and every clip (every IDENTITY_STEP-th frame, zoomed to unlock
distance). A probe is one frame's embedding; it is compared, as the Verifier does, with the best
template of the claimed person, whose templates come from that person's OTHER sources only (a
different photo or a different recording). Impostor probes are compared with every other person's
templates. The threshold is the lowest grid value whose single-frame FAR on the TUNE persons is at
most TARGET_FAR; FAR and FRR (single frame and per 3-of-5 window of consecutive clip frames) are then
reported on the HELD-OUT persons.
"""
from __future__ import annotations

import numpy as np

from export.liveness_attacks import zoom_on
from export.liveness_data import CLIPS, HELD_OUT, STILLS, TUNE, read_clip, read_still

IDENTITY_STEP = 6
GRID = tuple(np.round(np.arange(0.88, 0.985, 0.005), 3))
TARGET_FAR = 0.001
K, N = 3, 5


def embeddings_by_source(detector, embedder, persons: set[str]) -> dict[tuple[str, str], np.ndarray]:
    from export.liveness_bench import smallest_face
    out = {}
    for rel, person in STILLS.items():
        if person in persons:
            img = read_still(rel)
            faces = detector.detect(img)
            if faces:
                out[(person, rel)] = embedder.embed(img, [max(faces, key=lambda f: f.size)])
    for rel, person in CLIPS.items():
        if person in persons:
            clip = read_clip(rel)
            box = smallest_face(detector, clip)
            if box is None:
                continue
            embs = []
            for frame in zoom_on(clip, box)[::IDENTITY_STEP]:
                faces = detector.detect(frame)
                embs.append(embedder.embed(frame, faces)[0] if len(faces) == 1 else np.full(128, np.nan, np.float32))
            out[(person, rel)] = np.array(embs)
    return out


def scores(embs: dict) -> tuple[list[np.ndarray], np.ndarray]:
    """Genuine best-template similarities per source (in frame order) and all impostor similarities."""
    people = sorted({p for p, _ in embs})
    genuine, impostor = [], []
    for (person, src), probes in embs.items():
        own = [e for (p, s), e in embs.items() if p == person and s != src]
        if own:
            temps = np.concatenate(own)
            temps = temps[~np.isnan(temps).any(axis=1)]
            genuine.append(np.nanmax(probes @ temps.T, axis=1) if len(temps) else np.full(len(probes), -1.0))
        for other in people:
            if other != person:
                temps = np.concatenate([e for (p, _), e in embs.items() if p == other])
                temps = temps[~np.isnan(temps).any(axis=1)]
                sims = probes @ temps.T
                impostor += list(np.nanmax(sims, axis=1)[~np.isnan(probes).any(axis=1)])
    return genuine, np.array(impostor)


def window_frr(genuine: list[np.ndarray], t: float) -> float | None:
    windows = [(g[i:i + N] >= t).sum() >= K for g in genuine if len(g) >= N for i in range(len(g) - N + 1)]
    return float(1 - np.mean(windows)) if windows else None


def rates(genuine: list[np.ndarray], impostor: np.ndarray, t: float) -> dict:
    g = np.concatenate(genuine) if genuine else np.zeros(0)
    g = g[~np.isnan(g)]
    return {"far_single_frame": float((impostor >= t).mean()) if len(impostor) else None,
            "frr_single_frame": float((g < t).mean()) if len(g) else None,
            "frr_3_of_5": window_frr(genuine, t), "genuine_probes": int(len(g)), "impostor_probes": int(len(impostor))}


def identity_study(models, tune_persons=TUNE, held_persons=HELD_OUT) -> dict:
    detector, embedder = models[0], models[1]
    tune_g, tune_i = scores(embeddings_by_source(detector, embedder, tune_persons))
    held_g, held_i = scores(embeddings_by_source(detector, embedder, held_persons))
    ok = [t for t in GRID if len(tune_i) and (tune_i >= t).mean() <= TARGET_FAR]
    chosen = float(min(ok)) if ok else float(GRID[-1])
    return {"chosen_on_tune": chosen, "rule": f"lowest of {GRID[0]}..{GRID[-1]} with tune FAR <= {TARGET_FAR}",
            "tune": rates(tune_g, tune_i, chosen), "held_out": rates(held_g, held_i, chosen),
            "held_out_grid": {f"{t:.3f}": rates(held_g, held_i, t) for t in GRID[::2]},
            "tune_impostor_max": float(tune_i.max()) if len(tune_i) else None,
            "held_out_impostor_max": float(held_i.max()) if len(held_i) else None,
            "held_out_genuine_min": float(min(np.nanmin(g) for g in held_g)) if held_g else None}
