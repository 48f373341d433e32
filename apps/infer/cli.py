"""Command line of ``skel-infer``: recognise the actions of skeleton sequences.

The model is a GCN recognizer or PoseC3D (heatmap volumes rendered from the keypoints by its
test pipeline), from a checkpoint and its config or from a file ``skel-export`` wrote.

    skel-infer CONFIG CHECKPOINT INPUT [options]
    skel-infer MODEL.onnx INPUT [--config CONFIG] [options]

For every sequence of INPUT it prints the top-5 classes with their probabilities, or with
``--window W`` one line per window of W frames: ``frames START-END: LABEL (PROBABILITY)``
(END inclusive). Exit status: 0 on success, 1 when an input, the model or the config is
refused (the message names the file and the problem), 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

from skel_core.cfg_options import DictAction
from skel_core.errors import ConfigError, SkelError
from skel_core.layouts import get_layout
from skel_data.dataset import read_class_names

from ..allocator import configure_allocator
from ..export.model_info import KEYPOINT_INPUT, ModelInfo
from ..export.trained_model import load_trained_model
from ..train.settings import load_config
from .attention import attention_maps, attention_units, draw_attention
from .recognition import DEFAULT_CLIP_LEN, Recognizer
from .scoring import OnnxScorer, TorchScorer
from .sequences import InputSequence, load_sequences
from .visualize import animate, writer_name
from .windows import window_record, window_starts

USAGE = ("skel-infer CONFIG CHECKPOINT INPUT [options]\n"
         "       skel-infer MODEL.onnx INPUT [--config CONFIG] [options]")

INPUTS_HELP = f"""\
INPUT is a file or a directory of files:
  .pkl/.pickle  a PYSKL annotation file (safe loader); one sequence per record
  .npz          keypoint (M, T, V, C) or (T, V, C); optional keypoint_score (M, T, V),
                img_shape (height, width), label
  .json         an object with the same keys, arrays as nested lists
C is 2 (pixels; scores default to 1) or 3 (metres).

Model input: the config's test pipeline (with an ONNX model: --config, else the pipeline
stored by skel-export). A GCN model without one gets a default: PreNormalize2D for 2D input,
one clip of the model's fixed T or {DEFAULT_CLIP_LEN} frames, FormatGCNInput with the model's M.
A PoseC3D (heatmap) model has no default: its pipeline renders the heatmaps. Class names: the
config's, --label-map, the ones stored in the ONNX file, else class indices."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skel-infer", usage=USAGE, epilog=INPUTS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Recognise actions in skeleton sequences with a trained GCN or PoseC3D "
        "checkpoint (and its config) or an ONNX model written by skel-export.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="CONFIG CHECKPOINT INPUT, or MODEL.onnx INPUT")
    parser.add_argument("--config", help="with an ONNX model: the config whose test pipeline, "
                        "layout and class names to use")
    parser.add_argument("--label-map", metavar="FILE",
                        help="class names, one per line in label order")
    parser.add_argument("--layout", help="skeleton layout (e.g. coco, nturgb+d), for a model "
                        "that does not say")
    parser.add_argument("--top-k", type=_positive_int, default=5, metavar="K",
                        help="how many classes to print per sequence (default 5)")
    parser.add_argument("--window", type=_positive_int, metavar="W",
                        help="recognise windows of W frames and print a timeline")
    parser.add_argument("--stride", type=_positive_int, metavar="S",
                        help="frames between window starts (default: W)")
    parser.add_argument("--vis", type=_animation_path, metavar="OUT.gif",
                        help="draw the sequence with its predicted label (.gif, or .mp4 with "
                        "ffmpeg installed); needs a single input sequence")
    parser.add_argument("--fps", type=float, default=10.0, help="frames per second of --vis")
    parser.add_argument("--attention", metavar="OUT.png", type=_png_path,
                        help="draw the attention maps of an attention model (AAGCN): per "
                        "layer, joint and frame attention and the effective graph")
    parser.add_argument("--key-map", default="auto",
                        help="checkpoint key renaming: 'auto' (default), 'none', or a registered "
                        "key map such as 'mmaction2-gcn'")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default={},
                        metavar="KEY=VALUE", help="override config entries")
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _png_path(text: str) -> Path:
    if Path(text).suffix.lower() != ".png":
        raise argparse.ArgumentTypeError(f"{text}: the attention maps are written as .png")
    return Path(text)


def _animation_path(text: str) -> Path:
    try:
        writer_name(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    return Path(text)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if len(args.paths) not in (2, 3):
        parser.error(f"expected CONFIG CHECKPOINT INPUT or MODEL.onnx INPUT, got "
                     f"{len(args.paths)} paths")
    if args.stride is not None and args.window is None:
        parser.error("--stride goes with --window")
    try:
        configure_allocator()
        return infer(args, parser)
    except (SkelError, FileNotFoundError) as error:
        print(f"skel-infer: error: {error}", file=sys.stderr)
        return 1


def infer(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Recognise as the parsed command line says; returns the exit status."""
    *model_paths, input_path = args.paths
    scorer, info = _load_model(model_paths, args, parser)
    if args.attention:
        if not isinstance(scorer, TorchScorer):
            parser.error(f"--attention: {scorer.description} has no attention maps: only "
                         "PyTorch models with attention units (AAGCN) do; give CONFIG CHECKPOINT")
        try:
            attention_units(scorer.model, scorer.description)
        except ConfigError as error:
            parser.error(f"--attention: {error}")
    if args.layout:
        info = info.with_layout(get_layout(args.layout))
    if args.label_map:
        info = dataclasses.replace(info, class_names=read_class_names(args.label_map))
    if args.vis and info.layout is None:
        parser.error("--vis draws the layout's bones: give --layout (or a config)")
    recognizer = Recognizer(scorer, info)
    sequences = load_sequences(input_path, _num_joints(info, scorer))
    if args.vis and len(sequences) != 1:
        parser.error(f"--vis draws one sequence; {input_path} holds {len(sequences)}")
    if args.attention:
        if len(sequences) != 1:
            parser.error(f"--attention draws one sequence; {input_path} holds {len(sequences)}")
        (sequence,) = sequences
        clips = recognizer.clips(sequence.record, sequence.name)
        draw_attention(attention_maps(scorer.model, clips, scorer.description), info.layout,
                       args.attention, title=f"{sequence.name}: {scorer.description}")
        print(f"wrote {args.attention}")
    if not args.window:  # every sequence's clips in as few forward passes as possible
        probabilities = recognizer.probabilities([s.record for s in sequences],
                                                 [s.name for s in sequences])
    for k, sequence in enumerate(sequences):
        print(_header(sequence, recognizer))
        if args.window:
            captions = _timeline(recognizer, sequence, args.window, args.stride or args.window)
        else:
            captions = _top_k(recognizer, sequence, probabilities[k], args.top_k)
        if args.vis:
            animate(sequence.record, info.layout, captions, args.vis, fps=args.fps)
            print(f"wrote {args.vis}")
    return 0


def _load_model(paths: list[str], args: argparse.Namespace, parser: argparse.ArgumentParser):
    """The scorer and the model info for ``CONFIG CHECKPOINT`` or ``MODEL.onnx``."""
    if len(paths) == 1:
        if Path(paths[0]).suffix.lower() != ".onnx":
            parser.error(f"{paths[0]} is not an .onnx model; a checkpoint goes with its config: "
                         "skel-infer CONFIG CHECKPOINT INPUT")
        scorer = OnnxScorer(paths[0])
        if args.config:
            return scorer, ModelInfo.from_config(load_config(args.config, args.cfg_options))
        return scorer, scorer.info or scorer.default_info()
    if args.config:
        parser.error("--config is for ONNX models; a checkpoint's config is the first PATH")
    cfg = load_config(paths[0], args.cfg_options)
    key_map = None if args.key_map == "none" else args.key_map
    model, _ = load_trained_model(cfg, paths[1], key_map=key_map)
    backbone = cfg.model.get("backbone", {}).get("type", "?")
    info = ModelInfo.from_config(cfg)
    return TorchScorer(model, info, f"{cfg.model.type} (backbone {backbone})"), info


def _num_joints(info: ModelInfo, scorer) -> int | None:
    """The joint count V the input sequences must have: the model info's, else the V of a
    skeleton model's input (a heatmap model's input has no V)."""
    if info.num_joints is not None or info.input_name != KEYPOINT_INPUT:
        return info.num_joints
    return scorer.input_shape[2]


def _header(sequence: InputSequence, recognizer: Recognizer) -> str:
    persons, frames, joints, _ = sequence.record["keypoint"].shape
    text = f"{sequence.name}: {frames} frames, {persons} person(s), {joints} joints"
    if sequence.label is not None:
        text += f"; true label {sequence.label} ({recognizer.class_name(sequence.label)})"
    return text


def _top_k(recognizer: Recognizer, sequence: InputSequence, probabilities: np.ndarray,
           k: int) -> list[str]:
    """Print the top-k classes of a sequence; return the caption of each of its frames."""
    ranked = recognizer.top_k(probabilities, k)
    for rank, (_, name, probability) in enumerate(ranked, 1):
        print(f"  {rank}. {name:<24} {probability:.4f}")
    frames = sequence.record["keypoint"].shape[1]
    _, best, probability = ranked[0]
    return [f"frame {t + 1}/{frames}: {best} ({probability:.2f})" for t in range(frames)]


def _timeline(recognizer: Recognizer, sequence: InputSequence, window: int,
              stride: int) -> list[str]:
    """Print one line per window; return the caption of each frame (the label of the last
    window that starts at or before it)."""
    frames = sequence.record["keypoint"].shape[1]
    starts = window_starts(frames, window, stride)
    records = [window_record(sequence.record, start, window) for start in starts]
    probabilities = recognizer.probabilities(records, [sequence.name] * len(records))
    print(f"  {len(starts)} window(s) of {window} frames, stride {stride}:")
    labels = []
    for record, start, row in zip(records, starts, probabilities, strict=True):
        _, name, probability = recognizer.top_k(row, 1)[0]
        labels.append(f"{name} ({probability:.2f})")
        print(f"  frames {start}-{start + record['total_frames'] - 1}: {name} "
              f"({probability:.4f})")
    latest = np.searchsorted(starts, np.arange(frames), side="right") - 1
    return [f"frame {t + 1}/{frames}: {labels[i]}" for t, i in enumerate(latest)]
