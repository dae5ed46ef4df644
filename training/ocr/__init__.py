"""OCR: synthetic printed-text data, a DB-style text detector and a CNN + BiLSTM + CTC recogniser."""
