"""Offline export: PyTorch checkpoints -> ONNX with a contract -> int8, checked against fp32."""
