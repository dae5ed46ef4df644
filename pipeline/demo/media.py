"""The bundled sample media (built by `python -m training.demo_media`): clip, audio track, enrolment."""
from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import InputError

ASSETS = Path(__file__).resolve().parent.parent / "assets"
MANIFEST = "sample_media.json"


@dataclass
class SampleMedia:
    video: Path
    audio: Path
    faces: Path
    manifest: dict


def sample_media(folder: Path = ASSETS) -> SampleMedia:
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"bundled sample media missing or unreadable ({path}: {exc}); "
                         "rebuild it with `python -m training.demo_media`") from None
    media = SampleMedia(folder / manifest["video"], folder / manifest["audio"], folder / manifest["faces"], manifest)
    for p in (media.video, media.audio, media.faces):
        if not p.is_file():
            raise InputError(f"bundled sample file missing: {p}; rebuild with `python -m training.demo_media`")
    return media


def working_copy(store: Path, folder: Path | None) -> Path:
    """A writable copy of the bundled enrolment, so `e` (enrol) never writes into the installed package."""
    target_dir = folder or Path(tempfile.mkdtemp(prefix="perceive-demo-"))
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / "faces.json"
    shutil.copyfile(store, target)
    target.chmod(0o600)
    return target
