"""What the command-line entry points share: the allocator set up first
(:mod:`skel_apps.allocator`), and skel's own errors ending the command with a one-line message
and exit status 2 instead of a traceback (they name the file, key or sample at fault)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from skel_core.errors import SkelError

from .allocator import configure_allocator


def run_command(prog: str, body: Callable[[], int]) -> int:
    """``body()``'s exit status, run after :func:`configure_allocator`; a :class:`SkelError`
    is printed as ``prog: error: ...``."""
    try:
        configure_allocator()
        return body()
    except SkelError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
