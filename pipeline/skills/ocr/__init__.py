"""OCR runtime: DB-style detection post-processing, CTC decoding and the two-stage reader."""
