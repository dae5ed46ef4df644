"""Build the demo's sample media: a short clip, its audio track, the matching enrolment and the truth.

    python -m training.demo_media [--out pipeline/assets]

The clip moves real face photos (a stranger first, then the enrolled person) and a
printed sign across a 640x400 frame. The faces are the photos available offline
(`training.face.faces.real_faces`: matplotlib's Grace Hopper and scikit-image's
astronaut, both public domain); the sign is rendered in FreeSans Bold, a font family
the OCR models never trained on. The audio track is espeak-ng speaking commands of the
voice vocabulary at known times. The enrolment is made by the real face models from
mirrored/relit variants of the enrolled photo (never from clip frames). Everything is
deterministic; `sample_media.json` records what is where, for the tests.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import wave
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from training.face.faces import real_faces, variants

FRAME_W, FRAME_H = 640, 400
FPS = 10
SECONDS = 8.0
BACKGROUND_BGR = (70, 80, 90)
FACE_CARD = 240                      # side of the square photo card, pixels
STRANGER, ENROLLED = "grace_hopper", "astronaut"
ENROLLED_NAME = "astronaut"
# (first second, last second, photo): the stranger first, a gap, then the enrolled person
FACE_SEGMENTS = [(0.0, 3.0, STRANGER), (3.5, SECONDS, ENROLLED)]
SIGN_TEXT = "EXIT 42"
SIGN_FONT = "/usr/share/fonts/truetype/freefont/FreeSansBold.ttf"  # OCR held-out family
SIGN_FONT_PX = 44
SIGN_PAD = 14
SAMPLE_RATE = 16000
# (second at which the word starts, word): words of the voice vocabulary (issue 3)
COMMANDS = [(1.0, "go"), (4.0, "unlock"), (6.5, "stop")]
ESPEAK_VOICE, ESPEAK_SPEED = "en-us", 150
ENROL_SAMPLES = 5
ENROL_SEED = 1


def face_card(rgb: np.ndarray, face_box: np.ndarray | None) -> np.ndarray:
    """A square BGR card centred on the face (or the whole photo when no box is given)."""
    h, w = rgb.shape[:2]
    if face_box is None:
        cx, cy, side = w / 2, h / 2, min(h, w)
    else:
        x1, y1, x2, y2 = face_box
        cx, cy, side = (x1 + x2) / 2, (y1 + y2) / 2, 2.0 * max(x2 - x1, y2 - y1)
    side = min(side, h, w)
    x0 = int(np.clip(cx - side / 2, 0, w - side))
    y0 = int(np.clip(cy - side / 2, 0, h - side))
    crop = rgb[y0:y0 + int(side), x0:x0 + int(side)]
    return cv2.cvtColor(cv2.resize(crop, (FACE_CARD, FACE_CARD), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2BGR)


def sign_image(text: str) -> np.ndarray:
    font = ImageFont.truetype(SIGN_FONT, SIGN_FONT_PX)
    left, top, right, bottom = font.getbbox(text)
    img = Image.new("RGB", (right - left + 2 * SIGN_PAD, bottom - top + 2 * SIGN_PAD), (245, 245, 235))
    ImageDraw.Draw(img).text((SIGN_PAD - left, SIGN_PAD - top), text, font=font, fill=(20, 20, 20))
    return cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2BGR)


def paste(frame: np.ndarray, img: np.ndarray, x: int, y: int) -> list[int]:
    h, w = img.shape[:2]
    frame[y:y + h, x:x + w] = img
    return [x, y, x + w, y + h]


def render_frames(cards: dict[str, np.ndarray], sign: np.ndarray):
    """Yields (BGR frame, truth dict) for every frame of the clip."""
    n = int(SECONDS * FPS)
    for i in range(n):
        t = i / FPS
        frame = np.empty((FRAME_H, FRAME_W, 3), np.uint8)
        frame[:] = BACKGROUND_BGR
        truth = {"frame": i + 1, "time": round(t, 3), "face": None, "face_box": None}
        for start, end, who in FACE_SEGMENTS:
            if start <= t < end:
                progress = (t - start) / (end - start)
                x = int(20 + progress * 60)                 # a slow drift, like a head in front of a camera
                y = int(50 + 10 * np.sin(2 * np.pi * progress))  # below the overlay's banner
                truth["face"], truth["face_box"] = who, paste(frame, cards[who], x, y)
        sx = int(FRAME_W - sign.shape[1] - 10 - (t / SECONDS) * 300)  # the sign slides right to left
        truth["sign_box"] = paste(frame, sign, sx, FRAME_H - sign.shape[0] - 14)
        yield frame, truth


def write_clip(path: Path, cards, sign) -> list[dict]:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (FRAME_W, FRAME_H))
    if not writer.isOpened():
        raise RuntimeError(f"cannot write {path} with the mp4v codec")
    truths = []
    for frame, truth in render_frames(cards, sign):
        writer.write(frame)
        truths.append(truth)
    writer.release()
    return truths


def speak(word: str) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "w.wav"
        subprocess.run(["espeak-ng", "-v", ESPEAK_VOICE, "-s", str(ESPEAK_SPEED), "-w", str(wav), word], check=True)
        subprocess.run(["sox", "-D", str(wav), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(wav) + ".16k.wav"],
                       check=True)
        with wave.open(str(wav) + ".16k.wav") as f:
            return np.frombuffer(f.readframes(f.getnframes()), np.int16).astype(np.float32)


def write_audio(path: Path) -> list[dict]:
    track = np.zeros(int(SECONDS * SAMPLE_RATE), np.float32)
    spoken = []
    for start, word in COMMANDS:
        samples = speak(word)
        i = int(start * SAMPLE_RATE)
        track[i:i + len(samples)] += samples[:len(track) - i]
        spoken.append({"word": word, "start": start, "end": round(start + len(samples) / SAMPLE_RATE, 3)})
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(SAMPLE_RATE)
        f.writeframes(np.clip(track, -32768, 32767).astype(np.int16).tobytes())
    return spoken


def enrol(rgb: np.ndarray, store_path: Path) -> int:
    """Enrol the person from variants of the photo (mirrored, relit, turned), as `perceive enroll --images` does."""
    from pipeline.skills.face.models import load_face_models
    from pipeline.skills.face.store import TemplateStore
    from pipeline.skills.face.verify import QualityGates, quality_problem
    detector, embedder = load_face_models(min_face=60)
    embeddings = []
    for img in [rgb] + variants(rgb, np.random.default_rng(ENROL_SEED))[:ENROL_SAMPLES - 1]:
        bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        faces = detector.detect(bgr)
        if quality_problem(bgr, faces, QualityGates()) is None:
            embeddings.append(embedder.embed(bgr, faces)[0])
    if not embeddings:
        raise RuntimeError("no enrolment sample passed the quality gates")
    store_path.unlink(missing_ok=True)
    store = TemplateStore(store_path, embedder.engine.contract.name)
    store.add(ENROLLED_NAME, np.stack(embeddings))
    store.lock_path.unlink(missing_ok=True)  # a shipped asset, written by this one process: no lock file beside it
    return len(embeddings)


def face_boxes(faces: dict) -> dict[str, np.ndarray | None]:
    from pipeline.skills.face.models import load_face_models
    detector, _ = load_face_models(min_face=60)
    out = {}
    for name in (STRANGER, ENROLLED):
        found = detector.detect(cv2.cvtColor(faces[name], cv2.COLOR_RGB2BGR))
        out[name] = max(found, key=lambda f: f.size).box if found else None
    return out


def build(out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    faces = real_faces()
    boxes = face_boxes(faces)
    cards = {name: face_card(faces[name], boxes[name]) for name in (STRANGER, ENROLLED)}
    truths = write_clip(out / "sample.mp4", cards, sign_image(SIGN_TEXT))
    spoken = write_audio(out / "sample.wav")
    samples = enrol(faces[ENROLLED], out / "sample_faces.json")
    manifest = {
        "video": "sample.mp4", "audio": "sample.wav", "faces": "sample_faces.json",
        "fps": FPS, "seconds": SECONDS, "size": [FRAME_W, FRAME_H],
        "enrolled": {"name": ENROLLED_NAME, "photo": ENROLLED, "samples": samples},
        "stranger": {"photo": STRANGER},
        "face_segments": [{"start": s, "end": e, "photo": p} for s, e, p in FACE_SEGMENTS],
        "text": SIGN_TEXT, "text_font": Path(SIGN_FONT).name,
        "commands": spoken,
        "frames": truths,
        "provenance": "built by `python -m training.demo_media`; photos: skimage.data.astronaut (NASA, public "
                      "domain) and matplotlib grace_hopper.jpg (US Navy, public domain); speech: espeak-ng "
                      f"voice {ESPEAK_VOICE}; font: FreeSans Bold (GNU FreeFont, GPLv3 with font exception)",
    }
    (out / "sample_media.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "pipeline" / "assets"))
    args = parser.parse_args(argv)
    manifest = build(Path(args.out))
    sizes = {p.name: p.stat().st_size for p in Path(args.out).iterdir() if p.is_file()}
    print(f"wrote {args.out}: {manifest['enrolled']['samples']} enrolment samples; sizes {sizes}")


if __name__ == "__main__":
    main()
