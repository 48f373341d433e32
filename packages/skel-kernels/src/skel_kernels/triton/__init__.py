"""Triton implementations of the skel ops: ``impl='triton'`` of :func:`skel_kernels.graph_conv`
and :func:`skel_kernels.render_heatmaps`.

Each is a ``torch.library.triton_op`` (namespace ``skel_triton``), so torch.compile sees the
kernels. They run on CUDA tensors, or on CPU tensors under Triton's interpreter, which needs
``TRITON_INTERPRET=1`` in the environment when this package is imported (Triton decides at
``@triton.jit`` whether a function is interpreted).

The kernels call Triton's builtins only, none of ``triton.language``'s own ``@triton.jit``
helpers (``tl.sum``, ``tl.zeros``, ``tl.cdiv``): those were decided when ``triton`` was first
imported, possibly before the variable was set (``torch._dynamo`` imports triton), and the
interpreter cannot call a compiled helper.
"""

from skel_kernels.triton.graph_conv import graph_conv_triton
from skel_kernels.triton.heatmaps import render_heatmaps_triton

__all__ = ["graph_conv_triton", "render_heatmaps_triton"]
