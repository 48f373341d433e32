"""skel_kernels.graph_conv: the fused C++ kernel and its backward op agree with the PyTorch
reference (which in turn agrees with the formula written out here) in values and in every
gradient, on ST-GCN++ shapes, non-contiguous inputs and both contraction orders; the ops pass
torch.library.opcheck; bad arguments are refused with messages naming them."""

from __future__ import annotations

import pytest
import torch

import skel_kernels
from skel_kernels import graph_conv, graph_conv_reference

K = 3  # ST-GCN++ partitions its adjacency into three subsets


def make_inputs(n, c_in, c_out, t, v, *, dtype=torch.float32, bias=True, seed=0):
    generator = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=generator, dtype=dtype)

    return (
        randn(n, c_in, t, v),
        randn(K, c_out, c_in) / c_in**0.5,
        randn(K, v, v) / v**0.5,
        randn(K, c_out) if bias else None,
    )


def formula(x, weight, adjacency, bias):
    """out[n,o,t,w] = sum_k sum_v (sum_c W[k,o,c] x[n,c,t,v] + b[k,o]) A[k,v,w], term by term."""
    out = torch.einsum("koc,nctv,kvw->notw", weight, x, adjacency)
    if bias is not None:
        out = out + torch.einsum("ko,kvw->ow", bias, adjacency)[None, :, None, :]
    return out


def grads(fn, inputs, grad_out):
    leaves = [None if t is None else t.detach().clone().requires_grad_() for t in inputs]
    out = fn(*leaves)
    wrt = [t for t in leaves if t is not None]
    return out.detach(), torch.autograd.grad(out, wrt, grad_out)


def assert_close_scaled(actual, expected, rtol=1e-4):
    """Within rtol of the expected value, with an absolute floor of rtol times its largest
    magnitude (entries that are sums cancelling to about zero have no relative precision)."""
    scale = expected.abs().max().item()
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=rtol * scale)


def assert_matches_reference(inputs, rtol=1e-4):
    out, out_grads = grads(graph_conv, inputs, _grad_out(inputs))
    ref, ref_grads = grads(graph_conv_reference, inputs, _grad_out(inputs))
    assert out.shape == ref.shape
    assert_close_scaled(out, ref, rtol)
    assert len(out_grads) == len(ref_grads)
    for got, want in zip(out_grads, ref_grads, strict=True):
        assert got.shape == want.shape
        assert_close_scaled(got, want, rtol)


def _grad_out(inputs):
    x, weight = inputs[0], inputs[1]
    generator = torch.Generator().manual_seed(1)
    shape = (x.shape[0], weight.shape[1], x.shape[2], x.shape[3])
    return torch.randn(shape, generator=generator, dtype=x.dtype)


@pytest.mark.parametrize("bias", [True, False])
def test_reference_and_kernel_equal_the_formula(bias):
    inputs = make_inputs(2, 4, 6, 5, 7, dtype=torch.float64, bias=bias)
    expected = formula(*inputs)
    assert expected.shape == (2, 6, 5, 7)
    torch.testing.assert_close(graph_conv_reference(*inputs), expected)
    torch.testing.assert_close(graph_conv(*inputs, impl="cpu"), expected)


def test_reference_is_pyskl_unit_gcn_pre():
    """The 1x1 Conv2d(C_in, K*C_out) of unit_gcn holds weight and bias as (K*C_out, ...)."""
    x, weight, adjacency, bias = make_inputs(2, 5, 4, 3, 6, dtype=torch.float64)
    conv = torch.nn.Conv2d(5, K * 4, 1).double()
    with torch.no_grad():
        conv.weight.copy_(weight.reshape(K * 4, 5, 1, 1))
        conv.bias.copy_(bias.reshape(-1))
    expected = torch.einsum("nkctv,kvw->nctw", conv(x).view(2, K, 4, 3, 6), adjacency)
    torch.testing.assert_close(graph_conv(x, weight, adjacency, bias), expected)


# ST-GCN++ unit_gcn shapes (C_in, C_out, T): the stride-2 blocks halve T in their temporal unit,
# after the graph convolution.
STGCNPP_SHAPES = [(3, 64, 100), (64, 64, 100), (64, 128, 100), (128, 128, 50), (128, 256, 50),
                  (256, 256, 25)]


@pytest.mark.parametrize("v", [17, 25])
@pytest.mark.parametrize(("c_in", "c_out", "t"), STGCNPP_SHAPES)
def test_stgcnpp_shapes_match_reference(c_in, c_out, t, v):
    assert_matches_reference(make_inputs(2, c_in, c_out, t, v))


@pytest.mark.parametrize(("n", "c_in", "c_out", "t", "v"),
                         [(32, 64, 64, 50, 25), (1, 3, 64, 100, 17)])
def test_batch_sizes_match_reference(n, c_in, c_out, t, v):
    assert_matches_reference(make_inputs(n, c_in, c_out, t, v))


@pytest.mark.parametrize("n", [1, 5])  # 5: samples split unevenly over threads
@pytest.mark.parametrize(("c_in", "c_out"), [(64, 16), (16, 64), (200, 8)])
def test_both_contraction_orders_match_reference(n, c_in, c_out):
    # C_in > C_out mixes channels first, C_in < C_out aggregates joints first; (200, 8) also
    # makes the backward go through the output channels.
    assert_matches_reference(make_inputs(n, c_in, c_out, 6, 25))


@pytest.mark.parametrize("threads", [1, 2])
def test_result_does_not_depend_on_thread_count(threads):
    inputs = make_inputs(7, 8, 12, 4, 5, dtype=torch.float64)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        out, out_grads = grads(graph_conv, inputs, _grad_out(inputs))
    finally:
        torch.set_num_threads(previous)
    ref, ref_grads = grads(graph_conv_reference, inputs, _grad_out(inputs))
    torch.testing.assert_close(out, ref)
    for got, want in zip(out_grads, ref_grads, strict=True):
        torch.testing.assert_close(got, want)


def non_contiguous_inputs(dtype=torch.float32):
    x, weight, adjacency, bias = make_inputs(3, 6, 10, 8, 9, dtype=dtype)
    # x stored as (N, T, V, C) and permuted, then every other frame; weight stored (K, C_in,
    # C_out); adjacency transposed; bias a column slice of a wider tensor.
    x_nc = x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)[:, :, ::2]
    weight_nc = weight.transpose(1, 2).contiguous().transpose(1, 2)
    adjacency_nc = adjacency.transpose(1, 2)
    bias_nc = torch.cat([bias, bias], dim=1)[:, ::2]
    inputs = (x_nc, weight_nc, adjacency_nc, bias_nc)
    assert not any(t.is_contiguous() for t in inputs)
    return inputs


def test_non_contiguous_inputs_match_reference():
    inputs = non_contiguous_inputs()
    assert_matches_reference(inputs)
    contiguous = [t.contiguous() for t in inputs]
    torch.testing.assert_close(graph_conv(*inputs), graph_conv(*contiguous), rtol=0, atol=0)


def test_empty_batch():
    inputs = [t.requires_grad_() for t in make_inputs(0, 4, 6, 5, 7)]
    out = graph_conv(*inputs)
    assert out.shape == (0, 6, 5, 7)
    out.sum().backward()
    for tensor in inputs[1:]:
        assert torch.count_nonzero(tensor.grad) == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(("c_in", "c_out", "v"), [(3, 5, 4), (6, 2, 5)])
def test_gradcheck_float64(seed, bias, c_in, c_out, v):
    inputs = make_inputs(3, c_in, c_out, 2, v, dtype=torch.float64, bias=bias, seed=seed)
    leaves = tuple(t.requires_grad_() for t in inputs if t is not None)
    fn = graph_conv if bias else lambda x, w, a: graph_conv(x, w, a, None)
    assert torch.autograd.gradcheck(fn, leaves)


def opcheck_samples():
    yield make_inputs(2, 3, 5, 4, 6, dtype=torch.float64)
    yield make_inputs(3, 7, 2, 3, 5, bias=False)
    yield non_contiguous_inputs()


@pytest.mark.parametrize("inputs", list(opcheck_samples()), ids=["bias", "no-bias", "strided"])
@pytest.mark.parametrize("requires_grad", [False, True])
def test_opcheck_forward(inputs, requires_grad):
    args = [None if t is None else t.detach().clone().requires_grad_(requires_grad)
            for t in inputs]
    torch.library.opcheck(torch.ops.skel.graph_conv.default, tuple(args))


@pytest.mark.parametrize("inputs", list(opcheck_samples()), ids=["bias", "no-bias", "strided"])
def test_opcheck_backward(inputs):
    torch.library.opcheck(torch.ops.skel._graph_conv_backward.default,
                          (_grad_out(inputs), *inputs))


def test_backward_op_returns_bias_gradient_without_bias():
    """Without a bias the backward op still returns the (K, C_out) gradient at bias = 0."""
    x, weight, adjacency, bias = make_inputs(2, 3, 4, 5, 6, dtype=torch.float64)
    grad_out = _grad_out((x, weight))
    with_bias = torch.ops.skel._graph_conv_backward(grad_out, x, weight, adjacency, bias)
    without = torch.ops.skel._graph_conv_backward(grad_out, x, weight, adjacency, None)
    torch.testing.assert_close(without[3], with_bias[3])
    torch.testing.assert_close(without[0], with_bias[0])
    expected_bias_grad = torch.einsum("notw,kvw->ko", grad_out, adjacency)
    torch.testing.assert_close(without[3], expected_bias_grad)


BAD_ARGUMENTS = {
    # what is wrong: (x shape, weight shape, adjacency shape, bias shape, expected message)
    "adjacency V": ((2, 3, 4, 17), (K, 8, 3), (K, 25, 25), (K, 8),
                    r"V = 17 .*adjacency has shape \[3, 25, 25\], x has shape \[2, 3, 4, 17\]"),
    "adjacency K": ((2, 3, 4, 17), (K, 8, 3), (2, 17, 17), (K, 8),
                    r"adjacency has shape \[2, 17, 17\], weight has shape \[3, 8, 3\]"),
    "weight C_in": ((2, 3, 4, 17), (K, 8, 5), (K, 17, 17), (K, 8),
                    r"C_in .*weight has shape \[3, 8, 5\], x has shape \[2, 3, 4, 17\]"),
    "bias shape": ((2, 3, 4, 17), (K, 8, 3), (K, 17, 17), (K * 8,),
                   r"\(3, 8\).*bias has shape \[24\], weight has shape \[3, 8, 3\]"),
    "x dims": ((2, 3, 17), (K, 8, 3), (K, 17, 17), None,
               r"x must be \(N, C_in, T, V\), got shape \[2, 3, 17\]"),
}


@pytest.mark.parametrize(("x_shape", "w_shape", "a_shape", "b_shape", "match"),
                         list(BAD_ARGUMENTS.values()), ids=list(BAD_ARGUMENTS))
def test_bad_shapes_are_refused(x_shape, w_shape, a_shape, b_shape, match):
    args = (torch.zeros(x_shape), torch.zeros(w_shape), torch.zeros(a_shape),
            None if b_shape is None else torch.zeros(b_shape))
    with pytest.raises(ValueError, match=match):
        graph_conv(*args)
    # The op checks too, with the same message, for callers that bypass the wrapper.
    with pytest.raises(RuntimeError, match=match):
        torch.ops.skel.graph_conv(*args)


def test_backward_op_checks_grad_out():
    x, weight, adjacency = torch.zeros(2, 3, 4, 17), torch.zeros(K, 8, 3), torch.zeros(K, 17, 17)
    grad_out = torch.zeros(2, 8, 4, 16)
    with pytest.raises(RuntimeError, match=r"grad_out has shape \[2, 8, 4, 16\]"):
        torch.ops.skel._graph_conv_backward(grad_out, x, weight, adjacency, None)


def test_bad_dtypes_and_impl_are_refused():
    x, weight, adjacency, bias = make_inputs(1, 2, 3, 4, 5)
    with pytest.raises(ValueError, match="adjacency has dtype torch.float64"):
        graph_conv(x, weight, adjacency.double(), bias)
    with pytest.raises(ValueError, match="x must be a floating tensor"):
        graph_conv(x.long(), weight.long(), adjacency.long())
    with pytest.raises(ValueError, match="impl='cpu' needs float32 or float64"):
        graph_conv(x.half(), weight.half(), adjacency.half(), bias.half(), impl="cpu")
    with pytest.raises(ValueError, match="impl must be one of"):
        graph_conv(x, weight, adjacency, bias, impl="gpu")
    with pytest.raises(ValueError, match="impl='cuda' needs CUDA tensors"):
        graph_conv(x, weight, adjacency, bias, impl="cuda")
    with pytest.raises(RuntimeError, match="supports float32 and float64"):
        torch.ops.skel.graph_conv(x.bfloat16(), weight.bfloat16(), adjacency.bfloat16(), None)


def test_auto_falls_back_to_reference_for_other_dtypes():
    inputs = [t.bfloat16() for t in make_inputs(1, 2, 3, 4, 5)]
    torch.testing.assert_close(graph_conv(*inputs), graph_conv_reference(*inputs))


def test_exported_from_package():
    assert skel_kernels.graph_conv is graph_conv
    assert "graph_conv" in skel_kernels.__all__


@pytest.mark.compile
def test_torch_compile_fullgraph():
    inputs = [t.requires_grad_() for t in make_inputs(2, 3, 4, 5, 6)]

    def step(x, weight, adjacency, bias):
        return graph_conv(x, weight, adjacency, bias).relu().sum()

    compiled = torch.compile(step, fullgraph=True, backend="aot_eager")
    loss = compiled(*inputs)
    compiled_grads = torch.autograd.grad(loss, inputs)
    eager_loss = step(*inputs)
    torch.testing.assert_close(loss, eager_loss)
    for got, want in zip(compiled_grads, torch.autograd.grad(eager_loss, inputs), strict=True):
        torch.testing.assert_close(got, want)
