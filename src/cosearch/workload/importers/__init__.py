"""Workload importers: ONNX models and PyTorch modules to cosearch networks."""
