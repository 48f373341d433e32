"""Class scores of model-input clips, from a PyTorch model or from an exported ONNX file.

A scorer is called with a batch of clips float32, ``(B, M, T, V, C)`` skeletons or
``(B, C, T, H, W)`` heatmap volumes, and returns their class scores before softmax,
``(B, num_classes)``. Its ``input_name`` is the model's input kind (``'keypoint'`` or
``'imgs'``, see :mod:`skel_apps.export.model_info`; None when an ONNX file's input name does
not say), ``input_shape`` the size of each axis of
one clip it needs, with None where any size goes, and ``description`` names the model in
messages. Scorers run the clips in chunks of at most :data:`MAX_BATCH` rows and
:data:`MAX_CHUNK_VALUES` values, so that a PoseC3D test volume does not become one huge
forward pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import onnx
import torch
from google.protobuf.message import DecodeError
from torch import nn

from skel_core.errors import ConfigError, CorruptFileError

from ..export.model_info import CLIP_AXES, HEATMAP_INPUT, ModelInfo, read_model_info
from ..export.onnx_export import custom_op_types, describe

MAX_BATCH = 64
"""The most clips one forward pass takes (dynamic batch)."""
MAX_CHUNK_VALUES = 1 << 24
"""The most input values (64 MB of float32) one forward pass takes, at least one clip."""

Shape = tuple[int | None, ...]


def rows_per_pass(clip_shape: Sequence[int]) -> int:
    """How many clips of ``clip_shape`` one forward pass takes (dynamic batch)."""
    return max(1, min(MAX_BATCH, MAX_CHUNK_VALUES // max(1, int(np.prod(clip_shape)))))


class TorchScorer:
    """Scores from a PyTorch recognizer, one clip per row (its 5-D forward). It needs the
    clips' channels (and a GCN's joints); persons, frames and a heatmap's H, W may vary."""

    def __init__(self, model: nn.Module, info: ModelInfo, description: str):
        self.model = model.eval()
        self.input_name = info.input_name
        self.input_shape: Shape = (info.in_channels, None, None, None) \
            if info.input_name == HEATMAP_INPUT \
            else (None, None, info.num_joints, info.in_channels)
        self.description = description

    @torch.no_grad()
    def __call__(self, clips: np.ndarray) -> np.ndarray:
        return _in_chunks(clips, rows_per_pass(clips.shape[1:]),
                          lambda chunk: self.model(torch.from_numpy(chunk)).float().numpy())


class OnnxScorer:
    """Scores from an ONNX file with one 5-D input (as ``skel-export`` writes), run by
    onnxruntime. The input's name says its kind when it is one of
    :data:`~skel_apps.export.model_info.CLIP_AXES` (``skel-export``'s names); with another name
    the model info decides, and without info it is read as skeletons (N, M, T, V, C). ``info``
    is the model info stored in the file, if any."""

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
            raise ConfigError(f"{path}: skel-infer runs models with one input, (N, M, T, V, C) "
                              f"skeletons or (N, C, T, H, W) heatmaps; this one takes "
                              f"{describe(inputs) or 'none'}")
        batch, *rest = [dim.dim_value if dim.HasField("dim_value") else None for dim in dims]
        self.batch = batch
        self.input_name = inputs[0].name if inputs[0].name in CLIP_AXES else None
        self._feed_name = inputs[0].name
        self._session = None
        self.input_shape: Shape = tuple(rest)
        self.description = f"the ONNX model {path.name}"
        self.info = read_model_info(self.proto, str(path))

    def default_info(self) -> ModelInfo:
        """Model info for a file that stores none, from its input's kind and fixed sizes. A
        heatmap model's has no test pipeline, which :class:`~.recognition.Recognizer` refuses:
        no default pipeline renders heatmaps."""
        if self.input_name == HEATMAP_INPUT:
            channels, frames, height, width = self.input_shape
            size = None if height is None or width is None else (height, width)
            return ModelInfo(num_person=None, num_joints=None, in_channels=channels,
                             clip_len=frames, input_name=HEATMAP_INPUT, heatmap_size=size)
        persons, frames, joints, channels = self.input_shape
        if persons is None:
            raise ConfigError(f"{self.description} has a dynamic person axis and no skel "
                              "metadata; give its config with --config")
        return ModelInfo(num_person=persons, num_joints=joints, in_channels=channels,
                         clip_len=frames)

    def __call__(self, clips: np.ndarray) -> np.ndarray:
        if self.batch is None:
            return _in_chunks(clips, rows_per_pass(clips.shape[1:]), self._run)

        def padded(chunk: np.ndarray) -> np.ndarray:  # a fixed batch: fill it with zeros
            pad = np.zeros((self.batch - len(chunk),) + chunk.shape[1:], dtype=chunk.dtype)
            return self._run(np.concatenate([chunk, pad]))[: len(chunk)]

        return _in_chunks(clips, self.batch, padded)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        """The scores of one batch; the onnxruntime session is made once, on first use."""
        if self._session is None:
            import onnxruntime

            self._session = onnxruntime.InferenceSession(self.proto.SerializeToString(),
                                                         providers=["CPUExecutionProvider"])
        return self._session.run(None, {self._feed_name: batch})[0]


def _in_chunks(clips: np.ndarray, size: int,
               score: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    clips = np.ascontiguousarray(clips, dtype=np.float32)
    return np.concatenate([score(clips[i:i + size]) for i in range(0, len(clips), size)])
