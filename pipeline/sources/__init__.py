"""Sources register themselves by type name in ``SOURCES`` when imported."""
from pipeline.sources import audio, sensor, synthetic, video  # noqa: F401  (registration)
from pipeline.sources.base import SOURCES, EndOfStream, Item, Source, SourceConfig, open_source

__all__ = ["SOURCES", "EndOfStream", "Item", "Source", "SourceConfig", "open_source"]
