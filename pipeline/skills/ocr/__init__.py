"""OCR: read the text in an image or a video frame with two models, a line detector and a recogniser.

Tasks and models (pipeline/models/, cards beside them):
    ocr_det  ocr_det.onnx (+ ocr_det.fp32.onnx): FPN CNN lighting up text-line cores (card ocr_det.md)
    ocr_rec  ocr_rec.onnx (+ ocr_rec.fp32.onnx when int8 ships): CNN + BiLSTM + CTC line recogniser (card ocr_rec.md)
Modules: ``preprocess`` (detector input and line crops, shared with training), ``steps`` (the
reader's pure preprocess / infer / postprocess functions, also called by export), ``db``
(probability map -> line boxes), ``ctc`` (decoding, CER), ``prior`` (O/0, l/I/1 language prior),
``reader`` (``OcrReader``), ``stability`` (steady lines on video), ``stage`` (stage ``ocr``).
Used by `perceive ocr`, the ocr stage and the demo.
Training: training/ocr/ (`perceive train ocr-det`, `perceive train ocr-rec`);
export: export/ocr.py (`perceive export ocr-det`, `perceive export ocr-rec`).
"""
