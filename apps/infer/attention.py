"""Attention maps of attention models (AAGCN's ``unit_aagcn``), for ``skel-infer --attention``.

:func:`attention_maps` runs a recognizer once on model-input clips with forward hooks that read
what each attention unit computes: its spatial and temporal attention masks (the outputs of
the unit's ``spatial_gate`` and ``temporal_gate``) and its effective graph, ``A`` plus, when the
unit is adaptive, the data-dependent graph of :meth:`~skel_models.units.unit_aagcn.learned_graphs`
on the unit's input. Every map is averaged over the clips and the persons present: a person
whose keypoints are all zero is padding (``FormatGCNInput`` adds such persons) and is left out.
:func:`draw_attention` draws the maps into one PNG, a row per layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import nn

from skel_core.errors import ConfigError, LayoutError
from skel_core.layouts import Layout
from skel_models.units import unit_aagcn


@dataclass(frozen=True)
class LayerAttention:
    """What one attention unit computed for a batch of clips, averaged over clips and persons.

    Attributes:
        name: the unit's module name in the model, e.g. ``backbone.gcn.3.gcn``.
        graph: (K, V, V) the graph each subset aggregates with, ``graph[k, v, w]`` weighting
            joint ``v``'s features into joint ``w``: ``A``, plus the learned graph if adaptive.
        adaptive: whether ``graph`` depends on the input (else it is the unit's ``A``).
        spatial: (V,) joint attention in (0, 1); None for a unit without attention.
        temporal: (T_layer,) attention over the unit's frames (fewer than the clip's after a
            temporal stride); None for a unit without attention.
    """

    name: str
    graph: np.ndarray
    adaptive: bool
    spatial: np.ndarray | None
    temporal: np.ndarray | None


def attention_units(model: nn.Module,
                    description: str | None = None) -> list[tuple[str, unit_aagcn]]:
    """The named attention units of ``model`` (``unit_aagcn`` with attention or an adaptive
    graph), in module order; ConfigError if it has none. ``description`` names the model in
    the message (default: its class name)."""
    units = [(name, module) for name, module in model.named_modules()
             if isinstance(module, unit_aagcn) and (module.attention or module.adaptive)]
    if not units:
        raise ConfigError(f"{description or type(model).__name__} has no attention maps: only "
                          "models with attention units (AAGCN) do")
    return units


@torch.no_grad()
def attention_maps(model: nn.Module, clips: torch.Tensor | np.ndarray,
                   description: str | None = None) -> list[LayerAttention]:
    """The maps of every attention unit of recognizer ``model`` (see :func:`attention_units`)
    for clips ``(B, M, T, V, C)``, from one forward pass in the model's current mode (eval for
    inference). The hooks only read, so the pass computes what it would without them; they are
    removed afterwards, also when the pass fails."""
    units = attention_units(model, description)
    weight = next(model.parameters())
    clips = torch.as_tensor(clips, dtype=weight.dtype, device=weight.device)
    if clips.dim() != 5:
        raise ValueError(f"clips must be (B, M, T, V, C), got shape {tuple(clips.shape)}")
    for name, unit in units:
        if unit.A.shape[-1] != clips.shape[3]:
            raise ConfigError(f"the clips have {clips.shape[3]} joints but {name} of "
                              f"{description or type(model).__name__} has a graph of "
                              f"{unit.A.shape[-1]}")
    present = clips.flatten(2).ne(0).any(-1).flatten()  # (B * M,): not a padding person
    rows = present if present.any() else torch.ones_like(present)
    recorded: dict[str, dict[str, np.ndarray]] = {name: {} for name, _ in units}

    def average(name: str, batch: torch.Tensor) -> np.ndarray:
        """``batch`` (B * M, ...) averaged over the rows of the persons present."""
        if len(batch) != len(rows):
            raise ConfigError(f"{name} sees {len(batch)} rows per pass but the clips hold "
                              f"{len(rows)} (clip, person) pairs; attention maps need one row "
                              "per clip and person, as AAGCN's units have")
        return batch[rows].float().mean(0).cpu().numpy()

    def record(name: str, key: str):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            recorded[name][key] = average(name, output).reshape(-1)
        return hook

    def record_graph(name: str):
        def hook(unit: unit_aagcn, inputs: tuple, output: torch.Tensor) -> None:
            graph = unit.A.float().cpu().numpy()
            if unit.adaptive:
                graph = graph + average(name, unit.learned_graphs(inputs[0]))
            recorded[name]["graph"] = graph
        return hook

    handles = []
    try:
        for name, unit in units:
            handles.append(unit.register_forward_hook(record_graph(name)))
            if unit.attention:
                handles.append(unit.spatial_gate.register_forward_hook(record(name, "spatial")))
                handles.append(unit.temporal_gate.register_forward_hook(record(name, "temporal")))
        model(clips)
    finally:
        for handle in handles:
            handle.remove()
    return [LayerAttention(name, recorded[name]["graph"], unit.adaptive,
                           recorded[name].get("spatial"), recorded[name].get("temporal"))
            for name, unit in units]


def draw_attention(maps: Sequence[LayerAttention], layout: Layout | None, path: str | Path,
                   title: str = "") -> None:
    """Write ``maps`` as one PNG at ``path``: a row per layer with its spatial attention (bars
    over the joints, named by ``layout``, or numbered without one), its temporal attention (a
    line over the layer's frames) and its effective graph summed over the subsets (V x V)."""
    if not maps:
        raise ValueError("draw_attention: no attention maps to draw")
    num_joints = maps[0].graph.shape[-1]
    if layout is not None and layout.num_joints != num_joints:
        raise LayoutError(f"layout {layout.name!r} has {layout.num_joints} joints but the "
                          f"attention maps have {num_joints}")
    joints = list(layout.joints) if layout is not None else [str(v) for v in range(num_joints)]
    figure = Figure(figsize=(16, 0.6 + 3.4 * len(maps)), dpi=80, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(maps), 3, squeeze=False, width_ratios=(3, 2, 2))
    for (spatial_axes, temporal_axes, graph_axes), layer in zip(axes, maps, strict=True):
        _draw_spatial(spatial_axes, layer, joints)
        _draw_temporal(temporal_axes, layer)
        _draw_graph(graph_axes, layer, joints)
    if title:
        figure.suptitle(title)
    figure.savefig(path, format="png")


def _draw_spatial(axes: Axes, layer: LayerAttention, joints: list[str]) -> None:
    if layer.spatial is None:
        _no_map(axes, f"{layer.name}: no spatial attention")
        return
    axes.bar(range(len(joints)), layer.spatial, color="C0")
    axes.set_xticks(range(len(joints)), joints, rotation=90, fontsize=7)
    axes.set_ylim(0, 1)
    axes.set_title(f"{layer.name}: spatial attention", fontsize=9)


def _draw_temporal(axes: Axes, layer: LayerAttention) -> None:
    if layer.temporal is None:
        _no_map(axes, "no temporal attention")
        return
    axes.plot(range(len(layer.temporal)), layer.temporal, marker=".", color="C1")
    axes.set_ylim(0, 1)
    axes.set_xlabel(f"frame of this layer (of {len(layer.temporal)})", fontsize=8)
    axes.set_title("temporal attention", fontsize=9)


def _draw_graph(axes: Axes, layer: LayerAttention, joints: list[str]) -> None:
    image = axes.imshow(layer.graph.sum(0), cmap="viridis")
    axes.figure.colorbar(image, ax=axes, shrink=0.8)
    axes.set_xticks(range(len(joints)), joints, rotation=90, fontsize=5)
    axes.set_yticks(range(len(joints)), joints, fontsize=5)
    axes.set_xlabel("to joint", fontsize=8)
    axes.set_ylabel("from joint", fontsize=8)
    kind = "A + learned" if layer.adaptive else "fixed A"
    axes.set_title(f"graph ({kind}), sum of {len(layer.graph)} subsets", fontsize=9)


def _no_map(axes: Axes, text: str) -> None:
    axes.text(0.5, 0.5, text, ha="center", va="center", transform=axes.transAxes)
    axes.set_axis_off()
