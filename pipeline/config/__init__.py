"""Typed configuration: the generic loader and the tree (``pipeline.config.tree``)."""
