"""The headless demo on the bundled sample media: the events it must produce, and its outputs.

The sample media's manifest (written by `python -m training.demo_media`) says which photo is
on which frame, what the sign says and when each command is spoken; the tests compare the
demo's real output with it.
"""
import json

import cv2
import pytest

from pipeline.demo.app import Demo, DemoOptions
from pipeline.demo.media import sample_media
from pipeline.demo.overlay import PANEL_W
from pipeline.demo.pipelines import VOICE_STAGE
from pipeline.runtime.stage import SHIPPED_MODELS, STAGES

OCR_MODELS = all((SHIPPED_MODELS / f"{n}.onnx").is_file() for n in ("ocr_det", "ocr_rec"))
VOICE_READY = VOICE_STAGE in STAGES.entries and any(SHIPPED_MODELS.glob("kws*.onnx"))
MIN_TEXT_FRAMES = 0.25    # share of frames in which the sign must be read exactly
MIN_FACE_FRAMES = 0.8     # share of a photo's frames in which its face must be found
COMMAND_SLACK_S = 1.0     # a command event may come this long after the word ends


@pytest.fixture(scope="module")
def media():
    return sample_media()


@pytest.fixture(scope="module")
def run(tmp_path_factory, media):
    out = tmp_path_factory.mktemp("demo")
    summary = Demo(DemoOptions(headless=True, out=str(out), frame_log=True, threads=1)).run()
    records = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    return out, summary, records


def frames_of(records, manifest, photo):
    segment = next(s for s in manifest["face_segments"] if s["photo"] == photo)
    return [r for r in records if r["kind"] == "frame" and segment["start"] < r["media_time"] <= segment["end"]]


def test_every_frame_is_processed_and_written(run, media):
    out, summary, records = run
    n = int(media.manifest["fps"] * media.manifest["seconds"])
    assert summary["frames"] == n
    cap = cv2.VideoCapture(str(out / "demo.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == n
    assert int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == media.manifest["size"][0] + PANEL_W
    cap.release()
    stages = summary["pipelines"]["video"]["stages"]
    assert {"face"} <= set(stages)
    for stats in stages.values():
        assert stats["count"] == n and 0 < stats["p50_ms"] <= stats["p90_ms"] <= stats["p99_ms"]
    assert json.loads((out / "summary.json").read_text())["frames"] == n


def test_the_enrolled_face_unlocks(run, media):
    _, _, records = run
    enrolled = media.manifest["enrolled"]
    unlocks = [r for r in records if r["kind"] == "face_unlocked"]
    assert [u["data"]["user"] for u in unlocks] == [enrolled["name"]]
    segment = frames_of(records, media.manifest, enrolled["photo"])
    assert unlocks[0]["media_time"] >= segment[0]["media_time"]
    with_face = [r for r in segment if r["faces"]]
    assert len(with_face) >= MIN_FACE_FRAMES * len(segment)
    assert all(r["faces"][0]["matched"] and r["faces"][0]["name"] == enrolled["name"] for r in with_face)
    assert segment[-1]["unlocked"] == enrolled["name"]


def test_a_stranger_does_not_unlock(run, media):
    _, _, records = run
    segment = frames_of(records, media.manifest, media.manifest["stranger"]["photo"])
    with_face = [r for r in segment if r["faces"]]
    assert len(with_face) >= MIN_FACE_FRAMES * len(segment)  # seen, and refused
    assert not any(f["matched"] for r in segment for f in r["faces"])
    assert all(r["unlocked"] is None for r in segment)
    first_unlock = min(r["media_time"] for r in records if r["kind"] == "face_unlocked")
    assert first_unlock > segment[-1]["media_time"]


@pytest.mark.skipif(not OCR_MODELS, reason="waits for the OCR models ocr_det.onnx / ocr_rec.onnx (issue 4)")
def test_the_text_is_read(run, media):
    _, summary, records = run
    text = media.manifest["text"]
    frames = [r for r in records if r["kind"] == "frame"]
    assert sum(text in r["texts"] for r in frames) >= MIN_TEXT_FRAMES * len(frames)
    assert any(text in [line["text"] for line in r["data"]["lines"]] for r in records if r["kind"] == "text")
    assert "ocr" in summary["pipelines"]["video"]["stages"]


@pytest.mark.skipif(not VOICE_READY, reason="waits for voice commands: stage 'kws' and model kws*.onnx (issue 3)")
def test_the_commands_are_heard(run, media):
    _, _, records = run
    heard = [r for r in records if r["pipeline"] == "audio" and r["kind"] != "frame"]
    spoken = media.manifest["commands"]
    words = [str(r["data"].get("keyword") or r["data"].get("command") or r["data"].get("label")) for r in heard]
    assert words == [c["word"] for c in spoken]
    for event, command in zip(heard, spoken):
        assert command["start"] <= event["media_time"] <= command["end"] + COMMAND_SLACK_S


def test_voice_is_reported_when_unavailable(run):
    _, summary, _ = run
    if VOICE_READY:
        assert "audio" in summary["pipelines"]
    else:
        assert "voice" in summary["unavailable"] or "kws" in summary["unavailable"]
