"""Which implementation of an op runs: the ``impl=`` argument shared by every public op.

``'cpu'`` and ``'cuda'`` are the compiled kernels behind ``torch.ops.skel.<op>`` (the
dispatcher picks one by the tensors' device), ``'triton'`` the Triton kernels of
:mod:`skel_kernels.triton` (a GPU, or CPU tensors under ``TRITON_INTERPRET=1``), and
``'reference'`` the plain PyTorch definition. ``'auto'`` takes the compiled kernel for the
tensors' device when there is one, else the reference.
"""

from __future__ import annotations

import importlib.util
import os

import torch

IMPLS = ("auto", "cpu", "cuda", "triton", "reference")


def choose_impl(
    op: str, impl: str, tensor: torch.Tensor, kernel_dtypes: tuple[torch.dtype, ...] | None = None
) -> str:
    """How to run ``skel::<op>`` on tensors like ``tensor``: ``'compiled'`` (``torch.ops.skel``),
    ``'triton'`` or ``'reference'``. ``kernel_dtypes`` are the dtypes the compiled and Triton
    kernels take (None: any). Raises ValueError, naming the op and the reason, when ``impl`` is
    unknown or cannot run on these tensors."""
    device = tensor.device
    dtype_ok = kernel_dtypes is None or tensor.dtype in kernel_dtypes
    if impl not in IMPLS:
        raise ValueError(f"{op}: impl must be one of {IMPLS}, got {impl!r}")
    if impl == "reference":
        return impl
    if impl == "auto":
        compiled = device.type == "cpu" or (device.type == "cuda" and _has_cuda_kernel(op))
        return "compiled" if compiled and dtype_ok else "reference"
    if not dtype_ok:
        names = " or ".join(str(dtype).removeprefix("torch.") for dtype in kernel_dtypes)
        raise ValueError(f"{op}: impl={impl!r} needs {names} tensors, got {tensor.dtype}")
    if impl == "cpu" and device.type != "cpu":
        raise ValueError(f"{op}: impl='cpu' needs CPU tensors, got tensors on {device}")
    if impl == "cuda":
        if device.type != "cuda":
            raise ValueError(f"{op}: impl='cuda' needs CUDA tensors, got tensors on {device}")
        if not _has_cuda_kernel(op):
            raise ValueError(
                f"{op}: impl='cuda' but skel_kernels was built without CUDA "
                "(see skel_kernels.build_info())"
            )
    if impl == "triton":
        _check_triton(op, device)
        return impl
    return "compiled"


def _has_cuda_kernel(op: str) -> bool:
    return torch._C._dispatch_has_kernel_for_dispatch_key(f"skel::{op}", "CUDA")


def _check_triton(op: str, device: torch.device) -> None:
    if importlib.util.find_spec("triton") is None:
        raise ValueError(
            f"{op}: impl='triton' needs the triton package (pip install 'skel-kernels[triton]')"
        )
    interpreted = os.environ.get("TRITON_INTERPRET") == "1"
    if device.type == "cuda" or (device.type == "cpu" and interpreted):
        return
    raise ValueError(
        f"{op}: impl='triton' needs CUDA tensors, or CPU tensors with "
        f"TRITON_INTERPRET=1 set before skel_kernels is imported; got tensors on "
        f"{device}"
    )
