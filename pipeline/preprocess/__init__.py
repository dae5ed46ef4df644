"""Image reading and preprocessing shared by every image skill, by training and by the runtime, so a
model sees the same tensor in both. A skill's own preprocessing lives in its folder
(``pipeline/skills/<skill>/preprocess.py``; the log-mel front end is ``pipeline/skills/kws/features.py``)."""
