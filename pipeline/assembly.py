"""Assembly: the one module that knows every source and stage type and builds pipelines from config.

Sources and stages register themselves by type name (``SOURCES``, ``STAGES``) when their module is
imported. Nothing below this module imports them for that side effect: the runner knows only the
registries, and the config tree (``pipeline.config.tree``) imports this module so that a config
naming any type can be built. The commands, the daemon, the demo and the benchmark build pipelines
through this module (directly or through ``load_config``); lower layers never import upward.

    cli / daemon / demo / bench          (the apps)
                 |
    pipeline.config.tree  ->  pipeline.assembly   (every source and stage module, imported here)
                 |                  |
    skills/<skill>/stage.py + stages/builtin   (stage types register in STAGES; skills/<skill>/*
                 |                             hold each skill's preprocessing and model wrappers)
    runtime/runner, runtime/stage        (registries and the runner: stages and sources only)
                 |
    sources/*, engine, preprocess/image, contract, config.loader, errors, stats ...

Adding a skill adds one line below: its ``stage`` module (README.md, "Adding a skill").
"""
from __future__ import annotations

# Registration: importing these modules fills SOURCES and STAGES. This is the only place that does.
from pipeline.sources import audio, sensor, synthetic, video  # noqa: F401
from pipeline.stages import builtin  # noqa: F401
# One stage module per skill folder (tests/foundation/test_import_layers.py checks none is missing).
from pipeline.skills.face import stage as face  # noqa: F401
from pipeline.skills.kws import stage as kws  # noqa: F401
from pipeline.skills.ocr import stage as ocr  # noqa: F401
from pipeline.skills.sensor import stage as sensor_stages  # noqa: F401

from pipeline.runtime.runner import PipelineConfig, PipelineRunner
from pipeline.runtime.stage import STAGES, StageConfig, StageEnv, build_stage
from pipeline.sources.base import SOURCES, SourceConfig, open_source

# What callers that build pipelines use, taken from here so that every type is registered first.
__all__ = ["SOURCES", "STAGES", "PipelineConfig", "PipelineRunner", "SourceConfig", "StageConfig", "StageEnv",
           "build_stage", "open_source"]

