"""The `e` key: enrol the face in the current frame, with the same quality gates as `perceive enroll`."""
from __future__ import annotations

from pipeline.skills.face.store import StoreError, TemplateStore
from pipeline.skills.face.verify import QualityGates, quality_problem


def enrol_current(demo, name: str) -> str:
    """Adds the current face to ``name``'s templates in the demo's store; returns what happened."""
    stage, item = demo.stage("face"), demo.video_tap.last
    report = demo.video.reports[-1] if demo.video.reports else None
    if stage is None or item is None or report is None or "face" not in report.results:
        return "enrol: no face result yet"
    faces = report.results["face"].faces
    problem = quality_problem(item.data, faces, QualityGates(min_face=max(demo.opts.min_face, QualityGates.min_face)))
    if problem:
        return f"enrol: not taken: {problem}"
    embedding = stage.embedder.embed(item.data, faces)
    try:  # append: a locked read-modify-write, so an `perceive enroll` running meanwhile loses nothing
        store = TemplateStore(demo.inputs.store, stage.embedder.engine.contract.name, dim=stage.embedder.dim)
        count = store.append(name, embedding)
    except StoreError as exc:  # a store that turned unreadable or unwritable: the demo goes on
        return f"enrol: not saved: {exc}"
    stage.verifier.templates = store.templates()
    demo.events.write({"kind": "enrolled", "pipeline": "video", "media_time": demo.video_tap.media_time,
                       "data": {"user": name, "templates": count, "store": str(store.path)}})
    return f"enrolled {name} ({count} templates)"
