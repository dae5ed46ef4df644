"""Presentation-attack clips synthesised from real stills and clips, and live clips at unlock distance.

- print: the photo on paper (lower contrast, warm cast, paper grain, a white margin), held in front of
  a static background and moved as a rigid plane (3-D rotation + translation through a pinhole camera),
  with focus blur, camera noise and JPEG.
- replay: the picture (a still, or the frames of a real clip) on a phone/monitor: black bezel, display
  gamma, moire (beat of the pixel grid against the sensor), a glare blob, a rolling refresh band; the
  screen moves as a rigid plane, camera noise and JPEG on top.
- live: a real clip cropped around its face and scaled to unlock distance (the signers stand far away).
Every clip is a list of 640x480 BGR frames.
"""
from __future__ import annotations

import cv2
import numpy as np

FRAME_W, FRAME_H = 640, 480
FOCAL = 600.0                 # pinhole focal length in pixels (a webcam's ~56 degree field of view)
JPEG_QUALITY = 85
PAPER_MARGIN = 0.06           # white border around a print, share of its size
BEZEL = 0.05                  # black border around a screen, share of its size


def plane_homography(size: tuple[int, int], yaw: float, pitch: float, roll: float, shift: tuple[float, float],
                     distance: float) -> np.ndarray:
    """Homography taking a w x h picture, placed on a plane ``distance`` focal lengths away and rotated
    (degrees), to the 640x480 camera image."""
    w, h = size
    ry, rx, rz = np.radians([yaw, pitch, roll])
    rot_y = np.array([[np.cos(ry), 0, np.sin(ry)], [0, 1, 0], [-np.sin(ry), 0, np.cos(ry)]])
    rot_x = np.array([[1, 0, 0], [0, np.cos(rx), -np.sin(rx)], [0, np.sin(rx), np.cos(rx)]])
    rot_z = np.array([[np.cos(rz), -np.sin(rz), 0], [np.sin(rz), np.cos(rz), 0], [0, 0, 1]])
    r = rot_z @ rot_x @ rot_y
    corners = np.array([[-w / 2, -h / 2, 0], [w / 2, -h / 2, 0], [w / 2, h / 2, 0], [-w / 2, h / 2, 0]])
    world = corners @ r.T + np.array([shift[0], shift[1], distance * FOCAL])
    image = world[:, :2] / world[:, 2:] * FOCAL + np.array([FRAME_W / 2, FRAME_H / 2])
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    return cv2.getPerspectiveTransform(src, image.astype(np.float32))


def hand_motion(n: int, rng: np.random.Generator, amplitude: float = 1.0) -> list[tuple]:
    """A smooth random path of (yaw, pitch, roll, shift_x, shift_y, distance) like a hand-held picture."""
    t = np.linspace(0, 1, n)
    def wave(scale):
        return scale * amplitude * np.sin(2 * np.pi * (rng.uniform(0.3, 1.0) * t + rng.uniform(0, 1)))
    yaw, pitch, roll = wave(rng.uniform(5, 15)), wave(rng.uniform(3, 10)), wave(rng.uniform(1, 5))
    sx, sy = wave(rng.uniform(5, 30)), wave(rng.uniform(3, 15))
    dist = 1.0 + wave(rng.uniform(0.02, 0.08))
    return list(zip(yaw, pitch, roll, sx, sy, dist))


def camera(frame: np.ndarray, rng: np.random.Generator, blur: float) -> np.ndarray:
    """Focus blur, sensor noise, JPEG: what the camera adds to whatever is in front of it."""
    out = frame.astype(np.float32)
    if blur > 0:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    out += rng.normal(0, 2.0, out.shape)
    ok, buf = cv2.imencode(".jpg", np.clip(out, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def background(rng: np.random.Generator) -> np.ndarray:
    """A static room-like backdrop: a soft gradient with a few blurred shapes."""
    y, x = np.mgrid[0:FRAME_H, 0:FRAME_W].astype(np.float32)
    base = rng.uniform(60, 170, 3) + (x[..., None] / FRAME_W) * rng.uniform(-40, 40, 3)
    img = np.broadcast_to(base + (y[..., None] / FRAME_H) * rng.uniform(-30, 30, 3), (FRAME_H, FRAME_W, 3)).copy()
    for _ in range(4):
        c = (int(rng.integers(0, FRAME_W)), int(rng.integers(0, FRAME_H)))
        cv2.rectangle(img, c, (c[0] + int(rng.integers(40, 200)), c[1] + int(rng.integers(40, 200))),
                      rng.uniform(30, 220, 3).tolist(), -1)
    return cv2.GaussianBlur(np.clip(img, 0, 255).astype(np.uint8), (0, 0), 3)


def as_print(picture: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The picture printed on paper: duller, warmer, grainy, with a white margin."""
    img = picture.astype(np.float32)
    img = 255 * (img / 255) ** rng.uniform(0.9, 1.2) * rng.uniform(0.75, 0.9) + rng.uniform(10, 30)
    img *= np.array([rng.uniform(0.9, 1.0), rng.uniform(0.95, 1.0), 1.0])     # BGR: a warm ink/paper cast
    grain = cv2.GaussianBlur(rng.normal(0, 6, img.shape[:2]).astype(np.float32), (0, 0), 0.8)
    img += grain[..., None]
    h, w = picture.shape[:2]
    m = int(PAPER_MARGIN * max(h, w))
    return cv2.copyMakeBorder(np.clip(img, 0, 255).astype(np.uint8), m, m, m, m, cv2.BORDER_CONSTANT,
                              value=(235, 240, 240))


def screen_look(rng: np.random.Generator) -> dict:
    """One display's fixed properties (gamma, moire angle and period, glare spot, band strength)."""
    return {"gamma": rng.uniform(0.7, 1.4), "moire_angle": rng.uniform(0, np.pi), "moire_period": rng.uniform(3, 9),
            "moire_depth": rng.uniform(0.05, 0.15), "band_depth": rng.uniform(0.05, 0.15),
            "glare_xy": rng.uniform(0, 1, 2), "glare_size": rng.uniform(0.1, 0.3), "glare": rng.uniform(40, 120)}


def as_screen(picture: np.ndarray, look: dict, phase: float) -> np.ndarray:
    """The picture on a display: gamma, moire, glare, a refresh band at ``phase``, a black bezel."""
    h, w = picture.shape[:2]
    img = 255 * (picture.astype(np.float32) / 255) ** look["gamma"]
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    angle, period = look["moire_angle"], look["moire_period"]
    moire = np.sin(2 * np.pi * (x * np.cos(angle) + y * np.sin(angle)) / period)
    img *= (1 + look["moire_depth"] * moire)[..., None]
    band = np.exp(-(((y / h - phase) % 1.0) - 0.5) ** 2 / 0.01)          # rolling refresh band
    img *= (1 - look["band_depth"] * band)[..., None]
    gx, gy = look["glare_xy"] * (w, h)
    glare = np.exp(-((x - gx) ** 2 + (y - gy) ** 2) / (2 * (look["glare_size"] * w) ** 2))
    img += look["glare"] * glare[..., None]
    b = int(BEZEL * max(h, w))
    return cv2.copyMakeBorder(np.clip(img, 0, 255).astype(np.uint8), b, b, b, b, cv2.BORDER_CONSTANT,
                              value=(15, 15, 15))


def present(sheets: list[np.ndarray], rng: np.random.Generator, amplitude: float, face_fraction: float,
            face_width: float) -> list[np.ndarray]:
    """Each sheet (print or screen image) moved along one hand path over a static background.
    ``face_width`` is the face's width in the sheet; it ends up ``face_fraction`` of the frame width."""
    back = background(rng)
    path = hand_motion(len(sheets), rng, amplitude)
    blur = rng.uniform(0.3, 1.2)
    out = []
    for sheet, (yaw, pitch, roll, sx, sy, dist) in zip(sheets, path):
        h, w = sheet.shape[:2]
        scale = face_fraction * FRAME_W / face_width
        hom = plane_homography((w * scale, h * scale), yaw, pitch, roll, (sx, sy), dist) @ np.diag([scale, scale, 1])
        warped = cv2.warpPerspective(sheet, hom, (FRAME_W, FRAME_H), flags=cv2.INTER_LINEAR)
        mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), hom, (FRAME_W, FRAME_H))
        frame = np.where(mask[..., None] > 127, warped, back)
        out.append(camera(frame, rng, blur))
    return out


def portrait(picture: np.ndarray, box: np.ndarray, width: float = 3.0, height: float = 3.6) -> np.ndarray:
    """The head-and-shoulders part of a picture around face ``box``: what one prints or shows on a phone."""
    h, w = picture.shape[:2]
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    fw, fh = box[2] - box[0], box[3] - box[1]
    x1, x2 = int(max(cx - fw * width / 2, 0)), int(min(cx + fw * width / 2, w))
    y1, y2 = int(max(cy - fh * height / 2, 0)), int(min(cy + fh * height / 2, h))
    return picture[y1:y2, x1:x2]


def print_attack(picture: np.ndarray, box: np.ndarray, n: int, rng: np.random.Generator,
                 amplitude: float = 1.0) -> list[np.ndarray]:
    sheet = as_print(portrait(picture, box), rng)
    return present([sheet] * n, rng, amplitude, rng.uniform(0.2, 0.35), float(box[2] - box[0]))


def replay_attack(pictures: list[np.ndarray], box: np.ndarray, n: int, rng: np.random.Generator,
                  amplitude: float = 0.4) -> list[np.ndarray]:
    """A still (one picture) or a clip (several, face near ``box``) replayed on a hand-held screen."""
    look = screen_look(rng)
    sheets = [as_screen(portrait(pictures[i % len(pictures)], box), look, phase=i / 7) for i in range(n)]
    return present(sheets, rng, amplitude, rng.uniform(0.2, 0.35), float(box[2] - box[0]))


def zoom_on(frames: list[np.ndarray], box: np.ndarray, face_fraction: float = 0.25) -> list[np.ndarray]:
    """A real clip cropped around ``box`` (its face) so the face is ``face_fraction`` of the frame width,
    resized to 640x480: the same person at unlock distance."""
    h, w = frames[0].shape[:2]
    cw = min(w, (box[2] - box[0]) / face_fraction)
    ch = cw * FRAME_H / FRAME_W
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x1 = int(np.clip(cx - cw / 2, 0, w - cw))
    y1 = int(np.clip(cy - ch / 2, 0, max(h - ch, 0)))
    return [cv2.resize(f[y1:y1 + int(ch), x1:x1 + int(cw)], (FRAME_W, FRAME_H), interpolation=cv2.INTER_CUBIC)
            for f in frames]
