"""skel_kernels: the ``graph_conv`` and ``render_heatmaps`` ops of skel.

Importing the package loads the compiled op library, which registers the ``torch.ops.skel``
ops; it fails with :class:`KernelLibraryError` (an ImportError) when the library is missing or
was built against another torch. :func:`build_info` and :func:`available_backends` report what
was built and what can run here.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from skel_kernels import _build_info, _library
from skel_kernels._library import KernelLibraryError

_LIBRARY_PATH, _BUILD_CONFIG = _library.load()
from skel_kernels import _fake  # noqa: E402, F401  (registers the fake kernels)
from skel_kernels.graph_conv import graph_conv, graph_conv_reference  # noqa: E402
from skel_kernels.heatmaps import render_heatmaps  # noqa: E402

__version__ = version("skel-kernels")


def build_info() -> dict[str, Any]:
    """The library's build configuration (torch version, CUDA, OpenMP, compiler) and the
    runtime facts beside it: the running torch, whether it matches, threads, CUDA devices."""
    return {"version": __version__, **_build_info.build_info(_LIBRARY_PATH, _BUILD_CONFIG)}


def available_backends() -> dict[str, bool]:
    """Which implementations ('reference', 'cpu', 'cuda', 'triton') can run here."""
    return _build_info.available_backends(_BUILD_CONFIG)


__all__ = [
    "KernelLibraryError",
    "available_backends",
    "build_info",
    "graph_conv",
    "graph_conv_reference",
    "render_heatmaps",
]
