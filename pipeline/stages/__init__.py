"""Stage types register themselves in ``STAGES`` when their module is imported here."""
from pipeline.stages import builtin, face, kws, ocr, sensor  # noqa: F401
