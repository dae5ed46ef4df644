"""perceive runtime: sources -> preprocessing -> ONNX Runtime -> postprocessing -> events.

Torch-free: needs numpy, OpenCV and onnxruntime only.
"""
__version__ = "0.1.0"
