"""skel-infer's attention maps of a tiny AAGCN (COCO, 3 stages of 8/8/16 channels, T = 16 halved
after stage 2, so the third unit sees 8 frames): the recorded masks and graphs equal an
independent re-implementation of the unit on the unit's input, averaged over the persons
present; recording leaves the model's output and hooks as they were; models without attention
units are refused by name; the drawing is a PNG that grows with the number of layers."""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from torch import nn

from skel_apps.infer.attention import (
    LayerAttention,
    attention_maps,
    attention_units,
    draw_attention,
)
from skel_core.errors import ConfigError, LayoutError
from skel_core.layouts import get_layout
from skel_models import AAGCN, STGCN, GCNHead, RecognizerGCN
from skel_models.units import unit_aagcn

COCO = dict(layout="coco", mode="spatial")
UNITS = ["backbone.gcn.0.gcn", "backbone.gcn.1.gcn", "backbone.gcn.2.gcn"]


def _tiny_aagcn(**options) -> RecognizerGCN:
    torch.manual_seed(0)
    backbone = AAGCN(COCO, base_channels=8, num_stages=3, inflate_stages=[3], down_stages=[2],
                     **options)
    model = RecognizerGCN(backbone, GCNHead(num_classes=5, in_channels=16)).eval()
    with torch.no_grad():  # move the terms that start at zero so that every map varies
        for unit in model.modules():
            if isinstance(unit, unit_aagcn):
                if unit.adaptive:
                    unit.alpha.fill_(0.7)
                if unit.attention:
                    for layer in (unit.conv_ta, unit.fc2c):
                        layer.weight.normal_(0, 0.3)
                        layer.bias.normal_(0, 0.3)
    return model


@pytest.fixture(scope="module")
def model() -> RecognizerGCN:
    return _tiny_aagcn()


@pytest.fixture
def clips(rng) -> torch.Tensor:
    """Two clips of two persons; the second person of the second clip is padding (zeros)."""
    x = torch.from_numpy(rng.normal(size=(2, 2, 16, 17, 3)).astype("float32"))
    x[1, 1] = 0
    return x


def _reference_maps(unit: unit_aagcn, x: torch.Tensor):
    """The unit's per-row graphs (N, K, V, V) and spatial (N, V) and temporal (N, T) masks,
    from its parameters as the MS-AAGCN paper writes the unit (per subset, unfused)."""
    n, c, t, v = x.shape
    graphs, y = [], 0
    for i in range(unit.num_subset):
        theta = unit.conv_a[i](x).permute(0, 3, 1, 2).reshape(n, v, -1)  # N, V, C_inter * T
        phi = unit.conv_b[i](x).reshape(n, -1, v)  # N, C_inter * T, V
        graph = unit.A[i] + unit.alpha * torch.tanh(theta @ phi / theta.shape[-1])
        graphs.append(graph)
        y = y + unit.conv_d[i]((x.reshape(n, c * t, v) @ graph).reshape(n, c, t, v))
    y = torch.relu(unit.bn(y) + (x if unit.down is None else unit.down(x)))
    spatial = torch.sigmoid(unit.conv_sa(y.mean(2)))[:, 0]  # N, V
    y = y + y * spatial[:, None, None, :]
    temporal = torch.sigmoid(unit.conv_ta(y.mean(3)))[:, 0]  # N, T
    return torch.stack(graphs, 1), spatial, temporal


def _unit_inputs(model: nn.Module, clips: torch.Tensor) -> dict[str, torch.Tensor]:
    inputs, handles = {}, []
    for name, unit in model.named_modules():
        if isinstance(unit, unit_aagcn):
            handles.append(unit.register_forward_pre_hook(
                lambda module, args, name=name: inputs.__setitem__(name, args[0])))
    with torch.no_grad():
        model(clips)
    for handle in handles:
        handle.remove()
    return inputs


def test_maps_equal_a_reimplementation_averaged_over_present_persons(model, clips):
    maps = attention_maps(model, clips)
    assert [layer.name for layer in maps] == UNITS
    units = dict(model.named_modules())
    present = [0, 1, 2]  # rows (clip, person) = (0, 0), (0, 1), (1, 0); (1, 1) is padding
    for layer, (name, x) in zip(maps, _unit_inputs(model, clips).items(), strict=True):
        assert layer.name == name and layer.adaptive
        frames = 16 if name != UNITS[2] else 8
        assert layer.graph.shape == (3, 17, 17)
        assert layer.spatial.shape == (17,) and layer.temporal.shape == (frames,)
        with torch.no_grad():
            graphs, spatial, temporal = _reference_maps(units[name], x)
        for got, rows in ((layer.graph, graphs), (layer.spatial, spatial),
                          (layer.temporal, temporal)):
            torch.testing.assert_close(torch.from_numpy(got), rows[present].mean(0),
                                       rtol=1e-5, atol=1e-6)
            assert not torch.allclose(torch.from_numpy(got), rows.mean(0), atol=1e-4)


def test_recording_changes_neither_the_output_nor_the_hooks(model, clips):
    with torch.no_grad():
        expected = model(clips)
    outputs = []
    handle = model.register_forward_hook(lambda module, args, output: outputs.append(output))
    attention_maps(model, clips)
    handle.remove()
    assert torch.equal(outputs[0], expected)
    for name, module in model.named_modules():
        assert not module._forward_hooks and not module._forward_pre_hooks, name


def test_units_without_attention_or_adaptive_graph_give_partial_maps(clips):
    fixed = _tiny_aagcn(gcn_adaptive=False)
    maps = attention_maps(fixed, clips)
    for layer, unit in zip(maps, attention_units(fixed), strict=True):
        assert not layer.adaptive and layer.spatial is not None
        assert torch.equal(torch.from_numpy(layer.graph), unit[1].A)
    no_masks = attention_maps(_tiny_aagcn(gcn_attention=False), clips)
    assert [(m.adaptive, m.spatial, m.temporal) for m in no_masks] == [(True, None, None)] * 3


@pytest.mark.parametrize("backbone", ["stgcn", "aagcn_plain"])
def test_models_without_attention_units_are_refused(backbone, clips):
    if backbone == "stgcn":
        net = STGCN(COCO, base_channels=8, num_stages=2)
    else:
        net = AAGCN(COCO, base_channels=8, num_stages=2, gcn_adaptive=False, gcn_attention=False)
    model = RecognizerGCN(net, GCNHead(num_classes=5, in_channels=8))
    with pytest.raises(ConfigError, match=r"^RecognizerGCN \(backbone X\) has no attention "
                       r"maps: only models with attention units \(AAGCN\) do$"):
        attention_maps(model, clips, "RecognizerGCN (backbone X)")
    with pytest.raises(ConfigError, match="^RecognizerGCN has no attention maps"):
        attention_units(model)


def test_clips_that_do_not_fit_the_model_are_refused(model, clips):
    with pytest.raises(ConfigError, match="the clips have 18 joints but backbone.gcn.0.gcn of "
                       "tiny has a graph of 17"):
        attention_maps(model, torch.zeros(1, 2, 16, 18, 3), "tiny")
    with pytest.raises(ValueError, match=r"clips must be \(B, M, T, V, C\), got shape"):
        attention_maps(model, clips[0])


def test_units_that_mix_persons_are_refused(clips):
    class PersonsAsChannels(nn.Module):  # one row per clip, persons folded into channels
        def __init__(self):
            super().__init__()
            self.unit = unit_aagcn(6, 8, torch.eye(17).expand(3, 17, 17))

        def forward(self, x):
            return self.unit(x.permute(0, 1, 4, 2, 3).flatten(1, 2))

    model = PersonsAsChannels()
    with pytest.raises(ConfigError, match="unit sees 2 rows per pass but the clips hold 4 "):
        attention_maps(model, clips)
    assert not model.unit._forward_hooks and not model.unit.spatial_gate._forward_hooks


def test_drawing_is_a_png_that_grows_with_the_layers(model, clips, tmp_path):
    maps = attention_maps(model, clips)
    sizes = []
    for count in (1, 3):
        path = tmp_path / f"{count}.png"
        draw_attention(maps[:count], get_layout("coco"), path, title="tiny AAGCN")
        with Image.open(path) as image:
            assert image.format == "PNG"
            sizes.append(image.size)
    assert sizes[0][0] == sizes[1][0] and sizes[1][1] > 2 * sizes[0][1]
    no_masks = LayerAttention("u", maps[0].graph, True, None, None)
    draw_attention([no_masks], None, tmp_path / "plain.png")  # joints numbered, no masks
    with Image.open(tmp_path / "plain.png") as image:
        assert image.size == sizes[0]


def test_drawing_refuses_a_layout_of_other_joints(model, clips, tmp_path):
    maps = attention_maps(model, clips)
    with pytest.raises(LayoutError, match="layout 'nturgb\\+d' has 25 joints but the attention "
                       "maps have 17"):
        draw_attention(maps, get_layout("nturgb+d"), tmp_path / "a.png")
    with pytest.raises(ValueError, match="no attention maps to draw"):
        draw_attention([], None, tmp_path / "a.png")
