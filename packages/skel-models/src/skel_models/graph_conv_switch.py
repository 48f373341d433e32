"""Which implementation the GCN units use for their spatial graph convolution.

Every unit that aggregates over a fixed adjacency (``unit_gcn``, the static part of
``unit_aagcn``) calls :func:`skel_kernels.graph_conv` with ``impl=graph_conv_impl()``:
``'auto'`` (the default: the fused compiled kernel for the tensors' device where there is one),
``'cpu'``, ``'cuda'``, ``'triton'`` or ``'reference'`` (the plain PyTorch einsum path, e.g. for
ONNX export or debugging). The choice is global, not part of any module, so it never changes a
state dict. It comes from, in order: :func:`use_graph_conv` / :func:`set_graph_conv_impl`, the
environment variable ``SKEL_GRAPH_CONV_IMPL``, else ``'auto'``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from skel_kernels._dispatch import IMPLS

ENV_VAR = "SKEL_GRAPH_CONV_IMPL"

# A plain module global rather than a ContextVar: torch.compile guards on it like a constant.
_impl: str | None = None


def _check(impl: str, source: str) -> str:
    if impl not in IMPLS:
        raise ValueError(f"{source}: graph_conv impl must be one of {IMPLS}, got {impl!r}")
    return impl


def graph_conv_impl() -> str:
    """The implementation GCN units pass to :func:`skel_kernels.graph_conv` now."""
    if _impl is not None:
        return _impl
    return _check(os.environ.get(ENV_VAR, "auto"), f"environment variable {ENV_VAR}")


def set_graph_conv_impl(impl: str | None) -> None:
    """Set the implementation for the rest of the process (``None``: back to the environment
    variable or ``'auto'``); e.g. from a config's ``graph_conv_impl`` option."""
    global _impl
    _impl = None if impl is None else _check(impl, "set_graph_conv_impl")


@contextmanager
def use_graph_conv(impl: str) -> Iterator[None]:
    """Run the block with GCN units using ``impl``; the previous choice is restored after."""
    global _impl
    previous = _impl
    _impl = _check(impl, "use_graph_conv")
    try:
        yield
    finally:
        _impl = previous
