"""``skel-bench model``: whole GCN recognizers with the fused graph convolution
(``skel_kernels.graph_conv``) against the plain PyTorch reference path, switched with
:func:`skel_models.use_graph_conv`.

The models are the zoo's (``configs/_base_/models/*.py``: ST-GCN, ST-GCN++, MS-AAGCN, CTR-GCN,
MS-G3D, DG-STGCN with PYSKL's settings, 60 classes; ``--models`` chooses) on PYSKL's
inference-speed setting: clips of 2 persons x 100 frames x 17 COCO joints x 3 channels.
``--quick`` keeps the models and shrinks the clips to 8 frames and the batch to 2.

For each model: its parameter count and FLOPs per clip (torch's counter, 2 per multiply-add),
then on every thread count and device, interleaved in one run, the reference and each kernel
implementation (``--impl``, on its device; the reference runs there too): an inference forward
(eval mode, no autograd) of a batch of 16 clips (throughput, in clips per second) and of one
clip (latency). ST-GCN++, whose every block is a fused graph convolution, is also timed training
(forward, cross-entropy loss and backward at a batch of 16). A model whose graph units do not
call the kernels runs the same code on both paths, so its ratios show the timing noise. The
class scores of every path are compared with the reference's.

The JSON record adds ``baseline`` ("reference"), ``clip`` (``persons``, ``frames``,
``joints``, ``channels``, ``batch``, ``latency_batch``) and:

* ``models``: per model ``model``, ``params`` and ``flops_per_clip``;
* ``inference``: per device, thread count and model ``device``, ``threads``, ``model``,
  ``batch`` and ``latency``: by implementation (the reference included) ``median_ms``,
  ``min_ms``, ``max_ms``, ``repeats``, ``clips_per_s`` and ``ratio`` (reference median / its
  median: > 1 is faster); ``max_abs_diff``: by implementation, its largest difference from the
  reference's class scores on the batch;
* ``training``: per device and thread count, ``device``, ``threads``, ``model`` (ST-GCN++)
  and ``fwd_bwd`` (same keys as ``batch``);
* ``targets``: the issue's goals for ST-GCN++ (forward+backward at batch 16 >= 1.3x, batch-1
  latency >= 1.5x), one entry per device, thread count and kernel implementation measured:
  ``target``, ``required``, ``device``, ``threads``, ``impl``, ``ratio`` and ``met`` (one entry
  with all but ``target`` and ``required`` null when nothing matching was measured).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from skel_models.graph_conv_switch import use_graph_conv
from skel_models.params import count_parameters, flops_per_clip
from skel_models.registry import build_model

from .report import Column, Table, print_targets
from .timing import IMPL_DEVICE, Timing, measure, num_threads, ratio

BASELINE = "reference"
NUM_CLASSES = 60


def _recognizer(backbone: dict[str, Any], head_channels: int = 256) -> dict[str, Any]:
    return dict(type="RecognizerGCN", backbone=backbone,
                cls_head=dict(type="GCNHead", num_classes=NUM_CLASSES, in_channels=head_channels))


# The model configs of configs/_base_/models/<name>.py (a test keeps the two equal); here too so
# that the benchmark runs from an installed skel-apps, without the repository's configs folder.
MODELS: dict[str, dict[str, Any]] = {
    "stgcn": _recognizer(dict(type="STGCN", graph_cfg=dict(layout="coco", mode="stgcn_spatial"))),
    "stgcnpp": _recognizer(dict(type="STGCN", gcn_adaptive="init", gcn_with_res=True,
                                tcn_type="mstcn", graph_cfg=dict(layout="coco", mode="spatial"))),
    "aagcn": _recognizer(dict(type="AAGCN", graph_cfg=dict(layout="coco", mode="spatial"))),
    "ctrgcn": _recognizer(dict(type="CTRGCN", graph_cfg=dict(layout="coco", mode="spatial"))),
    "msg3d": _recognizer(dict(type="MSG3D", graph_cfg=dict(layout="coco", mode="binary_adj")),
                         head_channels=384),
    "dgstgcn": _recognizer(dict(
        type="DGSTGCN", gcn_ratio=0.125, gcn_ctr="T", gcn_ada="T",
        tcn_ms_cfg=[(3, 1), (3, 2), (3, 3), (3, 4), ("max", 3), "1x1"],
        graph_cfg=dict(layout="coco", mode="random", num_filter=8, init_off=0.04,
                       init_std=0.02))),
}
STGCNPP = "stgcnpp"


@dataclass(frozen=True)
class ClipShape:
    """The input clips: ``batch`` (and ``latency_batch``) clips of persons x frames x joints x
    channels."""

    persons: int = 2
    frames: int = 100
    joints: int = 17
    channels: int = 3
    batch: int = 16
    latency_batch: int = 1

    def inputs(self, batch: int, device: str) -> Tensor:
        generator = torch.Generator().manual_seed(0)
        shape = (batch, self.persons, self.frames, self.joints, self.channels)
        return torch.randn(shape, generator=generator).to(device)


FULL = ClipShape()
QUICK = ClipShape(frames=8, batch=2)


@dataclass(frozen=True)
class Target:
    """A speed-up of ST-GCN++ over the reference path that the kernels must reach."""

    label: str
    section: str  # "training" or "inference"
    measurement: str  # "fwd_bwd", "batch" or "latency"
    required: float


TARGETS = (Target("ST-GCN++ fwd+bwd at batch 16", "training", "fwd_bwd", 1.3),
           Target("ST-GCN++ batch-1 latency", "inference", "latency", 1.5))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", nargs="+", choices=tuple(MODELS), default=list(MODELS),
                        metavar="MODEL", help=f"models to measure (default: all of "
                        f"{', '.join(MODELS)})")


def run(args: argparse.Namespace) -> dict[str, Any]:
    clip = QUICK if args.quick else FULL
    models = {name: build_model(MODELS[name]) for name in dict.fromkeys(args.models)}
    sizes = _print_sizes(models, clip)
    devices: dict[str, list[str]] = {}
    for impl in args.impl:
        if impl != BASELINE:
            devices.setdefault(IMPL_DEVICE[impl], []).append(impl)
    devices = devices or {"cpu": []}
    inference_table = Table(f"inference: batch of {clip.batch} and of {clip.latency_batch} "
                            f"clip(s) of {clip.persons}x{clip.frames}x{clip.joints}x"
                            f"{clip.channels}", [
        Column("device", 6, right=False), Column("thr", 3), Column("model", 7, right=False),
        Column("impl", 9, right=False), Column("batch ms", 9), Column("clips/s", 8),
        Column("x", 6), Column("1-clip ms", 9), Column("x", 6)])
    training_table = Table(f"training {STGCNPP}: forward+backward, batch of {clip.batch}",
                           [Column("device", 6, right=False), Column("thr", 3),
                            Column("impl", 9, right=False), Column("ms", 9),
                            Column("clips/s", 8), Column("x", 6)])
    inference, training = [], []
    for device, impls in devices.items():
        paths = [BASELINE, *impls]
        for threads in args.threads:
            group = {"device": device, "threads": threads}
            inference_table.print_header()
            for name, model in models.items():
                with num_threads(threads):
                    entry = _measure_inference(model.to(device), clip, device, paths, args)
                inference.append({**group, "model": name, **entry})
                _print_inference(inference_table, inference[-1])
            if STGCNPP in models:
                training_table.print_header()
                with num_threads(threads):
                    entry = _measure_training(models[STGCNPP], clip, device, paths, args)
                training.append({**group, "model": STGCNPP, **entry})
                for impl, stats in entry["fwd_bwd"].items():
                    training_table.print_row(device, threads, impl, stats["median_ms"],
                                             stats["clips_per_s"], stats["ratio"])
    targets = _targets(inference, training)
    print_targets(targets, "ST-GCN++, kernels against the reference path", args.quick)
    clip_record = {key: getattr(clip, key) for key in
                   ("persons", "frames", "joints", "channels", "batch", "latency_batch")}
    return {"baseline": BASELINE, "clip": clip_record, "models": sizes,
            "inference": inference, "training": training, "targets": targets}


def _print_sizes(models: dict[str, nn.Module], clip: ClipShape) -> list[dict[str, Any]]:
    table = Table(f"model sizes ({NUM_CLASSES} classes; FLOPs of one {clip.persons}x{clip.frames}"
                  f"x{clip.joints}x{clip.channels} clip)",
                  [Column("model", 7, right=False), Column("params M", 8), Column("GFLOPs", 8)])
    table.print_header()
    sizes = []
    shape = (clip.persons, clip.frames, clip.joints, clip.channels)
    for name, model in models.items():
        entry = {"model": name, "params": count_parameters(model),
                 "flops_per_clip": flops_per_clip(model, shape)}
        sizes.append(entry)
        table.print_row(name, entry["params"] / 1e6, entry["flops_per_clip"] / 1e9)
    return sizes


def _on_path(impl: str, compute: Callable[[], object]) -> Callable[[], object]:
    def call() -> object:
        with use_graph_conv(impl):
            return compute()

    return call


def _measure_inference(model: nn.Module, clip: ClipShape, device: str, paths: list[str],
                       args: argparse.Namespace) -> dict[str, Any]:
    model.eval()
    batch, single = clip.inputs(clip.batch, device), clip.inputs(clip.latency_batch, device)

    def forward(x: Tensor) -> Callable[[], Tensor]:
        def call() -> Tensor:
            with torch.no_grad():
                return model(x)

        return call

    scores = {impl: _on_path(impl, forward(batch))() for impl in paths}
    candidates: dict[str, Callable[[], object]] = {}
    for impl in paths:
        candidates[f"batch:{impl}"] = _on_path(impl, forward(batch))
        candidates[f"latency:{impl}"] = _on_path(impl, forward(single))
    timings = measure(candidates, repeats=args.repeats, warmup=args.warmup)
    return {
        "batch": _compare(timings, "batch", paths, clip.batch),
        "latency": _compare(timings, "latency", paths, clip.latency_batch),
        "max_abs_diff": {impl: float((scores[impl] - scores[BASELINE]).abs().max())
                         for impl in paths},
    }


def _measure_training(model: nn.Module, clip: ClipShape, device: str, paths: list[str],
                      args: argparse.Namespace) -> dict[str, Any]:
    model.to(device).train()
    batch = clip.inputs(clip.batch, device)
    labels = torch.arange(clip.batch, device=device) % NUM_CLASSES
    loss_fn = nn.CrossEntropyLoss()

    def step() -> None:
        model.zero_grad(set_to_none=True)
        loss_fn(model(batch), labels).backward()

    timings = measure({f"fwd_bwd:{impl}": _on_path(impl, step) for impl in paths},
                      repeats=args.repeats, warmup=args.warmup)
    model.eval()
    return {"fwd_bwd": _compare(timings, "fwd_bwd", paths, clip.batch)}


def _compare(timings: dict[str, Timing], prefix: str, paths: list[str],
             clips: int) -> dict[str, dict[str, Any]]:
    """Each path's timing with its throughput and its speed-up over the reference."""
    baseline = timings[f"{prefix}:{BASELINE}"].median_ms
    result = {}
    for impl in paths:
        timing = timings[f"{prefix}:{impl}"]
        result[impl] = {**timing.as_dict(), "clips_per_s": clips / (timing.median_ms * 1e-3),
                        "ratio": ratio(baseline, timing.median_ms)}
    return result


def _print_inference(table: Table, entry: dict[str, Any]) -> None:
    for impl, batch in entry["batch"].items():
        latency = entry["latency"][impl]
        table.print_row(entry["device"], entry["threads"], entry["model"], impl,
                        batch["median_ms"], batch["clips_per_s"], batch["ratio"],
                        latency["median_ms"], latency["ratio"])


def _targets(inference: list[dict[str, Any]],
             training: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target checked on every matching ST-GCN++ measurement of every kernel."""
    sections = {"inference": inference, "training": training}
    found = []
    for target in TARGETS:
        about = {"target": target.label, "required": target.required}
        checked = [{**about, "device": entry["device"], "threads": entry["threads"],
                    "impl": impl, "ratio": stats["ratio"],
                    "met": stats["ratio"] >= target.required}
                   for entry in sections[target.section] if entry["model"] == STGCNPP
                   for impl, stats in entry[target.measurement].items() if impl != BASELINE]
        found += checked or [{**about, "device": None, "threads": None, "impl": None,
                              "ratio": None, "met": None}]
    return found
