"""``skel-bench graph-conv``: ``skel_kernels.graph_conv`` against PYSKL's way of computing the
spatial graph convolution, on every ``unit_gcn`` shape of ST-GCN++.

ST-GCN++ (base 64 channels, 10 blocks, channels doubled and time halved at blocks 5 and 8, the
graph convolution running before the block's temporal stride) has these graph convolutions:
3->64 x1 at T=100, 64->64 x3 at T=100, 64->128 x1 at T=100, 128->128 x2 at T=50, 128->256 x1
at T=50 and 256->256 x2 at T=25, each with K=3 adjacency subsets (the spatial partition of the
layout's graph), a bias and an adjacency that is learned (requires grad). They are measured on
COCO (V=17) and NTU RGB+D (V=25) with N=32 (16 clips x 2 persons, a training batch) and N=2
(one clip's 2 persons, inference); ``--quick`` keeps N, V and K and shrinks channels and T.

Per shape, interleaved in one run: the baseline "pyskl" (``nn.Conv2d`` 1x1 to K*C_out
channels, ``view``, ``einsum('nkctv,kvw->nctw')``, ``contiguous``, as PYSKL's ``unit_gcn``),
``graph_conv(impl=...)`` for each implementation on its device (the baseline runs there too),
each as an inference forward (under ``torch.no_grad``) and as forward+backward (gradients of x,
weight, adjacency and bias), and a plain GEMM (``torch.mm`` of the 1x1 convolution's size:
(N*T*V, C_in) @ (C_in, K*C_out)). GFLOP/s count the baseline's arithmetic,
2*N*T*V*K*C_out*(C_in + V) for the forward and three times that for forward+backward,
whatever an implementation actually computes. The network sums weight each shape by its count.

The JSON record adds ``baseline`` ("pyskl") and:

* ``layers``: per device, layout, N, thread count and shape: ``device``, ``layout``,
  ``joints``, ``batch``, ``threads``, ``c_in``, ``c_out``, ``frames``, ``count``,
  ``gflop_fwd``; ``fwd`` and ``fwd_bwd``: by implementation (the baseline included)
  ``median_ms``, ``min_ms``, ``max_ms``, ``repeats``, ``ratio`` (baseline median / its
  median), ``gflops`` and ``gemm_fraction`` (its GFLOP/s over the GEMM's); ``gemm``: the GEMM's
  timing, ``gflops`` and ``shape`` (M, K, N); ``max_abs_diff``: by implementation, its largest
  forward difference from the baseline;
* ``sums``: per device, layout, N and thread count, ``fwd`` and ``fwd_bwd``: by implementation
  ``ms`` (count-weighted sum of medians), ``ratio`` and ``gflops``;
* ``targets``: the issue's goals (forward+backward at N=32 on 2 threads >= 1.5x, forward at
  N=2 >= 2x), one entry per kernel implementation, layout and matching measurement:
  ``target``, ``pass``, ``batch``, ``threads``, ``required``, ``device``, ``layout``,
  ``impl``, ``ratio`` and ``met`` (``ratio``/``met``/``impl`` null where nothing matching was
  measured).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from skel_core.graph import Graph
from skel_kernels import graph_conv

from .report import Column, Table, print_targets
from .timing import IMPL_DEVICE, Timing, measure, num_threads, ratio

BASELINE = "pyskl"
LAYOUTS = ("coco", "nturgb+d")
BATCHES = (32, 2)  # 16 clips x 2 persons (training); one clip's 2 persons (inference)
PASSES = ("fwd", "fwd_bwd")
BACKWARD_FLOP_FACTOR = 3  # forward+backward counted as three forwards


@dataclass(frozen=True)
class GcnLayer:
    """A graph convolution shape and how many of the network's blocks have it."""

    c_in: int
    c_out: int
    frames: int
    count: int

    @property
    def label(self) -> str:
        return f"{self.c_in}->{self.c_out} T{self.frames} x{self.count}"


STGCNPP_LAYERS = (GcnLayer(3, 64, 100, 1), GcnLayer(64, 64, 100, 3), GcnLayer(64, 128, 100, 1),
                  GcnLayer(128, 128, 50, 2), GcnLayer(128, 256, 50, 1),
                  GcnLayer(256, 256, 25, 2))
QUICK_LAYERS = (GcnLayer(3, 8, 8, 1), GcnLayer(8, 8, 8, 2), GcnLayer(8, 16, 4, 1))


@dataclass(frozen=True)
class Target:
    """A speed-up over the baseline's network sum that the kernels must reach."""

    label: str
    pass_name: str
    batch: int
    threads: int | None  # None: on every thread count measured
    required: float


TARGETS = (Target("fwd+bwd at N=32 on 2 threads", "fwd_bwd", 32, 2, 1.5),
           Target("fwd at N=2", "fwd", 2, None, 2.0))
NOT_KERNELS = (BASELINE, "reference")  # the targets are the compiled and Triton kernels'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``graph-conv`` takes only the common options."""


def pyskl_graph_conv(x: Tensor, conv: nn.Conv2d, adjacency: Tensor) -> Tensor:
    """The graph convolution of PYSKL's ``unit_gcn`` (``conv_pos='pre'``), computed as there."""
    n, _, t, v = x.shape
    mixed = conv(x).view(n, adjacency.shape[0], -1, t, v)
    return torch.einsum("nkctv,kvw->nctw", mixed, adjacency).contiguous()


def forward_flops(layer: GcnLayer, batch: int, joints: int, subsets: int) -> int:
    """The baseline's forward arithmetic: the 1x1 convolution and the K aggregations."""
    return 2 * batch * layer.frames * joints * subsets * layer.c_out * (layer.c_in + joints)


def run(args: argparse.Namespace) -> dict[str, Any]:
    table = Table("graph_conv against PYSKL's unit_gcn computation (ST-GCN++ shapes)", [
        Column("device", 6, right=False), Column("layout", 8, right=False), Column("N", 3),
        Column("thr", 3), Column("layer", 19, right=False), Column("impl", 9, right=False),
        Column("fwd ms", 8), Column("x", 6), Column("fwd+bwd ms", 10), Column("x", 6),
        Column("fwd GF/s", 8), Column("f+b GF/s", 8)])
    table.print_header()
    layers = QUICK_LAYERS if args.quick else STGCNPP_LAYERS
    devices: dict[str, list[str]] = {}
    for impl in args.impl:
        devices.setdefault(IMPL_DEVICE[impl], []).append(impl)
    layer_entries, sums = [], []
    for threads in args.threads:
        for device, impls in devices.items():
            for layout in LAYOUTS:
                adjacency = torch.tensor(Graph(layout, mode="spatial").A, dtype=torch.float32)
                for batch in BATCHES:
                    group = {"device": device, "layout": layout, "joints": adjacency.shape[1],
                             "batch": batch, "threads": threads}
                    measured = []
                    for layer in layers:
                        with num_threads(threads):
                            entry = _measure_layer(layer, batch, adjacency, device, impls, args)
                        entry = {**group, **entry}
                        measured.append(entry)
                        _print_layer(table, entry, layer.label, "median_ms")
                    layer_entries += measured
                    total = {**group, **_network_sum(measured)}
                    sums.append(total)
                    _print_layer(table, total, "network (sum)", "ms")
    targets = _targets(sums)
    print_targets(targets, "network sums against the baseline", args.quick)
    return {"baseline": BASELINE, "layers": layer_entries, "sums": sums, "targets": targets}


def _measure_layer(layer: GcnLayer, batch: int, adjacency: Tensor, device: str,
                   impls: list[str], args: argparse.Namespace) -> dict[str, Any]:
    generator = torch.Generator().manual_seed(0)
    subsets, joints = adjacency.shape[0], adjacency.shape[1]

    def random(*shape: int) -> Tensor:
        return torch.randn(*shape, generator=generator).to(device)

    x = random(batch, layer.c_in, layer.frames, joints).requires_grad_()
    learned = adjacency.clone().to(device).requires_grad_()
    weight = (random(subsets, layer.c_out, layer.c_in) / layer.c_in**0.5).requires_grad_()
    bias = random(subsets, layer.c_out).requires_grad_()
    conv = nn.Conv2d(layer.c_in, subsets * layer.c_out, 1, device=device)
    with torch.no_grad():
        conv.weight.copy_(weight.reshape(conv.weight.shape))
        conv.bias.copy_(bias.reshape(-1))
    grad_out = random(batch, layer.c_out, layer.frames, joints)

    computations: dict[str, tuple[Callable[[], Tensor], list[Tensor]]] = {
        BASELINE: (lambda: pyskl_graph_conv(x, conv, learned),
                   [x, conv.weight, learned, conv.bias])}
    for impl in impls:
        computations[impl] = (
            lambda impl=impl: graph_conv(x, weight, learned, bias, impl=impl),
            [x, weight, learned, bias])
    candidates: dict[str, Callable[[], object]] = {}
    for name, (compute, inputs) in computations.items():
        candidates[f"fwd:{name}"] = _no_grad(compute)
        candidates[f"fwd_bwd:{name}"] = (
            lambda compute=compute, inputs=inputs: torch.autograd.grad(compute(), inputs,
                                                                       grad_out))
    rows, inner, cols = batch * layer.frames * joints, layer.c_in, subsets * layer.c_out
    left, right = random(rows, inner), random(inner, cols)
    candidates["gemm"] = lambda: torch.mm(left, right)

    with torch.no_grad():
        expected = computations[BASELINE][0]()
        differences = {name: float((compute() - expected).abs().max())
                       for name, (compute, _) in computations.items()}
    timings = measure(candidates, repeats=args.repeats, warmup=args.warmup)

    flops = forward_flops(layer, batch, joints, subsets)
    gemm = timings["gemm"]
    gemm_gflops = _gflops(2 * rows * inner * cols, gemm.median_ms)
    entry: dict[str, Any] = {"c_in": layer.c_in, "c_out": layer.c_out, "frames": layer.frames,
                             "count": layer.count, "gflop_fwd": flops / 1e9}
    for pass_name, pass_flops in (("fwd", flops), ("fwd_bwd", BACKWARD_FLOP_FACTOR * flops)):
        baseline = timings[f"{pass_name}:{BASELINE}"]
        entry[pass_name] = {
            name: _stats(timings[f"{pass_name}:{name}"], baseline, pass_flops, gemm_gflops)
            for name in computations}
    entry["gemm"] = {**gemm.as_dict(), "gflops": gemm_gflops, "shape": [rows, inner, cols]}
    entry["max_abs_diff"] = differences
    return entry


def _no_grad(compute: Callable[[], Tensor]) -> Callable[[], Tensor]:
    def forward() -> Tensor:
        with torch.no_grad():
            return compute()

    return forward


def _gflops(flops: float, ms: float) -> float:
    return flops / (ms * 1e-3) / 1e9


def _stats(timing: Timing, baseline: Timing, flops: int, gemm_gflops: float) -> dict[str, Any]:
    gflops = _gflops(flops, timing.median_ms)
    return {**timing.as_dict(), "ratio": ratio(baseline.median_ms, timing.median_ms),
            "gflops": gflops, "gemm_fraction": gflops / gemm_gflops}


def _network_sum(layers: list[dict[str, Any]]) -> dict[str, Any]:
    """Count-weighted sums of the layers' medians, with ratios and GFLOP/s."""
    total: dict[str, Any] = {}
    gflop = sum(entry["gflop_fwd"] * entry["count"] for entry in layers)
    for pass_name in PASSES:
        pass_gflop = gflop * (BACKWARD_FLOP_FACTOR if pass_name == "fwd_bwd" else 1)
        ms = {name: sum(entry[pass_name][name]["median_ms"] * entry["count"] for entry in layers)
              for name in layers[0][pass_name]}
        total[pass_name] = {name: {"ms": value, "ratio": ratio(ms[BASELINE], value),
                                   "gflops": pass_gflop / (value * 1e-3)}
                            for name, value in ms.items()}
    return total


def _print_layer(table: Table, entry: dict[str, Any], label: str, time_key: str) -> None:
    """One row per implementation (times under ``time_key``); for a shape, the GEMM's too."""
    common = (entry["device"], entry["layout"], entry["batch"], entry["threads"], label)
    for name, fwd in entry["fwd"].items():
        both = entry["fwd_bwd"][name]
        table.print_row(*common, name, fwd[time_key], fwd["ratio"], both[time_key],
                        both["ratio"], fwd["gflops"], both["gflops"])
    if "gemm" in entry:
        gemm = entry["gemm"]
        table.print_row(*common, "gemm", gemm["median_ms"], None, None, None, gemm["gflops"],
                        None)


def _targets(sums: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target checked on every matching network sum of every kernel implementation."""
    found = []
    for target in TARGETS:
        about = {"target": target.label, "pass": target.pass_name, "batch": target.batch,
                 "threads": target.threads, "required": target.required}
        matching = [total for total in sums if total["batch"] == target.batch
                    and target.threads in (None, total["threads"])]
        checked = [{**about, "threads": total["threads"], "device": total["device"],
                    "layout": total["layout"], "impl": impl, "ratio": result["ratio"],
                    "met": result["ratio"] >= target.required}
                   for total in matching
                   for impl, result in total[target.pass_name].items() if impl not in NOT_KERNELS]
        found += checked or [{**about, "device": None, "layout": None, "impl": None,
                              "ratio": None, "met": None}]
    return found
