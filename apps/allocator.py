"""How skel's commands set up the C allocator, so that large tensors are not given back to the
operating system and faulted in again on every training step.

glibc's ``malloc`` serves any block of more than 32 MiB (and, until its adaptive threshold has
grown, of more than 128 KiB) with a fresh ``mmap`` and returns it with ``munmap`` when freed, and
it trims the heap's free top back to the kernel. A GCN training step allocates and frees the
same large activations every step (ST-GCN++ at batch 16: einsum temporaries of 40+ MiB), so
each step pays for zeroing fresh pages again: on this project's 2-core machines that was 11-22%
of an ST-GCN++ training step on PYSKL's path (more than half of its graph convolutions' time)
and 1-7% on skel's fused one. ``'tuned'`` raises both thresholds with ``mallopt`` (the effect
of PyTorch's advice to preload jemalloc or tcmalloc, without a library to install): freed memory
stays in the process and is reused, at about the same peak resident size.

Every command applies :func:`configure_allocator` first; ``SKEL_MALLOC=default`` (or
``skel-bench --malloc default``) leaves glibc as it is. On a C library other than glibc nothing
is changed and the mode reads ``'unavailable'``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

from skel_core.errors import ConfigError

ENV_VAR = "SKEL_MALLOC"
MODES = ("tuned", "default")

# mallopt parameters (glibc's malloc.h) and their values; both must fit a C int.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 1 << 30  # blocks up to 1 GiB come from the heap, which keeps freed memory
_TRIM_THRESHOLD = (1 << 31) - 1  # never trim the heap's free top below 2 GiB

_mode: str | None = None


def configure_allocator(mode: str | None = None) -> str:
    """Apply ``mode`` (``'tuned'`` or ``'default'``; None: the ``SKEL_MALLOC`` environment
    variable, else ``'tuned'``) and return the mode in effect: ``'tuned'``, ``'default'``, or
    ``'unavailable'`` when the C library is not glibc. Settings stay for the whole process, so a
    later call cannot undo ``'tuned'``; asking for ``'default'`` then raises ConfigError, as
    does an unknown mode."""
    global _mode
    if mode is None:
        mode = os.environ.get(ENV_VAR, "tuned")
        source = f"environment variable {ENV_VAR}"
    else:
        source = "configure_allocator"
    if mode not in MODES:
        raise ConfigError(f"{source}: allocator mode must be one of {MODES}, got {mode!r}")
    if mode == "default":
        if _mode == "tuned":
            raise ConfigError("configure_allocator: the allocator is already tuned in this "
                             "process; start a new one for 'default'")
        _mode = _mode or "default"
        return _mode
    if _mode != "tuned":
        _mode = "tuned" if _tune_glibc() else "unavailable"
    return _mode


def _tune_glibc() -> bool:
    """Raise glibc's mmap and trim thresholds; False when the C library has no ``mallopt``
    that is glibc's."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return False
    libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    libc.mallopt.restype = ctypes.c_int
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
                and libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
