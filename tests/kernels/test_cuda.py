"""The CUDA kernels of skel::graph_conv, skel::_graph_conv_backward and skel::render_heatmaps.

Two halves:

* Everywhere (no GPU needed): the code the CUDA kernels run per element lives in
  ``csrc/graph_conv_math.h`` and ``csrc/heatmap_math.h``, plain C++ marked host-and-device. Here
  it is compiled with the host compiler into a small library, run through a serial executor in
  place of the CUDA launches, and compared with the PyTorch references: the GPU's schedules,
  index math and per-pixel path, minus only the launch (grid-stride loop, block-sum tree).
* With a GPU (``gpu`` marker, skipped with the reason otherwise): the built CUDA kernels against
  the references (forward and four gradients within 1e-4 in float32, gradcheck in float64,
  heatmaps within 1e-5), opcheck, the current stream, and device checks.

That every ``.cu`` file compiles is checked by tests/kernels/test_cmake_build.py.
"""

from __future__ import annotations

import ctypes
import math
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

import skel_kernels
from skel_kernels import graph_conv, graph_conv_reference, render_heatmaps

CSRC = Path(__file__).resolve().parents[2] / "packages" / "skel-kernels" / "csrc"
OPS = ("graph_conv", "_graph_conv_backward", "render_heatmaps")
HAS_CUDA_KERNELS = all(
    torch._C._dispatch_has_kernel_for_dispatch_key(f"skel::{op}", "CUDA") for op in OPS
)
gpu = pytest.mark.gpu
needs_gpu = pytest.mark.skipif(
    not (torch.cuda.is_available() and HAS_CUDA_KERNELS),
    reason="needs a CUDA GPU and skel_kernels built with its CUDA kernels "
    f"(GPU visible: {torch.cuda.is_available()}, CUDA kernels built: {HAS_CUDA_KERNELS})",
)

# The CUDA schedules of graph_conv_math.h and the per-pixel path of heatmap_math.h, run serially
# on the host. Serial.for_each/sum stand in for cuda::Launcher's kernels.
HOST_HARNESS = r"""
#include "graph_conv_math.h"
#include "heatmap_math.h"

namespace {

namespace gc = skel::graph_conv;

struct Serial {
  template <typename Step>
  void for_each(int64_t count, const Step& step) const {
    for (int64_t i = 0; i < count; ++i) step(i);
  }
  template <typename scalar_t, typename Term>
  void sum(int64_t outputs, int64_t terms, const Term& term, scalar_t* out) const {
    for (int64_t e = 0; e < outputs; ++e) {
      scalar_t total = 0;
      for (int64_t r = 0; r < terms; ++r) total += term(e, r);
      out[e] = total;
    }
  }
};

// dims: n, c_in, c_out, t, v, k
gc::Dims dims_of(const int64_t* s) { return {s[0], s[1], s[2], s[3], s[4], s[5]}; }

template <typename T>
void forward(const T* x, const T* w, const T* a, const T* b, const int64_t* s, T* out, T* ws) {
  gc::forward(Serial{}, gc::Operands<T>{x, w, a, b, dims_of(s)}, out, ws);
}

template <typename T>
void backward(const T* g, const T* x, const T* w, const T* a, const T* b, const int64_t* s,
              T* gx, T* gw, T* ga, T* gb, T* ws) {
  gc::backward(Serial{}, gc::Operands<T>{x, w, a, b, dims_of(s)}, g, gx, gw, ga, gb, ws);
}

// sizes: num_persons, num_frames, num_keypoints, keypoint_channels, num_channels, height, width
template <typename T>
void render(const T* points, const T* scores, const int64_t* limbs, const int64_t* s,
            double sigma, double eps, int64_t count, float* out) {
  const skel::heatmap::Scene<T> scene{
      points, scores, limbs, s[0], s[1], s[2], s[3], s[4], s[5], s[6],
      {static_cast<T>(3 * sigma), static_cast<T>(2 * sigma * sigma), static_cast<T>(eps)}};
  Serial{}.for_each(count, [&](int64_t i) { out[i] = scene.pixel(i); });
}

}  // namespace

extern "C" {
int aggregate_joints_first(const int64_t* s) { return gc::aggregate_joints_first(dims_of(s)); }
int backward_through_input_channels(const int64_t* s) {
  return gc::backward_through_input_channels(dims_of(s));
}
int64_t forward_workspace_size(const int64_t* s) { return gc::forward_workspace_size(dims_of(s)); }
int64_t backward_workspace_size(const int64_t* s) {
  return gc::backward_workspace_size(dims_of(s));
}
void forward_float32(const float* x, const float* w, const float* a, const float* b,
                     const int64_t* s, float* out, float* ws) { forward(x, w, a, b, s, out, ws); }
void forward_float64(const double* x, const double* w, const double* a, const double* b,
                     const int64_t* s, double* out, double* ws) {
  forward(x, w, a, b, s, out, ws);
}
void backward_float32(const float* g, const float* x, const float* w, const float* a,
                      const float* b, const int64_t* s, float* gx, float* gw, float* ga,
                      float* gb, float* ws) { backward(g, x, w, a, b, s, gx, gw, ga, gb, ws); }
void backward_float64(const double* g, const double* x, const double* w, const double* a,
                      const double* b, const int64_t* s, double* gx, double* gw, double* ga,
                      double* gb, double* ws) { backward(g, x, w, a, b, s, gx, gw, ga, gb, ws); }
void render_float32(const float* p, const float* sc, const int64_t* l, const int64_t* s,
                    double sigma, double eps, int64_t count, float* out) {
  render(p, sc, l, s, sigma, eps, count, out);
}
void render_float64(const double* p, const double* sc, const int64_t* l, const int64_t* s,
                    double sigma, double eps, int64_t count, float* out) {
  render(p, sc, l, s, sigma, eps, count, out);
}
}
"""


@pytest.fixture(scope="module")
def host(tmp_path_factory) -> ctypes.CDLL:
    """The host build of the CUDA kernels' shared math (see HOST_HARNESS)."""
    compiler = shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        pytest.skip("needs a C++ compiler to build the CUDA math for the host")
    build = tmp_path_factory.mktemp("cuda_math_on_host")
    source, library = build / "harness.cpp", build / "harness.so"
    source.write_text(HOST_HARNESS)
    command = [compiler, "-std=c++20", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
               f"-I{CSRC}", str(source), "-o", str(library)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lib = ctypes.CDLL(str(library))
    for name in ("forward_workspace_size", "backward_workspace_size"):
        getattr(lib, name).restype = ctypes.c_int64
    return lib


def _ptr(tensor: torch.Tensor | None) -> ctypes.c_void_p:
    if tensor is None:
        return ctypes.c_void_p(None)
    assert tensor.is_contiguous() and tensor.device.type == "cpu"
    return ctypes.c_void_p(tensor.data_ptr())


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


# ---------------------------------------------------------------------------------------------
# graph_conv

K = 3


def graph_conv_inputs(n, c_in, c_out, t, v, *, dtype=torch.float32, bias=True, device="cpu",
                      seed=0):
    generator = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=generator, dtype=dtype).to(device)

    return (randn(n, c_in, t, v), randn(K, c_out, c_in) / c_in**0.5, randn(K, v, v) / v**0.5,
            randn(K, c_out) if bias else None, randn(n, c_out, t, v))


def reference_with_grads(x, weight, adjacency, bias, grad_out):
    """graph_conv_reference's output and its gradients for x, weight, adjacency and bias (the
    bias gradient is taken at a zero bias when there is none, as the backward op returns it)."""
    bias = torch.zeros(weight.shape[:2], dtype=x.dtype, device=x.device) if bias is None else bias
    leaves = [tensor.detach().clone().requires_grad_() for tensor in (x, weight, adjacency, bias)]
    out = graph_conv_reference(*leaves)
    return out.detach(), torch.autograd.grad(out, leaves, grad_out)


def assert_close_scaled(actual, expected, rtol):
    """Within rtol, with an absolute floor of rtol times the largest expected magnitude (sums
    that cancel to about zero have no relative precision)."""
    scale = expected.abs().max().item() if expected.numel() else 0.0
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=rtol * scale)


def tolerance(dtype):
    return 1e-4 if dtype == torch.float32 else 1e-10


def host_graph_conv(host, x, weight, adjacency, bias, grad_out):
    """The CUDA schedules of graph_conv_math.h, run on the host: output and four gradients.
    Outputs and workspace start as NaN, so an element left unwritten, or scratch read before
    it is written, shows."""
    dims = torch.tensor([*x.shape[:2], weight.shape[1], *x.shape[2:], weight.shape[0]])
    name = _dtype_name(x.dtype)
    out = x.new_full((x.shape[0], weight.shape[1], *x.shape[2:]), math.nan)
    workspace = x.new_full((host.forward_workspace_size(_ptr(dims)),), math.nan)
    getattr(host, f"forward_{name}")(_ptr(x), _ptr(weight), _ptr(adjacency), _ptr(bias),
                                     _ptr(dims), _ptr(out), _ptr(workspace))
    grads = [torch.full_like(x, math.nan), torch.full_like(weight, math.nan),
             torch.full_like(adjacency, math.nan), x.new_full(weight.shape[:2], math.nan)]
    workspace = x.new_full((host.backward_workspace_size(_ptr(dims)),), math.nan)
    getattr(host, f"backward_{name}")(_ptr(grad_out), _ptr(x), _ptr(weight), _ptr(adjacency),
                                      _ptr(bias), _ptr(dims), *map(_ptr, grads), _ptr(workspace))
    return out, grads


# (N, C_in, C_out, T, V), and which contraction orders they take: joints first in the forward
# (C_in < C_out), through the input channels in the backward. Together they cover all four
# combinations.
GRAPH_CONV_SHAPES = {
    "widening": ((2, 3, 8, 4, 5), True, True),
    "narrowing": ((2, 8, 4, 3, 5), False, False),
    "equal": ((3, 4, 4, 2, 6), False, False),
    "equal, few joints": ((2, 8, 8, 2, 5), False, True),
    "first layer": ((2, 2, 16, 3, 7), True, True),
    "many joints": ((1, 5, 6, 2, 25), True, False),
}


def test_graph_conv_shapes_cover_every_contraction_order(host):
    for shape, joints_first, through_inputs in GRAPH_CONV_SHAPES.values():
        n, c_in, c_out, t, v = shape
        dims = torch.tensor([n, c_in, c_out, t, v, K])
        assert host.aggregate_joints_first(_ptr(dims)) == joints_first, shape
        assert host.backward_through_input_channels(_ptr(dims)) == through_inputs, shape
    orders = {(first, inputs) for _, first, inputs in GRAPH_CONV_SHAPES.values()}
    assert len(orders) == 4


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [value[0] for value in GRAPH_CONV_SHAPES.values()],
                         ids=list(GRAPH_CONV_SHAPES))
def test_graph_conv_cuda_schedule_on_host_matches_reference(host, shape, dtype, bias):
    inputs = graph_conv_inputs(*shape, dtype=dtype, bias=bias)
    out, grads = host_graph_conv(host, *inputs)
    expected, expected_grads = reference_with_grads(*inputs)
    assert_close_scaled(out, expected, tolerance(dtype))
    for got, want in zip(grads, expected_grads, strict=True):
        assert got.shape == want.shape
        assert_close_scaled(got, want, tolerance(dtype))


def test_graph_conv_cuda_schedule_on_host_with_no_samples(host):
    x, weight, adjacency, bias, grad_out = graph_conv_inputs(0, 3, 5, 2, 4, dtype=torch.float64)
    out, (grad_x, grad_weight, grad_adjacency, grad_bias) = host_graph_conv(
        host, x, weight, adjacency, bias, grad_out)
    assert out.shape == (0, 5, 2, 4) and grad_x.shape == (0, 3, 2, 4)
    for grad in (grad_weight, grad_adjacency, grad_bias):
        assert not grad.any()


# ---------------------------------------------------------------------------------------------
# render_heatmaps

COCO_LIMBS = ((0, 1), (0, 2), (1, 3), (2, 4), (0, 5), (5, 7), (7, 9), (0, 6), (6, 8), (8, 10),
              (5, 11), (11, 13), (13, 15), (6, 12), (12, 14), (14, 16), (11, 12))


def random_keypoints(shape, size, dtype, seed, margin=6.0):
    """Keypoints over the image and up to ``margin`` pixels beyond it, a fifth of scores 0."""
    generator = torch.Generator().manual_seed(seed)
    keypoints = torch.rand(*shape, 2, generator=generator, dtype=torch.float64)
    keypoints = keypoints * (size + 2 * margin) - margin
    scores = torch.rand(*shape, generator=generator, dtype=torch.float64)
    scores = scores * (torch.rand(*shape, generator=generator) > 0.2)
    return keypoints.to(dtype), scores.to(dtype)


def _edge_cases(dtype):
    keypoints, scores = random_keypoints((2, 3, 2, 6), 16, dtype, seed=1)
    keypoints[0, 0, 0, 3] = keypoints[0, 0, 0, 2] + 0.4  # limb (2, 3) shorter than one pixel
    keypoints[1, 2, 1, 0] = torch.tensor([-1e30, 3.0])  # far outside
    keypoints[1, 1, 0, 4, 0] = math.nan
    scores[0, 2, 1, 1] = math.inf
    return keypoints, scores


def _on_a_pixel(dtype):
    keypoints, scores = random_keypoints((1, 2, 3, 4), 10, dtype, seed=2)
    keypoints[0, 0, 0, 0] = torch.tensor([3.0, 4.0])  # so that a tiny sigma still draws
    scores[0, 0, 0, 0] = 0.7
    return keypoints, scores


def _confident(dtype):
    keypoints, scores = random_keypoints((2, 2, 2, 3), 12, dtype, seed=6)
    scores[0, 0] = 0.9  # above the high eps
    return keypoints, scores


# name: (keypoints, scores, height, width, options); every case mixes keypoints inside and
# outside the image with zero scores.
RenderCase = Callable[[torch.dtype], tuple[torch.Tensor, torch.Tensor, int, int, dict]]
RENDER_CASES: dict[str, RenderCase] = {
    "keypoints and limbs": lambda dtype: (
        *random_keypoints((2, 3, 2, 5), 16, dtype, seed=0), 16, 12,
        {"limbs": [(0, 1), (1, 2), (2, 3), (4, 4)]}),  # (4, 4) has zero length
    "edge cases": lambda dtype: (
        *_edge_cases(dtype), 16, 16, {"limbs": [(0, 1), (2, 3), (5, 5), (4, 0), (1, 5)]}),
    "tiny sigma": lambda dtype: (
        *_on_a_pixel(dtype), 10, 10, {"sigma": 0.05, "limbs": [(0, 1)]}),
    "large sigma": lambda dtype: (
        *random_keypoints((1, 2, 2, 4), 24, dtype, seed=3), 24, 20,
        {"sigma": 8.0, "limbs": [(0, 1), (3, 2)]}),
    "one frame": lambda dtype: (
        *random_keypoints((3, 2, 1, 3), 10, dtype, seed=4), 10, 10, {}),
    "no persons": lambda dtype: (
        *random_keypoints((2, 0, 3, 4), 8, dtype, seed=5), 5, 7, {"limbs": [(0, 1)]}),
    "limbs only, high eps": lambda dtype: (
        *_confident(dtype), 12, 9,
        {"limbs": [(0, 1), (2, 0)], "with_keypoints": False, "eps": 0.5}),
    "coco": lambda dtype: (
        *random_keypoints((1, 2, 2, 17), 32, dtype, seed=7), 32, 32,
        {"sigma": 0.6, "limbs": COCO_LIMBS}),
}


def host_render(host, keypoints, scores, height, width, sigma=0.6, limbs=None,
                with_keypoints=True, eps=1e-3):
    """The CUDA kernel's per-pixel path (Scene::pixel for every output element), on the host,
    into an output that starts as NaN."""
    n, m, t, k, _ = keypoints.shape
    pairs = None if limbs is None else torch.tensor(limbs, dtype=torch.int64).reshape(-1, 2)
    keypoint_channels = k if with_keypoints else 0
    channels = keypoint_channels + (0 if pairs is None else len(pairs))
    sizes = torch.tensor([m, t, k, keypoint_channels, channels, height, width])
    out = torch.full((n, channels, t, height, width), math.nan)
    getattr(host, f"render_{_dtype_name(keypoints.dtype)}")(
        _ptr(keypoints), _ptr(scores), _ptr(pairs), _ptr(sizes), ctypes.c_double(sigma),
        ctypes.c_double(eps), ctypes.c_int64(out.numel()), _ptr(out))
    return out


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", list(RENDER_CASES))
def test_render_heatmaps_cuda_pixels_on_host_match_reference_and_cpu_kernel(host, case, dtype):
    keypoints, scores, height, width, options = RENDER_CASES[case](dtype)
    out = host_render(host, keypoints, scores, height, width, **options)
    reference = render_heatmaps(keypoints, scores, height=height, width=width,
                                impl="reference", **options)
    cpu = render_heatmaps(keypoints, scores, height=height, width=width, impl="cpu", **options)
    assert out.shape == reference.shape
    torch.testing.assert_close(out, reference, atol=1e-5, rtol=0)
    # Per pixel or per window, the GPU and CPU paths evaluate the same functions.
    torch.testing.assert_close(out, cpu, atol=0, rtol=0)
    if case != "no persons":
        assert out.amax() > 0.1


# ---------------------------------------------------------------------------------------------
# The built CUDA kernels (need a GPU)


def test_cuda_kernels_are_registered_exactly_when_built():
    assert skel_kernels.build_info()["cuda_built"] == HAS_CUDA_KERNELS


@gpu
@needs_gpu
@pytest.mark.parametrize("contiguous", [True, False])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [value[0] for value in GRAPH_CONV_SHAPES.values()],
                         ids=list(GRAPH_CONV_SHAPES))
def test_graph_conv_cuda_matches_reference(shape, bias, contiguous):
    inputs = graph_conv_inputs(*shape, bias=bias, device="cuda")
    if not contiguous:  # same values, other strides
        inputs = tuple(None if t is None else t.mT.contiguous().mT for t in inputs)
    x, weight, adjacency, bias_tensor, grad_out = inputs
    expected, expected_grads = reference_with_grads(*inputs)
    leaves = [None if t is None else t.detach().clone().requires_grad_()
              for t in (x, weight, adjacency, bias_tensor)]
    out = graph_conv(*leaves, impl="cuda")
    assert out.device == x.device and out.dtype == torch.float32
    assert_close_scaled(out.detach(), expected, 1e-4)
    grads = torch.autograd.grad(out, [t for t in leaves if t is not None], grad_out)
    assert len(grads) == (4 if bias else 3)
    for got, want in zip(grads, expected_grads, strict=False):
        assert_close_scaled(got, want, 1e-4)
    # the backward op itself returns the bias gradient even without a bias
    op_grads = torch.ops.skel._graph_conv_backward(grad_out, x, weight, adjacency, bias_tensor)
    assert_close_scaled(op_grads[3], expected_grads[3], 1e-4)


@gpu
@needs_gpu
@pytest.mark.parametrize("shape", [(2, 2, 3, 2, 3), (1, 3, 2, 2, 4)])
def test_graph_conv_cuda_gradcheck(shape):
    x, weight, adjacency, bias, _ = graph_conv_inputs(*shape, dtype=torch.float64, device="cuda")
    leaves = [t.requires_grad_() for t in (x, weight, adjacency, bias)]
    assert torch.autograd.gradcheck(lambda *args: graph_conv(*args, impl="cuda"), leaves)


@gpu
@needs_gpu
@pytest.mark.parametrize("bias", [True, False])
def test_graph_conv_cuda_opcheck(bias):
    x, weight, adjacency, bias_tensor, grad_out = graph_conv_inputs(2, 3, 4, 2, 5, bias=bias,
                                                                    device="cuda")
    torch.library.opcheck(torch.ops.skel.graph_conv.default, (x, weight, adjacency, bias_tensor))
    torch.library.opcheck(torch.ops.skel._graph_conv_backward.default,
                          (grad_out, x, weight, adjacency, bias_tensor))


@gpu
@needs_gpu
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", list(RENDER_CASES))
def test_render_heatmaps_cuda_matches_reference_and_cpu_kernel(case, dtype):
    keypoints, scores, height, width, options = RENDER_CASES[case](dtype)
    cpu = render_heatmaps(keypoints, scores, height=height, width=width, impl="cpu", **options)
    keypoints, scores = keypoints.cuda(), scores.cuda()
    out = render_heatmaps(keypoints, scores, height=height, width=width, impl="cuda", **options)
    reference = render_heatmaps(keypoints, scores, height=height, width=width,
                                impl="reference", **options)
    assert out.device == keypoints.device and out.dtype == torch.float32
    torch.testing.assert_close(out, reference, atol=1e-5, rtol=0)
    torch.testing.assert_close(out.cpu(), cpu, atol=1e-5, rtol=0)


@gpu
@needs_gpu
def test_render_heatmaps_cuda_opcheck():
    keypoints, scores = random_keypoints((2, 2, 3, 3), 8, torch.float32, seed=8)
    limbs = torch.tensor([[0, 1], [2, 2]], device="cuda")
    torch.library.opcheck(torch.ops.skel.render_heatmaps.default,
                          (keypoints.cuda(), scores.cuda(), 8, 6, 0.6, limbs, True, 1e-3))


@gpu
@needs_gpu
def test_cuda_kernels_launch_on_the_current_stream():
    """Capturing a CUDA graph fails on any launch to a stream other than the capturing (current)
    one; capture runs nothing, so the replay alone computes the captured outputs."""
    x, weight, adjacency, bias, grad_out = graph_conv_inputs(2, 3, 8, 4, 5, device="cuda")
    keypoints, scores = (t.cuda() for t in random_keypoints((1, 2, 2, 4), 16, torch.float32, 9))

    def run():
        return (torch.ops.skel.graph_conv(x, weight, adjacency, bias),
                *torch.ops.skel._graph_conv_backward(grad_out, x, weight, adjacency, bias),
                torch.ops.skel.render_heatmaps(keypoints, scores, 16, 16, 0.6, None, True, 1e-3))

    expected = run()  # eagerly, which also warms up
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        captured = run()
    graph.replay()
    torch.cuda.synchronize()
    for got, want in zip(captured, expected, strict=True):
        torch.testing.assert_close(got, want, atol=0, rtol=0)


@gpu
@needs_gpu
def test_cuda_kernels_refuse_tensors_on_other_devices():
    x, weight, adjacency, bias, _ = graph_conv_inputs(1, 2, 3, 2, 4, device="cuda")
    with pytest.raises(RuntimeError, match=r"CUDA kernel needs CUDA tensors, but weight is on cpu"):
        torch.ops.skel.graph_conv(x, weight.cpu(), adjacency, bias)
    keypoints, scores = (t.cuda() for t in random_keypoints((1, 1, 1, 3), 4, torch.float32, 10))
    with pytest.raises(RuntimeError, match=r"limbs must be on the keypoints' device"):
        torch.ops.skel.render_heatmaps(keypoints, scores, 4, 4, 0.6, torch.tensor([[0, 1]]),
                                       True, 1e-3)
    with pytest.raises(RuntimeError, match=r"limb 0 joins keypoint 5, outside \[0, 3\)"):
        torch.ops.skel.render_heatmaps(keypoints, scores, 4, 4, 0.6,
                                       torch.tensor([[0, 5]], device="cuda"), True, 1e-3)
