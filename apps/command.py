"""What the command-line entry points share: skel's own errors end the command with a one-line
message and exit status 2 instead of a traceback (they name the file, key or sample at fault)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from skel_core.errors import SkelError


def run_command(prog: str, body: Callable[[], int]) -> int:
    """``body()``'s exit status; a :class:`SkelError` is printed as ``prog: error: ...``."""
    try:
        return body()
    except SkelError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return 2
