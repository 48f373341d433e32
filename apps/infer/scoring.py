"""Class scores of model-input clips, from a PyTorch model or from an exported ONNX file.

A scorer is called with clips ``(B, M, T, V, C)`` float32 and returns their class scores before
softmax, ``(B, num_classes)``. Its ``input_shape`` is the ``(M, T, V, C)`` it needs, with None
where any size goes, and ``description`` names the model in messages.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import torch
from google.protobuf.message import DecodeError
from torch import nn

from skel_core.errors import ConfigError, CorruptFileError
from skel_kernels.onnx import run_onnx

from ..export.model_info import ModelInfo, read_model_info
from ..export.onnx_export import custom_op_types, describe

MAX_BATCH = 64
"""The most clips one forward pass takes (dynamic batch)."""

Shape = tuple[int | None, ...]


class TorchScorer:
    """Scores from a PyTorch recognizer, one clip per row (its 5-D forward)."""

    def __init__(self, model: nn.Module, info: ModelInfo, description: str):
        self.model = model.eval()
        self.input_shape: Shape = (None, None, info.num_joints, info.in_channels)
        self.description = description

    @torch.no_grad()
    def __call__(self, clips: np.ndarray) -> np.ndarray:
        return _in_chunks(clips, MAX_BATCH,
                          lambda chunk: self.model(torch.from_numpy(chunk)).float().numpy())


class OnnxScorer:
    """Scores from an ONNX file with one input ``(N, M, T, V, C)`` (as ``skel-export`` writes),
    run by onnxruntime. ``info`` is the model info stored in the file, if any."""

    def __init__(self, path: str | Path):
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"ONNX model not found: {path}")
        try:
            self.proto = onnx.load(path)
        except (OSError, DecodeError, ValueError) as error:
            raise CorruptFileError(f"{path}: not a readable ONNX model "
                                   f"({type(error).__name__}: {error})") from error
        kept = custom_op_types(self.proto)
        if kept:
            raise ConfigError(f"{path} keeps skel custom-op nodes ({', '.join(kept)}), which "
                              "onnxruntime cannot run without a skel custom-op library (none "
                              "exists yet); export the model again without --custom-ops")
        initializers = {tensor.name for tensor in self.proto.graph.initializer}
        inputs = [value for value in self.proto.graph.input if value.name not in initializers]
        dims = [] if len(inputs) != 1 else inputs[0].type.tensor_type.shape.dim
        if len(dims) != 5:
            raise ConfigError(f"{path}: skel-infer runs models with one input (N, M, T, V, C); "
                              f"this one takes {describe(inputs) or 'none'}")
        batch, *rest = [dim.dim_value if dim.HasField("dim_value") else None for dim in dims]
        self.batch = batch
        self.input_shape: Shape = tuple(rest)
        self.description = f"the ONNX model {path.name}"
        self.info = read_model_info(self.proto, str(path))

    def default_info(self) -> ModelInfo:
        """Model info for a file that stores none, from its input's fixed sizes."""
        persons, frames, joints, channels = self.input_shape
        if persons is None:
            raise ConfigError(f"{self.description} has a dynamic person axis and no skel "
                              "metadata; give its config with --config")
        return ModelInfo(num_person=persons, num_joints=joints, in_channels=channels,
                         clip_len=frames)

    def __call__(self, clips: np.ndarray) -> np.ndarray:
        if self.batch is None:
            return _in_chunks(clips, MAX_BATCH, lambda chunk: run_onnx(self.proto, [chunk])[0])

        def padded(chunk: np.ndarray) -> np.ndarray:  # a fixed batch: fill it with zeros
            pad = np.zeros((self.batch - len(chunk),) + chunk.shape[1:], dtype=chunk.dtype)
            return run_onnx(self.proto, [np.concatenate([chunk, pad])])[0][: len(chunk)]

        return _in_chunks(clips, self.batch, padded)


def _in_chunks(clips: np.ndarray, size: int,
               score: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    clips = np.ascontiguousarray(clips, dtype=np.float32)
    return np.concatenate([score(clips[i:i + size]) for i in range(0, len(clips), size)])
