"""Command line of ``skel-export``: ``skel-export CONFIG CHECKPOINT OUT.onnx [options]``.

Builds the config's model (a GCN recognizer or PoseC3D), loads the checkpoint (safely, keys
remapped and reported), exports it to ONNX (see :mod:`skel_apps.export.onnx_export` for the
graph's input and output), stores
the model's info (:mod:`skel_apps.export.model_info`) in the file's metadata, and, unless the
graph keeps skel custom-op nodes, runs it in onnxruntime and compares with PyTorch. The file is
written only when the comparison passes. Exit status: 0 on success, 1 when the comparison
fails or the config, checkpoint or export is refused, 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings

import onnx

from skel_core.atomic import atomic_write
from skel_core.cfg_options import DictAction
from skel_core.errors import ConfigError, SkelError
from skel_kernels.onnx import MIN_OPSET

from ..allocator import configure_allocator
from ..train.settings import load_config
from .model_info import ModelInfo, write_model_info
from .onnx_export import (
    DYNAMIC_AXES,
    check_shapes,
    custom_op_types,
    example_input,
    export_recognizer,
    max_abs_differences,
    signature,
)
from .trained_model import load_trained_model

DEFAULT_ATOL = 1e-4


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skel-export",
        description="Export a trained skeleton action recognizer (GCN or PoseC3D) to ONNX and "
        "check the file against PyTorch with onnxruntime.",
        epilog="The graph takes one clip per row: 'keypoint' float32 (N, M, T, V, C) for a GCN "
        "model, 'imgs' float32 (N, C, T, H, W) heatmaps for PoseC3D; it returns 'scores' "
        "float32 (N, num_classes), class scores before softmax. The model's input kind and "
        "sizes, layout, class names, test pipeline and clip averaging are stored in the "
        "file's metadata, so skel-infer runs it without the config.",
    )
    parser.add_argument("config", help="config file (Python, PYSKL schema)")
    parser.add_argument("checkpoint", help="checkpoint (.pth) of a PYSKL, MMAction2 or skel run")
    parser.add_argument("output", help="the .onnx file to write")
    parser.add_argument(
        "--dynamic", type=_dynamic_axes, default=tuple(DYNAMIC_AXES), metavar="AXES",
        help="comma-separated input axes left dynamic: 'batch' (N), 'time' (T), or 'none' "
        "(default: batch,time)",
    )
    parser.add_argument("--opset", type=int, default=MIN_OPSET,
                        help=f"ONNX opset, at least {MIN_OPSET} (default {MIN_OPSET})")
    parser.add_argument(
        "--custom-ops", action="store_true",
        help="keep skel.GraphConv / skel.RenderHeatmaps custom-domain nodes instead of lowering "
        "them to standard ONNX ops; such a file needs a skel custom-op library in the runtime, "
        "so the onnxruntime check is skipped (a model without skel ops, such as PoseC3D, is "
        "exported and checked as usual)",
    )
    parser.add_argument("--frames", type=_positive_int, metavar="T",
                        help="T of the example input (default: the test pipeline's clip_len)")
    parser.add_argument("--batch", type=_positive_int, default=2, metavar="N",
                        help="N of the example input (default 2; keep it >= 2 with a dynamic "
                        "batch)")
    parser.add_argument("--atol", type=float, default=DEFAULT_ATOL,
                        help=f"largest accepted |onnxruntime - PyTorch| (default {DEFAULT_ATOL:g})")
    parser.add_argument("--key-map", default="auto",
                        help="checkpoint key renaming: 'auto' (default), 'none', or a registered "
                        "key map such as 'mmaction2-gcn'")
    parser.add_argument("--no-strict", action="store_true",
                        help="load a checkpoint that does not fit the model fully (the keys "
                        "that do not fit are listed) instead of refusing it")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default={},
                        metavar="KEY=VALUE", help="override config entries")
    return parser


def _dynamic_axes(text: str) -> tuple[str, ...]:
    if text == "none":
        return ()
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in DYNAMIC_AXES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give a comma-separated subset of {', '.join(DYNAMIC_AXES)}, or 'none'")
    return names


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.opset < MIN_OPSET:
        parser.error(f"--opset must be at least {MIN_OPSET}, got {args.opset}")
    # The ONNX exporter logs a warning for every torchvision op it cannot find, and torch's
    # own tracing code raises a FutureWarning that says nothing about the user's model.
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)`",
                                category=FutureWarning)
        try:
            configure_allocator()
            return export(args)
        except SkelError as error:
            print(f"skel-export: error: {error}", file=sys.stderr)
            return 1


def export(args: argparse.Namespace) -> int:
    """Export as the parsed command line says; returns the exit status."""
    cfg = load_config(args.config, args.cfg_options)
    info = ModelInfo.from_config(cfg)
    frames = args.frames or info.clip_len
    if frames is None:
        raise ConfigError("the test pipeline samples no fixed clip_len (no UniformSampleFrames);"
                          " give the example's length with --frames")
    key_map = None if args.key_map == "none" else args.key_map
    model, report = load_trained_model(cfg, args.checkpoint, key_map=key_map,
                                       strict=not args.no_strict)
    print(f"checkpoint {args.checkpoint}: {report}")
    example = example_input(info, batch=args.batch, frames=frames)
    proto = export_recognizer(model, example, input_name=info.input_name,
                              dynamic=args.dynamic, opset=args.opset, custom_ops=args.custom_ops)
    write_model_info(proto, info)
    onnx.checker.check_model(proto)
    dynamic = ", ".join(args.dynamic) or "none"
    print(f"exported {signature(proto)}; opset {args.opset}; dynamic axes: {dynamic}")
    kept = custom_op_types(proto)
    if kept:
        print(f"kept skel custom-op nodes ({', '.join(kept)}); onnxruntime check skipped: skel "
              "ships no onnxruntime custom-op library yet, so no runtime here can execute them "
              "(export without --custom-ops for a file that any ONNX runtime runs)")
    else:
        if args.custom_ops:
            print("--custom-ops: the model calls no skel op, so the graph holds standard ONNX "
                  "ops only and is checked as usual")
        shapes = check_shapes(example.shape, args.dynamic)
        differences = max_abs_differences(model, proto, shapes)
        for shape, difference in zip(shapes, differences, strict=True):
            print(f"onnxruntime vs PyTorch, input {shape}: max abs difference {difference:.3g}")
        worst = max(differences)
        if worst > args.atol:
            print(f"skel-export: error: onnxruntime's scores differ from PyTorch's by up to "
                  f"{worst:.3g}, above the tolerance {args.atol:g}; {args.output} was not "
                  "written", file=sys.stderr)
            return 1
    with atomic_write(args.output) as file:
        file.write(proto.SerializeToString())
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
