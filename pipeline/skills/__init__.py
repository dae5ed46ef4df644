"""The skills: one folder per model family, holding everything the runtime needs for it.

    face/    face unlock: detection, alignment, embedding, liveness, enrolled templates  (stage ``face``)
    ocr/     text reading: line detector + recogniser                                  (stage ``ocr``)
    kws/     voice commands: log-mel features + streaming keyword spotter               (stage ``kws``)
    sensor/  sensor intelligence: activity recognition and anomaly forecasting  (stages ``activity``, ``anomaly``)

A skill folder holds the skill's preprocessing (shared with training), its model wrappers (pure
preprocess / infer / postprocess functions over an ``Engine``, returning dataclasses) and
``stage.py``, whose stage classes register in ``STAGES`` when ``pipeline.assembly`` imports it.
Skills import the layers below them (engine, contract, preprocess.image, sources, runtime), never
the apps (cli, daemon, demo, bench) and never each other. The skill's training lives in
``training/<skill>/``, its export in ``export/<skill>.py``, its models and cards in
``pipeline/models/``. Design note: pipeline/README.md, "Skill folders and assembly".
"""
