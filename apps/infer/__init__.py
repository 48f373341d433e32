"""``skel-infer``: recognise actions in skeleton sequences with a checkpoint or an ONNX model."""
