"""modelrail: serve a folder of ONNX models as an HTTPS inference API."""

__version__ = "0.1.0"
