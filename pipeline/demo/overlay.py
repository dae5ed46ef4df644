"""Drawing the demo overlay: a pure function of a frame and what the pipelines decided.

The picture keeps its size; a lock banner runs across its top, and a side panel to
its right holds the HUD (fps, per-stage latency, drops, provider per model), so the
HUD never hides the face or the text being read.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from pipeline.skills.kws.modes import DEFAULT_WINDOW_S

PANEL_W = 300
BANNER_H = 34
FONT = cv2.FONT_HERSHEY_SIMPLEX
HUD_SCALE, HUD_LINE = 0.45, 18
LABEL_SCALE = 0.5
# BGR colours. The banner colours are solid fills: the window test finds them in a screenshot.
UNLOCKED_BGR = (0, 150, 0)
LOCKED_BGR = (0, 0, 190)
MATCH_BGR, STRANGER_BGR = (0, 220, 0), (0, 140, 255)
LANDMARK_BGR = (255, 255, 0)
TEXT_BOX_BGR = (255, 0, 255)
PANEL_BGR = (30, 30, 30)
HUD_TEXT_BGR = (230, 230, 230)
HUD_DIM_BGR = (150, 150, 150)
COMMAND_BGR = (0, 215, 255)
LISTENING_BGR = (255, 160, 0)    # the open wake window's bar (a solid fill: tests find it)
LISTENING_H = 8


@dataclass
class FaceView:
    box: np.ndarray                # x1, y1, x2, y2
    landmarks: np.ndarray          # (5, 2)
    name: str | None               # best enrolled match (shown even below the threshold, dimmed)
    similarity: float
    matched: bool                  # similarity reached the unlock threshold
    liveness: str = ""             # the liveness verdict of the face ("live 0.93", "not live: planar motion")


@dataclass
class TextView:
    quad: np.ndarray               # (4, 2) corners in frame pixels
    text: str
    confidence: float


@dataclass
class Hud:
    fps: float = 0.0
    stage_ms: dict[str, tuple[float, float]] = field(default_factory=dict)  # name -> (last, p50)
    drops: int = 0
    providers: dict[str, str] = field(default_factory=dict)                 # model file -> provider
    notes: list[str] = field(default_factory=list)                          # e.g. a skill that is unavailable


@dataclass
class OverlayState:
    faces: list[FaceView] = field(default_factory=list)
    unlocked: str | None = None
    texts: list[TextView] = field(default_factory=list)
    ocr_enabled: bool = True
    command: str | None = None     # the last voice command heard
    listening_s: float | None = None   # seconds left in the open wake window (pipelines.WakeWindow); None: closed
    paused: bool = False
    hud: Hud = field(default_factory=Hud)


def _label(img: np.ndarray, text: str, org: tuple[int, int], colour, scale: float = LABEL_SCALE) -> None:
    """Text on a dark box so that it reads on any background."""
    (w, h), base = cv2.getTextSize(text, FONT, scale, 1)
    x, y = max(0, org[0]), max(h + base, org[1])
    cv2.rectangle(img, (x, y - h - base), (x + w + 4, y + 2), (0, 0, 0), -1)
    cv2.putText(img, text, (x + 2, y - base // 2), FONT, scale, colour, 1, cv2.LINE_AA)


def draw_faces(img: np.ndarray, faces: list[FaceView]) -> None:
    for f in faces:
        colour = MATCH_BGR if f.matched else STRANGER_BGR
        x1, y1, x2, y2 = (int(round(v)) for v in f.box)
        cv2.rectangle(img, (x1, y1), (x2, y2), colour, 2)
        for x, y in f.landmarks:
            cv2.circle(img, (int(round(x)), int(round(y))), 3, LANDMARK_BGR, -1)
        who = f.name if f.matched else f"unknown (closest {f.name})" if f.name else "unknown"
        _label(img, f"{who} {f.similarity:.2f}", (x1, y2 + 18), colour)
        if f.liveness:
            _label(img, f.liveness, (x1, y2 + 36), STRANGER_BGR if f.liveness.startswith("not live") else HUD_DIM_BGR)


LIVENESS_OFF_NOTE = "liveness off: sample photos"


def liveness_label(result) -> str:
    """The face stage's liveness verdict for its one face, as the overlay prints it."""
    if result.liveness is None or len(result.faces) != 1:
        return ""
    if result.reason.startswith("not live"):
        return result.reason
    return f"live score {result.liveness:.2f}"


def draw_texts(img: np.ndarray, texts: list[TextView]) -> None:
    for t in texts:
        quad = np.round(t.quad).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(img, [quad], True, TEXT_BOX_BGR, 2)
        x, y = quad[:, 0, 0].min(), quad[:, 0, 1].min()
        _label(img, f"{t.text} ({t.confidence:.2f})", (int(x), int(y) - 4), TEXT_BOX_BGR)


def draw_banner(img: np.ndarray, unlocked: str | None) -> None:
    colour = UNLOCKED_BGR if unlocked else LOCKED_BGR
    cv2.rectangle(img, (0, 0), (img.shape[1] - 1, BANNER_H), colour, -1)
    text = f"UNLOCKED: {unlocked}" if unlocked else "LOCKED"
    cv2.putText(img, text, (10, BANNER_H - 9), FONT, 0.8, (255, 255, 255), 2, cv2.LINE_AA)


def hud_lines(state: OverlayState) -> list[tuple[str, tuple]]:
    hud = state.hud
    lines = [(f"fps {hud.fps:5.1f}   drops {hud.drops}", HUD_TEXT_BGR),
             ("latency ms (last / p50)", HUD_DIM_BGR)]
    lines += [(f"  {name:<8} {last:6.1f} / {p50:6.1f}", HUD_TEXT_BGR) for name, (last, p50) in hud.stage_ms.items()]
    lines.append(("models -> provider", HUD_DIM_BGR))
    lines += [(f"  {model[:22]:<22} {prov.replace('ExecutionProvider', '')}", HUD_TEXT_BGR)
              for model, prov in hud.providers.items()]
    lines.append((f"OCR {'on' if state.ocr_enabled else 'off'}", HUD_TEXT_BGR))
    lines.append((f"voice: {state.command or '-'}", COMMAND_BGR))
    if state.listening_s is not None:
        lines.append((f"listening for a command: {state.listening_s:.1f} s", LISTENING_BGR))
    lines += [(note, HUD_DIM_BGR) for note in hud.notes]
    lines.append(("e enrol  o OCR  space pause  q quit", HUD_DIM_BGR))
    if state.paused:
        lines.append(("PAUSED", COMMAND_BGR))
    return lines


def draw_panel(panel: np.ndarray, state: OverlayState) -> None:
    panel[:] = PANEL_BGR
    y = HUD_LINE
    for text, colour in hud_lines(state):
        cv2.putText(panel, text[:40], (8, y), FONT, HUD_SCALE, colour, 1, cv2.LINE_AA)
        y += HUD_LINE
        if y > panel.shape[0]:
            break


def draw_listening(img: np.ndarray, remaining_s: float, window_s: float = DEFAULT_WINDOW_S) -> None:
    """The open wake window: a bar under the banner that shrinks as the window runs out."""
    width = int(round(img.shape[1] * min(1.0, max(0.0, remaining_s / window_s))))
    cv2.rectangle(img, (0, BANNER_H + 1), (max(0, width - 1), BANNER_H + LISTENING_H), LISTENING_BGR, -1)
    _label(img, "listening...", (10, BANNER_H + LISTENING_H + 20), LISTENING_BGR)


def render(frame: np.ndarray, state: OverlayState) -> np.ndarray:
    """A new BGR image: the annotated frame with the HUD panel to its right."""
    h, w = frame.shape[:2]
    canvas = np.empty((h, w + PANEL_W, 3), np.uint8)
    canvas[:, :w] = frame if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    picture = canvas[:, :w]
    if state.ocr_enabled:
        draw_texts(picture, state.texts)
    draw_faces(picture, state.faces)
    draw_banner(picture, state.unlocked)
    if state.command:
        _label(picture, f"voice: {state.command}", (10, h - 12), COMMAND_BGR, 0.7)
    if state.listening_s is not None:
        draw_listening(picture, state.listening_s)
    draw_panel(canvas[:, w:], state)
    return canvas
