"""Voice commands: a streaming keyword spotter over log-mel features, with a wake phrase mode.

Task and model (pipeline/models/): ``kws``: kws.onnx (+ kws.fp32.onnx), a stateful 2-layer LSTM
with its recurrent state as inputs and outputs (card kws.md).
Modules: ``features`` (the log-mel front end, the one implementation training uses too),
``detector`` (``KeywordSpotter``: frames -> LSTM -> smoothed posteriors -> detections), ``modes``
(``commands`` or ``wake``: which detections become events), ``stage`` (stage ``kws``).
Used by `perceive listen`, the kws stage and the demo.
Training: training/kws/ (`perceive train kws`); export: export/kws.py (`perceive export kws`),
with the real-speech and false-accept measurements in export/kws_real.py and export/kws_bench.py.
"""
