"""Keys, input errors and the automatic headless switch of `perceive demo`."""
import json
import shutil

import pytest

from pipeline.cli.main import main
from pipeline.demo.app import KEY_ENROL, KEY_OCR, KEY_PAUSE, KEY_QUIT, Demo, DemoOptions
from pipeline.demo.loop import _frame
from pipeline.demo.media import sample_media
from pipeline.skills.face.store import TemplateStore


@pytest.fixture
def no_display(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


def frames_until(demo, media_time):
    demo.video_tap.start()
    while demo.video_tap.media_time is None or demo.video_tap.media_time < media_time:
        assert _frame(demo, None, None) is not None or not demo.quit, "the clip ended early"


def test_missing_camera_suggests_video(tmp_path, capsys):
    assert main(["demo", "--camera", "9", "--headless", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no camera at index 9" in err and "--video FILE" in err


def test_missing_video_file_is_named(tmp_path, capsys):
    assert main(["demo", "--video", str(tmp_path / "nope.mp4"), "--headless", "--out", str(tmp_path)]) == 2
    assert "video file not found" in capsys.readouterr().err


def test_no_display_goes_headless(tmp_path, no_display, capsys):
    demo = Demo(DemoOptions(out=str(tmp_path), threads=1))
    try:
        assert demo.headless
        assert "no window: no display" in capsys.readouterr().out
    finally:
        demo.close()


def test_keys_enrol_toggle_ocr_pause_and_quit(tmp_path, no_display):
    media = sample_media()
    store = tmp_path / "faces.json"
    shutil.copyfile(media.faces, store)
    demo = Demo(DemoOptions(out=str(tmp_path / "out"), store=str(store), name="tester", threads=1))
    try:
        enrolled_from = next(s["start"] for s in media.manifest["face_segments"]
                             if s["photo"] == media.manifest["enrolled"]["photo"])
        frames_until(demo, enrolled_from + 0.5)
        demo.handle_key(KEY_ENROL)
        people = TemplateStore(store, demo.stage("face").embedder.engine.contract.name).names()
        assert people == sorted([media.manifest["enrolled"]["name"], "tester"])
        assert "tester" in demo.stage("face").verifier.templates  # used from the next frame on
        assert any(e["kind"] == "enrolled" for e in demo.events.events)

        ocr_before = demo.state.ocr_enabled
        demo.handle_key(KEY_OCR)
        assert demo.state.ocr_enabled is not ocr_before
        assert all(s.config.type != "ocr" for s in demo.video.stages) or demo.state.ocr_enabled
        if not demo.state.ocr_enabled and demo.stage("ocr") is not None:
            assert not demo.stage("ocr").stabiliser.history  # switched off: nothing carried over to its return
        report_stages = set(demo.video.step(1.0).stage_ms)
        assert "ocr" not in report_stages and "face" in report_stages

        demo.handle_key(KEY_PAUSE)
        assert demo.paused and demo.state.paused
        demo.handle_key(KEY_QUIT)
        assert demo.quit
    finally:
        demo.close()


def test_enrol_key_refuses_a_frame_without_a_face(tmp_path, no_display):
    demo = Demo(DemoOptions(out=str(tmp_path), threads=1))
    try:
        gap = media_gap(sample_media().manifest)
        frames_until(demo, gap)
        assert demo.state.faces == []
        demo.handle_key(KEY_ENROL)
        assert any("not taken: no face found" in n for n in demo.state.hud.notes)
        assert not any(e["kind"] == "enrolled" for e in demo.events.events)
    finally:
        demo.close()


def media_gap(manifest) -> float:
    """A media time between the stranger's and the enrolled person's segments (no face on screen)."""
    segments = sorted(manifest["face_segments"], key=lambda s: s["start"])
    return round((segments[0]["end"] + segments[1]["start"]) / 2, 1)


def test_cli_headless_prints_a_summary(tmp_path, capsys):
    video = sample_media().video
    assert main(["-q", "demo", "--video", str(video), "--headless", "--out", str(tmp_path), "--no-ocr",
                 "--seconds", "1", "--threads", "1"]) == 0
    assert '"frames"' in capsys.readouterr().out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["frames"] >= 1
    stages = summary["pipelines"]["video"]["stages"]
    if "ocr" in summary["unavailable"]:
        assert "ocr" not in stages  # its models are not installed: said so, not faked
    else:
        assert stages["ocr"]["count"] == 0  # built, but switched off
