"""``skel-export``: export a trained model to ONNX and check it with onnxruntime."""
