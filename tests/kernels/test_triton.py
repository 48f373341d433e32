"""skel_kernels.triton: the Triton kernels of graph_conv (values and all four gradients) and
render_heatmaps equal the PyTorch references, and render_heatmaps also PYSKL's loop, on small
ST-GCN++ / PoseC3D-like inputs, reached through the public wrappers (``impl='triton'``); the ops
pass opcheck and compile with fullgraph; every kernel compiles for a real GPU (sm_90), and the
GPU path's torch ops trace with fake tensors.

Without a GPU the kernels run in Triton's CPU interpreter, which ``TRITON_INTERPRET=1`` selects
when the kernels are defined. The variable is set only while this module imports
skel_kernels.triton and, through an autouse fixture, during this module's tests, so no other
test module sees it. triton itself is imported before that, as another module may have done
(torch._dynamo imports it): the kernels must not depend on when triton was imported. With a
GPU the same comparisons run on CUDA tensors (marker ``gpu``).
"""

from __future__ import annotations

import importlib
import json
import math
import os
import subprocess
import sys
import textwrap

import pytest
import torch

pytest.importorskip("triton")

from skel_apps.benchmark.pyskl_heatmap import pyskl_heatmaps  # noqa: E402
from skel_kernels import graph_conv, graph_conv_reference, render_heatmaps  # noqa: E402

GPU = torch.cuda.is_available()


def _import_triton_backend():
    with pytest.MonkeyPatch.context() as patch:
        if not GPU:
            patch.setenv("TRITON_INTERPRET", "1")
        return importlib.import_module("skel_kernels.triton")


skel_triton = _import_triton_backend()

DEVICES = [
    pytest.param("cpu", marks=pytest.mark.skipif(
        GPU, reason="with a GPU the kernels compile for it instead of the interpreter")),
    pytest.param("cuda", marks=[pytest.mark.gpu,
                                pytest.mark.skipif(not GPU, reason="needs a CUDA device")]),
]
DEVICE = "cuda" if GPU else "cpu"


@pytest.fixture(autouse=True)
def _triton_can_run(monkeypatch):
    """The dispatcher accepts impl='triton' on CPU tensors only under the interpreter."""
    if not GPU:
        monkeypatch.setenv("TRITON_INTERPRET", "1")


def test_kernels_are_interpreted_exactly_when_there_is_no_gpu():
    from triton.runtime.interpreter import InterpretedFunction

    kernel = skel_triton.graph_conv._graph_conv_kernel
    assert isinstance(kernel, InterpretedFunction) == (not GPU), (
        "skel_kernels.triton was imported before this module could set TRITON_INTERPRET"
    )


# graph_conv --------------------------------------------------------------------------------

K = 3  # ST-GCN++'s three adjacency subsets


def graph_conv_inputs(n, c_in, c_out, t, v, *, dtype, device, bias=True, seed=0):
    generator = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=generator, dtype=dtype).to(device)

    return [
        randn(n, c_in, t, v),
        randn(K, c_out, c_in) / c_in**0.5,
        randn(K, v, v) / v**0.5,
        randn(K, c_out) if bias else None,
    ]


def value_and_grads(fn, inputs, grad_out=None):
    """fn(*inputs) and its gradients in every tensor input; ``grad_out`` None: d(sum)/d(...),
    whose incoming gradient is an expanded tensor with zero strides."""
    leaves = [None if t is None else t.detach().clone().requires_grad_() for t in inputs]
    out = fn(*leaves)
    loss = out.sum() if grad_out is None else (out * grad_out).sum()
    return out.detach(), torch.autograd.grad(loss, [t for t in leaves if t is not None])


def assert_close_scaled(actual, expected, rtol):
    """Within rtol, with an absolute floor of rtol times the largest magnitude (sums that cancel
    to about zero have no relative precision)."""
    scale = expected.abs().max().item()
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=rtol * scale)


def assert_graph_conv_matches_reference(inputs, grad_out=None):
    rtol = 1e-4 if inputs[0].dtype == torch.float32 else 1e-10
    out, grads = value_and_grads(lambda *a: graph_conv(*a, impl="triton"), inputs, grad_out)
    ref, ref_grads = value_and_grads(graph_conv_reference, inputs, grad_out)
    assert out.shape == ref.shape and out.dtype == ref.dtype and out.device == ref.device
    assert_close_scaled(out, ref, rtol)
    assert len(grads) == len(ref_grads) == 3 + (inputs[3] is not None)
    for got, want in zip(grads, ref_grads, strict=True):
        assert got.shape == want.shape
        assert_close_scaled(got, want, rtol)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("shape", [
    (2, 5, 9, 4, 7),  # one tile per clip
    (2, 3, 16, 5, 25),  # ST-GCN++'s first layer on NTU's 25 joints (3 frame tiles)
    (1, 40, 36, 4, 17),  # 3 input and 2 output channel tiles, COCO's 17 joints
])
def test_graph_conv_matches_reference(device, dtype, bias, shape):
    inputs = graph_conv_inputs(*shape, dtype=dtype, device=device, bias=bias)
    n, _, c_out, t, v = shape
    generator = torch.Generator().manual_seed(1)
    grad_out = torch.randn(n, c_out, t, v, generator=generator, dtype=dtype).to(device)
    assert_graph_conv_matches_reference(inputs, grad_out)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_graph_conv_backward_with_more_tiles_than_splits(monkeypatch, device, dtype):
    # 3 clips x 3 frame tiles: 9 (clip, frame tile) items, reduced by 2 splits (32 in use, which
    # would take a larger input to exceed).
    monkeypatch.setattr(skel_triton.graph_conv, "_MAX_SPLITS", 2)
    assert_graph_conv_matches_reference(
        graph_conv_inputs(3, 2, 3, 5, 25, dtype=dtype, device=device))


@pytest.mark.parametrize("device", DEVICES)
def test_graph_conv_non_contiguous_inputs_and_gradient(device):
    x, weight, adjacency, bias = graph_conv_inputs(2, 6, 8, 5, 7, dtype=torch.float32,
                                                   device=device)
    strided = [
        x.transpose(1, 2).contiguous().transpose(1, 2),  # (N, C, T, V) stored as (N, T, C, V)
        weight.transpose(1, 2).contiguous().transpose(1, 2),
        adjacency.transpose(1, 2).contiguous().transpose(1, 2),
        torch.stack([bias, bias], dim=-1)[..., 0],  # every other element
    ]
    assert not any(t.is_contiguous() for t in strided)
    assert_graph_conv_matches_reference(strided)  # the sum's gradient has zero strides


@pytest.mark.parametrize("device", DEVICES)
def test_graph_conv_empty_batch(device):
    inputs = graph_conv_inputs(0, 4, 6, 3, 5, dtype=torch.float32, device=device)
    out, (grad_x, grad_weight, grad_adjacency, grad_bias) = value_and_grads(
        skel_triton.graph_conv_triton, inputs)
    assert out.shape == (0, 6, 3, 5) and grad_x.shape == (0, 4, 3, 5)
    assert not grad_weight.any() and not grad_adjacency.any() and not grad_bias.any()


# opcheck's checks but the static-shape AOT one, which the dynamic-shape one covers (each runs
# the interpreted kernels again).
OPCHECKS = ("test_schema", "test_autograd_registration", "test_faketensor",
            "test_aot_dispatch_dynamic")


def test_graph_conv_opcheck():
    x, weight, adjacency, bias = graph_conv_inputs(1, 3, 4, 2, 5, dtype=torch.float64,
                                                   device=DEVICE)
    args = [t.requires_grad_() for t in (x, weight, adjacency, bias)]
    torch.library.opcheck(torch.ops.skel_triton.graph_conv.default, tuple(args),
                          test_utils=OPCHECKS)
    grad_out = torch.randn(1, 4, 2, 5, dtype=torch.float64, device=DEVICE)
    torch.library.opcheck(torch.ops.skel_triton.graph_conv_backward.default,
                          (grad_out, x.detach(), weight.detach(), adjacency.detach(), None),
                          test_utils=OPCHECKS)


@pytest.mark.compile
def test_graph_conv_compiles_with_fullgraph():
    # The interpreter's ops are opaque to the compiler, so the cheap aot_eager backend checks
    # them (fake kernels, autograd); on a GPU inductor compiles through to the kernels.
    compiled = torch.compile(skel_triton.graph_conv_triton, fullgraph=True,
                             backend="inductor" if GPU else "aot_eager")
    inputs = graph_conv_inputs(2, 4, 6, 3, 5, dtype=torch.float32, device=DEVICE)
    out, grads = value_and_grads(compiled, inputs)
    ref, ref_grads = value_and_grads(graph_conv_reference, inputs)
    assert_close_scaled(out, ref, 1e-4)
    for got, want in zip(grads, ref_grads, strict=True):
        assert_close_scaled(got, want, 1e-4)


# render_heatmaps ---------------------------------------------------------------------------


def random_keypoints(rng, shape, size, dtype=torch.float32, margin=6.0):
    """Keypoints over the image and up to ``margin`` pixels beyond it, a fifth of the scores 0,
    a tenth below the default eps."""
    keypoints = rng.uniform(-margin, size + margin, size=(*shape, 2))
    scores = rng.uniform(0, 1, size=shape) * (rng.uniform(size=shape) > 0.2)
    scores[rng.uniform(size=shape) < 0.1] = 5e-4
    return torch.tensor(keypoints, dtype=dtype), torch.tensor(scores, dtype=dtype)


def assert_heatmaps_match(keypoints, scores, height, width, device, *, pyskl=True, **options):
    """Triton == reference (1e-5) and, where PYSKL's loop can take the input, == its port;
    returns Triton's output."""
    out = render_heatmaps(keypoints.to(device), scores.to(device), height=height, width=width,
                          impl="triton", **options)
    reference = render_heatmaps(keypoints, scores, height=height, width=width,
                                impl="reference", **options)
    assert out.dtype == torch.float32 and out.device.type == device
    torch.testing.assert_close(out.cpu(), reference, atol=1e-5, rtol=0)
    if pyskl:
        port = pyskl_heatmaps(keypoints, scores, height, width, **options)
        torch.testing.assert_close(out.cpu(), torch.from_numpy(port), atol=1e-5, rtol=0)
    return out.cpu()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("sigma", [0.05, 0.6, 8.0])  # tiny, PoseC3D's, wider than the image
def test_heatmaps_match_reference_with_keypoints_and_limbs(rng, device, dtype, sigma):
    keypoints, scores = random_keypoints(rng, (2, 2, 2, 5), size=12, dtype=dtype)
    keypoints[0, 0, 0, 3] = keypoints[0, 0, 0, 2] + 0.4  # a limb shorter than one pixel
    keypoints[1, 1, 1, 3] = keypoints[1, 1, 1, 2]  # one of length zero
    limbs = [(0, 1), (1, 2), (2, 3), (4, 4)]  # (4, 4) has zero length in every frame
    out = assert_heatmaps_match(keypoints, scores, 11, 13, device, sigma=sigma, limbs=limbs)
    assert out.shape == (2, 5 + 4, 2, 11, 13)
    assert out.amax() > 0.1


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape, options", [
    ((2, 1, 1, 3), {}),  # T = 1, M = 1, no limbs
    ((1, 3, 2, 3), {"limbs": [(0, 1), (2, 0)], "with_keypoints": False}),
    ((1, 2, 2, 3), {"limbs": [(0, 1)], "eps": 0.5}),
], ids=["single-frame", "limbs-only", "high-eps"])
def test_heatmaps_channel_options_match_reference(rng, device, shape, options):
    keypoints, scores = random_keypoints(rng, shape, size=9)
    out = assert_heatmaps_match(keypoints, scores, 9, 10, device, **options)
    channels = 3 * options.get("with_keypoints", True) + len(options.get("limbs", ()))
    assert out.shape == (shape[0], channels, shape[2], 9, 10)


@pytest.mark.parametrize("device", DEVICES)
def test_heatmaps_of_one_keypoint_are_its_gaussian_in_pyskl_window(device):
    # (3.0, 2.0) with sigma 0.6: the window is columns int(1.2) = 1 to int(4.8) = 4 and rows
    # int(0.2) = 0 to int(3.8) = 3; x = -2.3 reaches column int(-0.5) = 0 (truncation).
    keypoints = torch.tensor([[3.0, 2.0], [-2.3, 2.0]]).reshape(1, 1, 1, 2, 2)
    scores = torch.tensor([0.8, 0.5]).reshape(1, 1, 1, 2)
    out = skel_triton.render_heatmaps_triton(keypoints.to(device), scores.to(device), 5, 6,
                                             0.6, None, True, 1e-3).cpu()
    rows, columns = torch.meshgrid(torch.arange(5.0), torch.arange(6.0), indexing="ij")
    gaussian = 0.8 * torch.exp(-((columns - 3) ** 2 + (rows - 2) ** 2) / (2 * 0.6**2))
    inside = (columns >= 1) & (columns <= 4) & (rows <= 3)
    torch.testing.assert_close(out[0, 0, 0], torch.where(inside, gaussian, 0), atol=1e-7,
                               rtol=1e-6)
    expected_column = 0.5 * torch.exp(-((2.3**2) + (torch.arange(5.0) - 2) ** 2) / 0.72)
    torch.testing.assert_close(out[0, 1, 0, :4, 0], expected_column[:4], atol=1e-7, rtol=1e-6)
    assert not out[0, 1, 0, 4].any() and not out[0, 1, 0, :, 1:].any()


@pytest.mark.parametrize("device", DEVICES)
def test_heatmaps_without_persons_are_zero(device):
    keypoints, scores = torch.zeros(2, 0, 3, 4, 2), torch.zeros(2, 0, 3, 4)
    out = assert_heatmaps_match(keypoints, scores, 5, 7, device, pyskl=False, limbs=[(0, 1)])
    assert out.shape == (2, 5, 3, 5, 7) and not out.any()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.filterwarnings("ignore:.*encountered in:RuntimeWarning")  # the interpreter's numpy
def test_heatmaps_non_finite_and_far_keypoints_draw_nothing(device):
    keypoints = torch.tensor([[-1e30, 3.0], [3.0, 1e9], [math.nan, 2.0], [2.0, 2.0],
                              [3.0, 3.0], [2.0, 2.0]]).reshape(1, 1, 1, 6, 2)
    scores = torch.tensor([1.0, 1.0, 1.0, 1.0, math.nan, math.inf]).reshape(1, 1, 1, 6)
    limbs = [(0, 1), (2, 3), (4, 5), (2, 5), (3, 3)]
    out = assert_heatmaps_match(keypoints, scores, 6, 6, device, pyskl=False, limbs=limbs)
    drawn = [channel for channel in range(11) if out[0, channel].any()]
    assert drawn == [3, 10]  # keypoint 3 and the zero-length limb (3, 3), nothing else


@pytest.mark.parametrize("device", DEVICES)
def test_heatmaps_non_contiguous_keypoints(rng, device):
    keypoints, scores = random_keypoints(rng, (2, 3, 2, 4), size=8)
    keypoints, scores = keypoints.transpose(0, 2), scores.transpose(0, 2)  # (T, M, N, ...)
    assert not keypoints.is_contiguous()
    assert_heatmaps_match(keypoints, scores, 8, 8, device, limbs=torch.tensor([[0, 3]]))


def test_heatmaps_opcheck(rng):
    keypoints, scores = random_keypoints(rng, (1, 2, 2, 3), size=6)
    limbs = torch.tensor([[0, 1], [2, 2]], device=DEVICE)
    for limb_arg in (limbs, None):
        torch.library.opcheck(torch.ops.skel_triton.render_heatmaps.default,
                              (keypoints.to(DEVICE), scores.to(DEVICE), 6, 7, 0.6, limb_arg,
                               True, 1e-3), test_utils=OPCHECKS)


@pytest.mark.compile
def test_heatmaps_compile_with_fullgraph(rng):
    keypoints, scores = random_keypoints(rng, (1, 2, 2, 3), size=6)
    limbs = torch.tensor([[0, 1]], device=DEVICE)

    def render(points, weights):
        return skel_triton.render_heatmaps_triton(points, weights, 6, 7, 0.6, limbs, True, 1e-3)

    compiled = torch.compile(render, fullgraph=True, backend="inductor" if GPU else "eager")
    out = compiled(keypoints.to(DEVICE), scores.to(DEVICE))
    reference = render_heatmaps(keypoints, scores, height=6, width=7, limbs=limbs.cpu(),
                                impl="reference")
    torch.testing.assert_close(out.cpu(), reference, atol=1e-5, rtol=0)


# compiling for a GPU -----------------------------------------------------------------------

# Compiles every kernel for sm_90 (PTX and cubin, with the ptxas that triton ships) in a fresh
# Python without TRITON_INTERPRET, with the launch configurations the ops use, so a kernel that
# only the interpreter accepts (a dot smaller than 16, an unsupported dtype, a layout the GPU
# backend cannot lower) fails here.
_AOT_SCRIPT = textwrap.dedent("""
    import json, sys
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
    from skel_kernels.triton import graph_conv, heatmaps

    def compile_for_sm90(kernel, pointers, config):
        constants = {name: value for name, value in config.items() if name.isupper()}
        signature = {name: pointers.get(name, "i32") for name in kernel.arg_names}
        signature.update({name: "constexpr" for name in constants})
        constexprs = {(kernel.arg_names.index(name),): value for name, value in constants.items()}
        source = ASTSource(fn=kernel, signature=signature, constexprs=constexprs)
        options = {"num_warps": config.get("num_warps", 4)}
        compiled = triton.compile(source, target=GPUTarget("cuda", 90, 32), options=options)
        return len(compiled.asm["cubin"]) > 0

    # The launch configurations of an ST-GCN++ layer on NTU (64 channels, 100 frames, 25
    # joints) and of PoseC3D's 56 x 56 maps.
    gcn_config = graph_conv.launch_config(64, 64, 100, 25)
    heatmap_config = heatmaps.launch_config(56, 56)
    graph_conv_kernels = {
        graph_conv._graph_conv_kernel: ("x", "weight", "adjacency", "bias", "out"),
        graph_conv._weight_grad_kernel: ("grad", "x", "adjacency", "weight_part", "bias_part"),
        graph_conv._adjacency_grad_kernel: ("grad", "x", "weight", "bias", "part"),
    }
    results = {}
    # Every kernel in float32 with a bias; float64 (whose tl.dot lowers differently) without.
    for dtype, bias, kernels in (("fp32", True, list(graph_conv_kernels)),
                                 ("fp64", False, [graph_conv._graph_conv_kernel])):
        for kernel in kernels:
            types = {name + "_ptr": "*" + dtype for name in graph_conv_kernels[kernel]}
            results[kernel.__name__ + " " + dtype] = compile_for_sm90(
                kernel, types, {"HAS_BIAS": bias, **gcn_config})
        types = {"keypoints_ptr": "*" + dtype, "scores_ptr": "*" + dtype,
                 "params_ptr": "*" + dtype, "limbs_ptr": "*i64", "out_ptr": "*fp32"}
        results["_heatmap_kernel " + dtype] = compile_for_sm90(
            heatmaps._heatmap_kernel, types, heatmap_config)

    # The GPU path's ops are triton_ops, whose launchers are their own fake kernels: under fake
    # tensors they run without launching anything and give the outputs' shapes.
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    ops = torch.ops.skel_triton
    with FakeTensorMode():
        x, weight, adjacency = torch.empty(2, 3, 4, 5), torch.empty(3, 6, 3), torch.empty(3, 5, 5)
        grads = ops.graph_conv_backward(torch.empty(2, 6, 4, 5), x, weight, adjacency, None)
        heatmap = ops.render_heatmaps(torch.empty(2, 1, 3, 4, 2), torch.empty(2, 1, 3, 4), 7, 9,
                                      0.6, torch.zeros(1, 2, dtype=torch.int64), True, 1e-3)
        results["fake graph_conv"] = (
            list(ops.graph_conv(x, weight, adjacency, torch.empty(3, 6)).shape) == [2, 6, 4, 5])
        results["fake graph_conv_backward"] = (
            [list(grad.shape) for grad in grads] == [[2, 3, 4, 5], [3, 6, 3], [3, 5, 5], [3, 6]])
        results["fake render_heatmaps"] = list(heatmap.shape) == [2, 5, 3, 7, 9]
    json.dump(results, sys.stdout)
""")


def test_every_kernel_compiles_for_sm90_and_traces_with_fake_tensors():
    environment = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    done = subprocess.run([sys.executable, "-c", _AOT_SCRIPT], env=environment,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout)
    assert len(results) == 9 and all(results.values()), results
