"""Sources register themselves by type name in ``SOURCES`` when their module is imported
(``pipeline.assembly`` imports them all)."""
from pipeline.sources.base import SOURCES, EndOfStream, Item, Source, SourceConfig, open_source

__all__ = ["SOURCES", "EndOfStream", "Item", "Source", "SourceConfig", "open_source"]
