"""The committed sample media is what `python -m training.demo_media` builds, and is small enough."""
import json

import numpy as np

from pipeline.demo.media import ASSETS, sample_media
from training.demo_media import build

MAX_TOTAL_BYTES = 5 * 1024 * 1024
# The templates come from the int8 embedding, whose kernels differ between CPUs (AVX2, AVX-512,
# VNNI). With 7-bit weights (export.common.quantize_static_qdq) its embeddings measured cosine
# 0.99925 to fp32 on an AVX-512 VNNI CPU and under an AVX2-only CPU model alike; a template that
# is really different (another photo, another model) is far below this.
MIN_TEMPLATE_COSINE = 0.999


def test_sample_media_is_rebuilt_identically(tmp_path):
    manifest = build(tmp_path)
    for name in (manifest["video"], manifest["audio"], "sample_media.json"):
        assert (tmp_path / name).read_bytes() == (ASSETS / name).read_bytes(), name
    rebuilt = json.loads((tmp_path / manifest["faces"]).read_text())
    committed = json.loads((ASSETS / manifest["faces"]).read_text())
    assert rebuilt["model"] == committed["model"]
    assert rebuilt["people"].keys() == committed["people"].keys()  # only the enrolment time may differ
    for name, person in committed["people"].items():
        a, b = np.float64(rebuilt["people"][name]["templates"]), np.float64(person["templates"])
        assert a.shape == b.shape, name
        cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        assert cosine.min() >= MIN_TEMPLATE_COSINE, (name, cosine)


def test_sample_media_fits_the_size_limit():
    media = sample_media()
    assert sum(p.stat().st_size for p in ASSETS.iterdir() if p.is_file()) <= MAX_TOTAL_BYTES
    assert media.manifest["enrolled"]["samples"] >= 3
    assert [c["word"] for c in media.manifest["commands"]] == ["go", "unlock", "stop"]
