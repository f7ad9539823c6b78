"""Promptable segmentation with Segment-Anything models through ONNX Runtime (no torch, no Qt)."""
