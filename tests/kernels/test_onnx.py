"""skel_kernels.onnx: modules calling graph_conv and render_heatmaps export to ONNX with a dynamic
batch and clip length. The default graph holds only standard ONNX ops, and onnxruntime's outputs
match the PyTorch module's (compiled kernels) at several shapes; with custom_ops=True the graph
keeps one skel-domain node per op call, with the right inputs and attributes, that the ONNX
checker validates against the registered schemas; the runner refuses skel nodes it cannot run."""

from __future__ import annotations

import pytest
import torch

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")

from skel_kernels import graph_conv, render_heatmaps  # noqa: E402
from skel_kernels.onnx import DOMAIN_VERSION, export_onnx, run_onnx  # noqa: E402

STANDARD_DOMAINS = ("", "ai.onnx")
BATCH, FRAMES = torch.export.Dim("batch"), torch.export.Dim("frames")
HEIGHT, WIDTH, SIGMA, EPS = 9, 7, 0.75, 1e-3
LIMBS = ((0, 1), (1, 2), (2, 3), (3, 3))  # (3, 3) is shorter than a pixel: drawn as a keypoint
JOINTS = 4


class GraphConvNet(torch.nn.Module):
    """graph_conv between two standard ops, like a GCN block."""

    def __init__(self, bias: bool, joints: int = 5, subsets: int = 3, c_in: int = 4,
                 c_out: int = 6) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.weight = torch.nn.Parameter(torch.randn(subsets, c_out, c_in, generator=generator)
                                         / c_in**0.5)
        adjacency = torch.rand(subsets, joints, joints, generator=generator)
        self.adjacency = torch.nn.Parameter(adjacency / adjacency.sum(dim=1, keepdim=True))
        self.bias = (torch.nn.Parameter(torch.randn(subsets, c_out, generator=generator))
                     if bias else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(graph_conv(x * 2, self.weight, self.adjacency, self.bias))


class HeatmapNet(torch.nn.Module):
    """render_heatmaps of keypoints (and limbs, held as a buffer) followed by a standard op."""

    def __init__(self, limbs: tuple[tuple[int, int], ...] | None, with_keypoints: bool) -> None:
        super().__init__()
        self.with_keypoints = with_keypoints
        self.register_buffer("limbs", None if limbs is None else torch.tensor(limbs))

    def forward(self, keypoints: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        maps = render_heatmaps(keypoints, scores, height=HEIGHT, width=WIDTH, sigma=SIGMA,
                               limbs=self.limbs, with_keypoints=self.with_keypoints, eps=EPS)
        return maps * 2


def _features(batch: int, frames: int, seed: int) -> torch.Tensor:
    return torch.randn(batch, 4, frames, 5, generator=torch.Generator().manual_seed(seed))


def _poses(batch: int, frames: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Keypoints inside and a little outside the maps, some scores below EPS, one limb short."""
    generator = torch.Generator().manual_seed(seed)
    persons = 2
    low = torch.tensor([-2.0, -2.0])
    span = torch.tensor([WIDTH + 4.0, HEIGHT + 4.0])
    keypoints = low + span * torch.rand(batch, persons, frames, JOINTS, 2, generator=generator)
    keypoints[..., 3, :] = keypoints[..., 2, :] + 0.3
    scores = torch.rand(batch, persons, frames, JOINTS, generator=generator)
    scores[..., 0, :, 1] = 0.0
    return keypoints, scores


def _graph_conv_export(bias: bool, custom_ops: bool, path=None):
    module = GraphConvNet(bias).eval()
    proto = export_onnx(module, (_features(2, 6, seed=1),), path, custom_ops=custom_ops,
                        dynamic_shapes={"x": {0: BATCH, 2: FRAMES}})
    return module, proto


def _heatmap_export(limbs, with_keypoints: bool, custom_ops: bool):
    module = HeatmapNet(limbs, with_keypoints)
    dims = {0: BATCH, 2: FRAMES}
    proto = export_onnx(module, _poses(2, 3, seed=1), custom_ops=custom_ops,
                        dynamic_shapes={"keypoints": dims, "scores": dims},
                        input_names=["keypoints", "scores"], output_names=["heatmaps"])
    return module, proto


def _domains_and_types(proto) -> list[tuple[str, str]]:
    return [(node.domain, node.op_type) for node in proto.graph.node]


def _skel_nodes(proto) -> list:
    return [node for node in proto.graph.node if node.domain == "skel"]


def _attributes(node) -> dict:
    return {attribute.name: onnx.helper.get_attribute_value(attribute)
            for attribute in node.attribute}


def _opsets(proto) -> dict[str, int]:
    return {opset.domain: opset.version for opset in proto.opset_import}


def _initializer(proto, name: str):
    matches = [init for init in proto.graph.initializer if init.name == name]
    assert len(matches) == 1, f"no initializer {name}"
    return onnx.numpy_helper.to_array(matches[0]).copy()


@pytest.fixture(scope="module", params=[True, False], ids=["bias", "no_bias"])
def lowered_graph_conv(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "graph_conv.onnx"
    module, proto = _graph_conv_export(request.param, custom_ops=False, path=path)
    return module, proto, path


@pytest.fixture(scope="module")
def lowered_heatmaps():
    return _heatmap_export(LIMBS, with_keypoints=True, custom_ops=False)


def test_graph_conv_lowered_to_standard_ops(lowered_graph_conv):
    _, proto, _ = lowered_graph_conv
    nodes = _domains_and_types(proto)
    assert all(domain in STANDARD_DOMAINS for domain, _ in nodes), nodes
    op_types = {op_type for _, op_type in nodes}
    assert {"Einsum", "Relu"} <= op_types and op_types & {"Conv", "MatMul"}, op_types
    assert set(_opsets(proto)) <= set(STANDARD_DOMAINS)
    assert _opsets(proto)[""] == 18
    onnx.checker.check_model(proto, full_check=True)


def test_graph_conv_lowered_runs_in_onnxruntime(lowered_graph_conv):
    module, proto, path = lowered_graph_conv
    for batch, frames, seed in ((1, 6, 2), (3, 9, 3)):
        x = _features(batch, frames, seed)
        with torch.no_grad():
            expected = module(x)
        (from_proto,) = run_onnx(proto, [x])
        (from_file,) = run_onnx(path, [x.numpy()])
        assert from_proto.shape == (batch, 6, frames, 5)
        assert abs(torch.from_numpy(from_proto) - expected).max().item() < 1e-5
        assert abs(torch.from_numpy(from_file) - expected).max().item() < 1e-5


def test_heatmaps_lowered_to_standard_ops_and_run(lowered_heatmaps):
    module, proto = lowered_heatmaps
    nodes = _domains_and_types(proto)
    assert all(domain in STANDARD_DOMAINS for domain, _ in nodes), nodes
    assert {"Exp", "ReduceMax"} <= {op_type for _, op_type in nodes}
    assert [i.name for i in proto.graph.input] == ["keypoints", "scores"]
    assert [o.name for o in proto.graph.output] == ["heatmaps"]
    onnx.checker.check_model(proto, full_check=True)
    for batch, frames, seed in ((1, 3, 2), (3, 5, 3)):
        keypoints, scores = _poses(batch, frames, seed)
        expected = module(keypoints, scores)
        (maps,) = run_onnx(proto, [keypoints, scores])
        assert maps.shape == (batch, JOINTS + len(LIMBS), frames, HEIGHT, WIDTH)
        assert expected.amax() > 1.0  # maps * 2: something was drawn
        assert abs(torch.from_numpy(maps) - expected).max().item() < 1e-5


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_graph_conv_custom_node(bias):
    module, proto = _graph_conv_export(bias, custom_ops=True)
    nodes = _domains_and_types(proto)
    assert ("skel", "GraphConv") in nodes
    assert not {"Conv", "Einsum", "MatMul"} & {op_type for _, op_type in nodes}, nodes
    (node,) = _skel_nodes(proto)
    assert _attributes(node) == {}
    expected_inputs = 4 if bias else 3
    assert len([name for name in node.input if name]) == expected_inputs
    torch.testing.assert_close(torch.from_numpy(_initializer(proto, node.input[1])),
                               module.weight.detach())
    torch.testing.assert_close(torch.from_numpy(_initializer(proto, node.input[2])),
                               module.adjacency.detach())
    if bias:
        torch.testing.assert_close(torch.from_numpy(_initializer(proto, node.input[3])),
                                   module.bias.detach())
    assert _opsets(proto) == {"": 18, "skel": DOMAIN_VERSION}
    output_dims = proto.graph.output[0].type.tensor_type.shape.dim
    assert output_dims[0].dim_param and output_dims[2].dim_param  # batch and T stay dynamic
    assert [dim.dim_value for dim in output_dims[1::2]] == [6, 5]
    onnx.checker.check_model(proto, full_check=True)


@pytest.mark.parametrize(
    ("limbs", "with_keypoints"), [(LIMBS, False), (None, True)], ids=["limbs", "keypoints"]
)
def test_heatmaps_custom_node(limbs, with_keypoints):
    _, proto = _heatmap_export(limbs, with_keypoints, custom_ops=True)
    nodes = _domains_and_types(proto)
    assert not {"Exp", "ReduceMax", "Where"} & {op_type for _, op_type in nodes}, nodes
    (node,) = _skel_nodes(proto)
    assert node.op_type == "RenderHeatmaps"
    attributes = _attributes(node)
    assert attributes.keys() == {"height", "width", "sigma", "with_keypoints", "eps"}
    assert (attributes["height"], attributes["width"]) == (HEIGHT, WIDTH)
    assert attributes["with_keypoints"] == int(with_keypoints)
    assert attributes["sigma"] == pytest.approx(SIGMA) and attributes["eps"] == pytest.approx(EPS)
    assert list(node.input[:2]) == ["keypoints", "scores"]
    if limbs is None:
        assert [name for name in node.input[2:] if name] == []
    else:
        assert _initializer(proto, node.input[2]).tolist() == [list(pair) for pair in limbs]
    channels = (JOINTS if with_keypoints else 0) + (0 if limbs is None else len(limbs))
    output_dims = proto.graph.output[0].type.tensor_type.shape.dim
    assert [dim.dim_value for dim in output_dims[1:]] == [channels, 0, HEIGHT, WIDTH]
    assert _opsets(proto)["skel"] == DOMAIN_VERSION
    onnx.checker.check_model(proto, full_check=True)

    # The registered schema makes the checker validate skel nodes too.
    del node.attribute[[attribute.name for attribute in node.attribute].index("width")]
    with pytest.raises(onnx.checker.ValidationError, match="width"):
        onnx.checker.check_model(proto)


def test_run_onnx_refuses_skel_nodes_without_a_library(tmp_path):
    graph_input = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4, 3, 5])
    output = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4, 3, 5])
    node = onnx.helper.make_node("GraphConv", ["x", "x", "x"], ["y"], domain="skel")
    proto = onnx.helper.make_model(
        onnx.helper.make_graph([node], "g", [graph_input], [output]),
        opset_imports=[onnx.helper.make_opsetid("", 18), onnx.helper.make_opsetid("skel", 1)],
    )
    path = tmp_path / "custom.onnx"
    onnx.save(proto, path)
    inputs = [_features(1, 3, seed=0)]
    for model in (proto, path):
        with pytest.raises(ValueError, match=r"skel\.GraphConv.*custom_op_library"):
            run_onnx(model, inputs)
    missing = tmp_path / "libskel_onnxruntime.so"
    with pytest.raises(FileNotFoundError, match="libskel_onnxruntime.so"):
        run_onnx(proto, inputs, custom_op_library=missing)


def test_run_onnx_names_the_inputs_it_needs(lowered_heatmaps):
    _, proto = lowered_heatmaps
    with pytest.raises(ValueError, match=r"takes 2 inputs \['keypoints', 'scores'\], got 1"):
        run_onnx(proto, [_poses(1, 3, seed=0)[0]])


def test_export_rejects_bad_arguments():
    module = GraphConvNet(bias=False)
    with pytest.raises(ValueError, match=r"opset must be at least 18 .*got 17"):
        export_onnx(module, (_features(1, 4, seed=0),), opset=17)
    with pytest.raises(TypeError, match="args must be a tuple.*Tensor"):
        export_onnx(module, _features(1, 4, seed=0))
