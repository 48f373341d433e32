"""How the Triton launchers become torch ops.

On a GPU each is a ``torch.library.triton_op``, whose function serves as its own fake kernel:
torch.compile traces through it and sees the kernels. Under Triton's CPU interpreter
(``TRITON_INTERPRET=1``) that tracing would launch the interpreted kernels on fake tensors,
which fails, so there the launcher becomes an opaque ``torch.library.custom_op`` with a
shape-only fake kernel; eager results are the same and torch.compile still works.
"""

from collections.abc import Callable

import triton
from torch.library import CustomOpDef, custom_op, triton_op


def kernel_op(name: str, fake: Callable) -> Callable[[Callable], CustomOpDef]:
    """Decorator registering a launcher of Triton kernels as the op ``name`` (mutating none of
    its inputs); ``fake`` computes its outputs' shapes under the interpreter. It reads
    TRITON_INTERPRET when the module is imported, as ``@triton.jit`` does for its kernels."""

    def register(launcher: Callable) -> CustomOpDef:
        if not triton.knobs.runtime.interpret:
            return triton_op(name, launcher, mutates_args=())
        op = custom_op(name, launcher, mutates_args=())
        op.register_fake(fake)
        return op

    return register
