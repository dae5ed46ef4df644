"""The committed sample media is what `python -m training.demo_media` builds, and is small enough."""
import json

from pipeline.demo.media import ASSETS, sample_media
from training.demo_media import build

MAX_TOTAL_BYTES = 5 * 1024 * 1024


def test_sample_media_is_rebuilt_identically(tmp_path):
    manifest = build(tmp_path)
    for name in (manifest["video"], manifest["audio"], "sample_media.json"):
        assert (tmp_path / name).read_bytes() == (ASSETS / name).read_bytes(), name
    rebuilt = json.loads((tmp_path / manifest["faces"]).read_text())
    committed = json.loads((ASSETS / manifest["faces"]).read_text())
    assert rebuilt["model"] == committed["model"]
    assert {n: p["templates"] for n, p in rebuilt["people"].items()} == \
        {n: p["templates"] for n, p in committed["people"].items()}  # only the enrolment time may differ


def test_sample_media_fits_the_size_limit():
    media = sample_media()
    assert sum(p.stat().st_size for p in ASSETS.iterdir() if p.is_file()) <= MAX_TOTAL_BYTES
    assert media.manifest["enrolled"]["samples"] >= 3
    assert [c["word"] for c in media.manifest["commands"]] == ["go", "unlock", "stop"]
