"""The spatial graph convolution of ST-GCN / ST-GCN++ (PYSKL's ``unit_gcn``, 'pre' position).

:func:`graph_conv` is the public function; :func:`graph_conv_reference` is the plain PyTorch
implementation that defines what it computes. ``torch.ops.skel.graph_conv`` (C++ kernels) is
differentiable through the backward op ``torch.ops.skel._graph_conv_backward``, registered here
with :func:`torch.library.register_autograd`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from skel_kernels._dispatch import choose_impl

_KERNEL_DTYPES = (torch.float32, torch.float64)


def graph_conv_reference(
    x: Tensor, weight: Tensor, adjacency: Tensor, bias: Tensor | None = None
) -> Tensor:
    """PyTorch's version of :func:`graph_conv`, computed as PYSKL does: a 1x1 convolution to
    ``K * C_out`` channels, split into ``K`` subsets, each aggregated over joints with its
    adjacency matrix and the subsets summed (``einsum('nkctv,kvw->nctw')``). Differentiable,
    on any device and floating dtype; it stores the ``(N, K * C_out, T, V)`` activation."""
    k, c_out, c_in = weight.shape
    n, _, t, v = x.shape
    conv_bias = None if bias is None else bias.reshape(k * c_out)
    mixed = torch.nn.functional.conv2d(x, weight.reshape(k * c_out, c_in, 1, 1), conv_bias)
    return torch.einsum("nkctv,kvw->nctw", mixed.reshape(n, k, c_out, t, v), adjacency)


def graph_conv(
    x: Tensor,
    weight: Tensor,
    adjacency: Tensor,
    bias: Tensor | None = None,
    *,
    impl: str = "auto",
) -> Tensor:
    """Spatial graph convolution with ``K`` adjacency subsets::

        out[n, o, t, w] = sum_k sum_v (sum_c weight[k, o, c] x[n, c, t, v] + bias[k, o])
                                      * adjacency[k, v, w]

    Equal to PYSKL's ``unit_gcn`` with ``conv_pos='pre'`` whose ``nn.Conv2d(C_in, K * C_out, 1)``
    has weight ``weight.reshape(K * C_out, C_in, 1, 1)`` and bias ``bias.reshape(K * C_out)``.
    Differentiable in ``x``, ``weight``, ``adjacency`` (learned in ST-GCN++) and ``bias``.

    Args:
        x: ``(N, C_in, T, V)`` features of ``V`` joints over ``T`` frames.
        weight: ``(K, C_out, C_in)`` channel mixing of each subset.
        adjacency: ``(K, V, V)``; ``adjacency[k, v, w]`` weighs joint ``v``'s features in
            joint ``w``'s output.
        bias: ``(K, C_out)`` or None; added before the aggregation, as in the 1x1 convolution.
        impl: ``'cpu'`` / ``'cuda'``: the fused compiled kernel (float32/float64), which never
            stores the ``(N, K * C_out, T, V)`` activation; ``'triton'``: the Triton kernel;
            ``'reference'``: :func:`graph_conv_reference`; ``'auto'``: the compiled kernel for
            the tensors' device where there is one, else the reference.

    Returns:
        ``(N, C_out, T, V)``, of ``x``'s dtype and device.

    Raises:
        ValueError: when shapes, dtypes or devices disagree (the message names the argument
            and the shapes), or ``impl`` is unknown or cannot run on these tensors.
    """
    _check_arguments(x, weight, adjacency, bias)
    chosen = choose_impl("graph_conv", impl, x, _KERNEL_DTYPES)
    if chosen == "reference":
        return graph_conv_reference(x, weight, adjacency, bias)
    if chosen == "triton":
        from skel_kernels.triton import graph_conv_triton

        return graph_conv_triton(x, weight, adjacency, bias)
    return torch.ops.skel.graph_conv(x, weight, adjacency, bias)


def _check_arguments(x: Tensor, weight: Tensor, adjacency: Tensor, bias: Tensor | None) -> None:
    """Raise ValueError unless the arguments fit; the messages are the C++ kernel's, naming the
    argument and both shapes."""
    if x.dim() != 4:
        raise ValueError(f"graph_conv: x must be (N, C_in, T, V), got shape {_shape(x)}")
    if weight.dim() != 3:
        raise ValueError(f"graph_conv: weight must be (K, C_out, C_in), got shape {_shape(weight)}")
    if adjacency.dim() != 3:
        raise ValueError(f"graph_conv: adjacency must be (K, V, V), got shape {_shape(adjacency)}")
    k, c_out, c_in = weight.shape
    v = x.shape[3]
    if c_in != x.shape[1]:
        raise ValueError(
            "graph_conv: weight's C_in (dim 2) must equal x's C_in (dim 1); weight has shape "
            f"{_shape(weight)}, x has shape {_shape(x)}"
        )
    if adjacency.shape[0] != k:
        raise ValueError(
            f"graph_conv: adjacency must have K = {k} subsets like weight; adjacency has shape "
            f"{_shape(adjacency)}, weight has shape {_shape(weight)}"
        )
    if adjacency.shape[1:] != (v, v):
        raise ValueError(
            f"graph_conv: adjacency must be (K, V, V) with V = {v} joints as in x; adjacency "
            f"has shape {_shape(adjacency)}, x has shape {_shape(x)}"
        )
    if bias is not None and bias.shape != (k, c_out):
        raise ValueError(
            f"graph_conv: bias must be (K, C_out) = ({k}, {c_out}) to match weight; bias has "
            f"shape {_shape(bias)}, weight has shape {_shape(weight)}"
        )
    if not x.is_floating_point():
        raise ValueError(f"graph_conv: x must be a floating tensor, got dtype {x.dtype}")
    for name, tensor in {"weight": weight, "adjacency": adjacency, "bias": bias}.items():
        if tensor is None:
            continue
        if tensor.dtype != x.dtype:
            raise ValueError(
                f"graph_conv: {name} has dtype {tensor.dtype} but x has dtype {x.dtype}"
            )
        if tensor.device != x.device:
            raise ValueError(f"graph_conv: {name} is on {tensor.device} but x is on {x.device}")


def _shape(tensor: Tensor) -> str:
    return str(list(tensor.shape))


def _setup_context(ctx, inputs, output) -> None:
    x, weight, adjacency, bias = inputs
    ctx.save_for_backward(x, weight, adjacency, bias)


def _backward(ctx, grad_out: Tensor):
    x, weight, adjacency, bias = ctx.saved_tensors
    grad_x, grad_weight, grad_adjacency, grad_bias = torch.ops.skel._graph_conv_backward(
        grad_out, x, weight, adjacency, bias
    )
    return grad_x, grad_weight, grad_adjacency, None if bias is None else grad_bias


torch.library.register_autograd("skel::graph_conv", _backward, setup_context=_setup_context)
