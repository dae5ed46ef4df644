"""The skills: one folder per model family (face, ocr, kws, sensor), each with its runtime and stage."""
