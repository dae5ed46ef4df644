"""The live demo: face unlock + OCR (+ voice commands) with an overlay, in a window or headless."""
