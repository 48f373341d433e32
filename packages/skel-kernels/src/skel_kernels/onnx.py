"""ONNX export of models that use the skel ops, and an onnxruntime runner to check the result.

:func:`export_onnx` traces a module with :func:`torch.export.export` and replaces every
``torch.ops.skel`` op before the ONNX translation (``torch.onnx.export(..., dynamo=True)``):

* by default (the portable fallback) with its reference implementation, so the graph holds only
  standard ONNX ops (``Conv`` + ``Einsum`` for ``graph_conv``; elementwise ops, ``Gather`` and
  ``ReduceMax`` for ``render_heatmaps``) and computes exactly what the reference defines;
* with ``custom_ops=True`` with one node of the ``skel`` domain (version 1) per op call, which
  a runtime with a skel custom-op library executes:

  ``skel.GraphConv(x, weight, adjacency[, bias]) -> y``, no attributes; the inputs and output
  are those of :func:`skel_kernels.graph_conv`.

  ``skel.RenderHeatmaps(keypoints, scores[, limbs]) -> heatmaps`` with attributes ``height``,
  ``width`` (int), ``sigma`` (float), ``with_keypoints`` (int, 0 or 1) and ``eps`` (float);
  ``limbs`` is the int64 ``(L, 2)`` tensor of keypoint index pairs, absent when no limbs are
  drawn; the output is float32, as from :func:`skel_kernels.render_heatmaps`.

Importing this module registers both node types' ONNX schemas, so :func:`onnx.checker.check_model`
validates skel nodes (inputs, attribute names and types) like standard ones.

Needs the ``onnx`` extra: ``pip install 'skel-kernels[onnx]'`` (onnx, onnxruntime, onnxscript).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from skel_kernels.graph_conv import graph_conv_reference
from skel_kernels.heatmaps import render_heatmaps_reference

_INSTALL_HINT = "pip install 'skel-kernels[onnx]'"
try:
    import onnx
    import onnx.defs
except ImportError as error:
    raise ImportError(f"skel_kernels.onnx needs the onnx package: {_INSTALL_HINT}") from error

DOMAIN = "skel"
DOMAIN_VERSION = 1
MIN_OPSET = 18  # the lowest opset torch.onnx's dynamo exporter emits


def export_onnx(
    model: torch.nn.Module,
    args: tuple[Any, ...],
    path: str | os.PathLike[str] | None = None,
    *,
    custom_ops: bool = False,
    opset: int = MIN_OPSET,
    dynamic_shapes: dict[str, Any] | tuple[Any, ...] | list[Any] | None = None,
    input_names: Sequence[str] | None = None,
    output_names: Sequence[str] | None = None,
) -> onnx.ModelProto:
    """Export ``model`` (which may call :func:`skel_kernels.graph_conv` and
    :func:`skel_kernels.render_heatmaps`) to ONNX.

    The module is traced as it is: call ``model.eval()`` first for inference (dropout, batch
    norm statistics).

    Args:
        model: the module to export.
        args: the positional inputs of ``model.forward``, as a tuple, used to trace it.
        path: where to write the ``.onnx`` file (parent folders are created); None writes
            nothing.
        custom_ops: False lowers every skel op to standard ONNX ops, which any runtime runs;
            True keeps one ``skel``-domain node per op (see the module docstring), which needs
            a skel custom-op library in the runtime.
        opset: the standard ONNX opset, at least 18.
        dynamic_shapes: as for :func:`torch.export.export`, e.g.
            ``{"x": {0: torch.export.Dim("batch"), 2: torch.export.Dim("frames")}}``.
        input_names, output_names: names of the graph's inputs and outputs (default: the
            forward's argument names, and names from the traced graph).

    Returns:
        The ONNX model; with ``custom_ops`` it imports the ``skel`` domain at version
        :data:`DOMAIN_VERSION` beside the standard opset.

    Raises:
        TypeError: ``args`` is not a tuple.
        ValueError: ``opset`` is below 18.
    """
    if not isinstance(args, tuple):
        raise TypeError(f"export_onnx: args must be a tuple of forward's inputs, got "
                        f"{type(args).__name__}")
    if opset < MIN_OPSET:
        raise ValueError(f"export_onnx: opset must be at least {MIN_OPSET} (the lowest the "
                         f"torch.onnx dynamo exporter emits), got {opset}")
    program = torch.export.export(model, args, dynamic_shapes=dynamic_shapes)
    program = program.run_decompositions(_SKEL_NODES if custom_ops else _LOWERINGS)
    onnx_program = torch.onnx.export(
        program,
        args,
        opset_version=opset,
        input_names=input_names,
        output_names=output_names,
        dynamo=True,
        verbose=False,
    )
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        onnx_program.save(path)
    return onnx_program.model_proto


def run_onnx(
    model: onnx.ModelProto | str | os.PathLike[str],
    inputs: Sequence[Tensor | np.ndarray],
    *,
    custom_op_library: str | os.PathLike[str] | None = None,
) -> list[np.ndarray]:
    """Run an ONNX model with onnxruntime on the CPU and return its outputs.

    Args:
        model: the model, or the path of its ``.onnx`` file.
        inputs: one array or tensor per graph input, in the graph's order.
        custom_op_library: the shared library that implements the ``skel``-domain nodes in
            onnxruntime; needed when the model was exported with ``custom_ops=True``.

    Raises:
        ValueError: the model holds ``skel`` nodes and no ``custom_op_library`` is given, or
            the number of inputs differs from the graph's (the message names its inputs).
        FileNotFoundError: ``custom_op_library`` does not exist.
    """
    try:
        import onnxruntime
    except ImportError as error:
        raise ImportError(f"run_onnx needs onnxruntime: {_INSTALL_HINT}") from error
    proto = model if isinstance(model, onnx.ModelProto) else onnx.load(
        model, load_external_data=False
    )
    skel_ops = _skel_op_types(proto)
    options = onnxruntime.SessionOptions()
    if custom_op_library is not None:
        library = Path(custom_op_library)
        if not library.is_file():
            raise FileNotFoundError(f"run_onnx: custom_op_library {library} does not exist")
        options.register_custom_ops_library(str(library))
    elif skel_ops:
        raise ValueError(
            f"run_onnx: the model holds {DOMAIN}-domain nodes ({', '.join(skel_ops)}) that "
            f"onnxruntime cannot run without a skel custom-op library; pass "
            f"custom_op_library=..., or export with custom_ops=False (standard ONNX ops only)"
        )
    source = proto.SerializeToString() if isinstance(model, onnx.ModelProto) else os.fspath(model)
    session = onnxruntime.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    names = [graph_input.name for graph_input in session.get_inputs()]
    if len(inputs) != len(names):
        raise ValueError(f"run_onnx: the model takes {len(names)} inputs {names}, got "
                         f"{len(inputs)}")
    feed = {
        name: value.detach().cpu().numpy() if isinstance(value, Tensor) else np.asarray(value)
        for name, value in zip(names, inputs, strict=True)
    }
    return session.run(None, feed)


def _skel_op_types(model: onnx.ModelProto) -> list[str]:
    """The distinct op types of the ``skel``-domain nodes in the graph and its functions."""
    nodes = [*model.graph.node, *(node for function in model.functions for node in function.node)]
    return sorted({f"{DOMAIN}.{node.op_type}" for node in nodes if node.domain == DOMAIN})


def _graph_conv_node(x: Tensor, weight: Tensor, adjacency: Tensor,
                     bias: Tensor | None = None) -> Tensor:
    return torch.onnx.ops.symbolic(
        f"{DOMAIN}::GraphConv",
        (x, weight, adjacency, bias),
        dtype=x.dtype,
        shape=(x.shape[0], weight.shape[1], x.shape[2], x.shape[3]),
        version=DOMAIN_VERSION,
    )


def _render_heatmaps_node(keypoints: Tensor, scores: Tensor, height: int, width: int,
                          sigma: float, limbs: Tensor | None, with_keypoints: bool,
                          eps: float) -> Tensor:
    clips, _, frames, joints, _ = keypoints.shape
    channels = (joints if with_keypoints else 0) + (0 if limbs is None else limbs.shape[0])
    return torch.onnx.ops.symbolic(
        f"{DOMAIN}::RenderHeatmaps",
        (keypoints, scores, limbs),
        {"height": height, "width": width, "sigma": sigma,
         "with_keypoints": int(with_keypoints), "eps": eps},
        dtype=torch.float32,
        shape=(clips, channels, frames, height, width),
        version=DOMAIN_VERSION,
    )


def _register_schemas() -> None:
    """Register the ONNX schemas of the skel nodes (once per process)."""
    schema = onnx.defs.OpSchema
    optional = schema.FormalParameterOption.Optional
    floats = ("T", ["tensor(float)", "tensor(double)"], "float32 or float64")
    parameter, attribute = schema.FormalParameter, schema.Attribute
    schemas = [
        schema(
            "GraphConv", DOMAIN, DOMAIN_VERSION, "skel_kernels.graph_conv",
            inputs=[
                parameter("x", "T", "(N, C_in, T, V)"),
                parameter("weight", "T", "(K, C_out, C_in)"),
                parameter("adjacency", "T", "(K, V, V)"),
                parameter("bias", "T", "(K, C_out)", param_option=optional),
            ],
            outputs=[parameter("y", "T", "(N, C_out, T, V)")],
            type_constraints=[floats],
        ),
        schema(
            "RenderHeatmaps", DOMAIN, DOMAIN_VERSION, "skel_kernels.render_heatmaps",
            inputs=[
                parameter("keypoints", "T", "(N, M, T, K, 2) x, y in pixels"),
                parameter("scores", "T", "(N, M, T, K)"),
                parameter("limbs", "tensor(int64)", "(L, 2) keypoint index pairs",
                          param_option=optional),
            ],
            outputs=[parameter("heatmaps", "tensor(float)", "(N, C, T, height, width)")],
            type_constraints=[floats],
            attributes=[
                attribute("height", schema.AttrType.INT, "map height in pixels"),
                attribute("width", schema.AttrType.INT, "map width in pixels"),
                attribute("sigma", schema.AttrType.FLOAT, "Gaussian standard deviation"),
                attribute("with_keypoints", schema.AttrType.INT, "1: draw the K keypoints"),
                attribute("eps", schema.AttrType.FLOAT, "smallest score that draws"),
            ],
        ),
    ]
    for op_schema in schemas:
        if not onnx.defs.has(op_schema.name, op_schema.since_version, DOMAIN):
            onnx.defs.register_schema(op_schema)


# What replaces each skel op before the ONNX translation: its reference (standard ONNX ops) or
# one skel-domain node.
_LOWERINGS: dict[Any, Callable[..., Tensor]] = {
    torch.ops.skel.graph_conv.default: graph_conv_reference,
    torch.ops.skel.render_heatmaps.default: render_heatmaps_reference,
}
_SKEL_NODES: dict[Any, Callable[..., Tensor]] = {
    torch.ops.skel.graph_conv.default: _graph_conv_node,
    torch.ops.skel.render_heatmaps.default: _render_heatmaps_node,
}
_register_schemas()
