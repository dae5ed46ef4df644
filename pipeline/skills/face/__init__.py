"""Face unlock: find faces, align and embed them, check liveness, and decide unlock over a window.

Tasks and models (pipeline/models/, cards beside them):
    face_detect    face_pnet.onnx, face_rnet.onnx, face_onet.onnx (MTCNN cascade; card face_detect.md)
    face_embed     face_embed.onnx (dlib ResNet embedding; card face_embed.md)
    face_liveness  face_liveness_v2.onnx, face_liveness_v1se.onnx (MiniFASNet; card face_liveness.md)
Modules: ``detector`` (MTCNN), ``align`` + ``embedder`` (chips, embeddings), ``liveness`` (passive
texture), ``liveness_motion`` (planar motion), ``liveness_check`` (the window verdict), ``verify``
(quality gates, k-of-n identity), ``unlock_decision`` (identity and liveness together), ``store`` +
``store_format`` (enrolled templates), ``models`` (load by name), ``stage`` (stage ``face``).
Used by `perceive enroll`, `perceive unlock`, the face stage and the demo.
Weights: training/face/ (MTCNN, dlib ResNet and MiniFASNet in PyTorch, loaded from their published
weights, with code to fine-tune);
export: export/face.py (`perceive export face`), export/liveness.py (`perceive export liveness`).
"""
