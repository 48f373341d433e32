"""Export a recognizer to ONNX and compare the file with PyTorch in onnxruntime.

The exported graph has one input, named after the model's input kind
(:data:`~skel_apps.export.model_info.CLIP_AXES`), and one output:

* ``keypoint``: float32 ``(N, M, T, V, C)`` for a GCN recognizer, or ``imgs``: float32
  ``(N, C, T, H, W)`` heatmap volumes for a PoseC3D one (``Recognizer3D``); one clip per row,
  the 5-D input of the recognizer's ``forward``, traced as it is (no wrapper: a 5-D input
  bypasses the recognizer's multi-clip averaging). A test pipeline's multi-clip sample (S
  clips, or crops x clips for heatmaps) goes in as a batch of S rows, and the caller averages
  the S rows of scores (``skel-infer`` does so as the config's ``test_cfg.average_clips`` says).
* ``scores``: float32 ``(N, num_classes)``, the class scores before softmax.

In both inputs T is axis 2. Axis 0 is named ``batch`` and axis 2 ``time`` in the file when they
are dynamic; the other axes are fixed to the example's. The translation is
:func:`skel_kernels.onnx.export_onnx`: skel ops lowered to standard ONNX ops by default, or kept
as ``skel``-domain nodes (PoseC3D's graph has none: its heatmaps are rendered by the test
pipeline, before the model).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import onnx
import torch
from torch import nn

from skel_core.errors import ConfigError
from skel_kernels.onnx import DOMAIN, MIN_OPSET, export_onnx, run_onnx

from .model_info import HEATMAP_INPUT, KEYPOINT_INPUT, ModelInfo

OUTPUT_NAME = "scores"
DYNAMIC_AXES = {"batch": 0, "time": 2}
"""The axes of the input that can be dynamic, by the name they get in the file."""


def example_input(info: ModelInfo, *, batch: int, frames: int, seed: int = 0) -> torch.Tensor:
    """A seeded random input for ``info``'s model: ``(batch, M, frames, V, C)`` skeletons or
    ``(batch, C, frames, H, W)`` heatmaps."""
    if info.input_name == HEATMAP_INPUT:
        if info.heatmap_size is None or info.in_channels is None:
            raise ConfigError(
                "the heatmap size (H, W) is not fixed by the test pipeline: it needs "
                "Resize(scale=(w, h), keep_ratio=False) or a CenterCrop after the "
                "keypoint-dependent crops (PoseCompact, RandomResizedCrop), before "
                "GeneratePoseTarget; the exported graph takes one size"
            )
        clip = (info.in_channels, frames, *info.heatmap_size)
    else:
        if info.num_joints is None or info.in_channels is None:
            raise ConfigError("the model's joint count and input channels are unknown; the "
                              "config needs model.backbone.graph_cfg.layout")
        clip = (info.num_person, frames, info.num_joints, info.in_channels)
    return torch.randn((batch, *clip), generator=torch.Generator().manual_seed(seed))


def export_recognizer(
    model: nn.Module,
    example: torch.Tensor,
    *,
    input_name: str = KEYPOINT_INPUT,
    dynamic: Iterable[str] = tuple(DYNAMIC_AXES),
    opset: int = MIN_OPSET,
    custom_ops: bool = False,
) -> onnx.ModelProto:
    """Trace ``model`` (in eval mode) on ``example`` and return the ONNX model, whose input
    is named ``input_name`` (the model's input kind).

    ``dynamic`` names the axes of :data:`DYNAMIC_AXES` left free; the others keep the
    example's size. Use an example whose dynamic axes are at least 2 long (torch.export
    specialises axes of size 0 and 1).
    """
    dynamic = list(dynamic)
    unknown = [name for name in dynamic if name not in DYNAMIC_AXES]
    if unknown:
        raise ConfigError(f"unknown dynamic axes {unknown}; choose from {list(DYNAMIC_AXES)}")
    axes = {DYNAMIC_AXES[name]: torch.export.Dim.DYNAMIC for name in dynamic}
    proto = export_onnx(
        model.eval(),
        (example,),
        custom_ops=custom_ops,
        opset=opset,
        dynamic_shapes=(axes,) if axes else None,
        input_names=[input_name],
        output_names=[OUTPUT_NAME],
    )
    _name_dynamic_axes(proto, dynamic)
    return proto


def _name_dynamic_axes(proto: onnx.ModelProto, dynamic: Sequence[str]) -> None:
    """Rename the exporter's symbols (``s32``...) of the dynamic input axes to ``batch`` and
    ``time``, everywhere a shape in the graph mentions them."""
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    names = {dims[DYNAMIC_AXES[name]].dim_param: name for name in dynamic}
    names.pop("", None)
    if not names:
        return
    symbol = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    values = [*proto.graph.input, *proto.graph.output, *proto.graph.value_info]
    for value in values:
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param:
                dim.dim_param = symbol.sub(lambda match: names[match[1]], dim.dim_param)


def check_shapes(example_shape: Sequence[int], dynamic: Iterable[str]) -> list[tuple[int, ...]]:
    """The input shapes to compare ONNX with PyTorch on: the example's, and when some axes
    are dynamic, one with each of them changed (batch + 1, time x 1.5)."""
    shapes = [tuple(example_shape)]
    other = list(example_shape)
    dynamic = set(dynamic)
    if "batch" in dynamic:
        other[0] += 1
    if "time" in dynamic:
        other[2] += max(1, other[2] // 2)
    if tuple(other) != shapes[0]:
        shapes.append(tuple(other))
    return shapes


@torch.no_grad()
def max_abs_differences(
    model: nn.Module, proto: onnx.ModelProto, shapes: Iterable[Sequence[int]], seed: int = 0
) -> list[float]:
    """For each shape, the largest ``|onnxruntime - PyTorch|`` over the scores of a seeded
    random input of that shape."""
    differences = []
    for k, shape in enumerate(shapes):
        x = torch.randn(tuple(shape), generator=torch.Generator().manual_seed(seed + k))
        expected = model.eval()(x).float().numpy()
        (actual,) = run_onnx(proto, [x])
        differences.append(float(np.abs(actual - expected).max()))
    return differences


def custom_op_types(proto: onnx.ModelProto) -> list[str]:
    """The ``skel``-domain node types of the graph, e.g. ``['skel.GraphConv']``."""
    return sorted({f"{DOMAIN}.{node.op_type}" for node in proto.graph.node
                   if node.domain == DOMAIN})


def describe(values: Iterable[onnx.ValueInfoProto]) -> str:
    """Graph inputs or outputs with their shapes, e.g. ``imgs (batch, 17, time, 64, 64)``."""
    return ", ".join(
        f"{value.name} ({', '.join(dim.dim_param or str(dim.dim_value) for dim in dims)})"
        for value in values
        for dims in [value.type.tensor_type.shape.dim]
    )


def signature(proto: onnx.ModelProto) -> str:
    """The graph's inputs and outputs, e.g.
    ``keypoint (batch, 2, time, 17, 3) -> scores (batch, 8)``."""
    return f"{describe(proto.graph.input)} -> {describe(proto.graph.output)}"
