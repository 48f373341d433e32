"""Atomic file writing: a file appears under its final name complete, or not at all.

The data goes to a temporary file in the destination's directory (same filesystem, so the final
``os.replace`` is atomic), is flushed and fsynced, then renamed over the destination; the
directory is fsynced too so the rename itself survives a power loss. If anything fails before
the rename, the temporary file is removed and an existing destination is left untouched.

Usage::

    with atomic_write(path) as f:   # f is a binary file object
        f.write(data)
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], *, make_parents: bool = True) -> Iterator[BinaryIO]:
    """Yield a binary file whose contents replace ``path`` atomically when the block exits.

    Parent directories are created when ``make_parents`` is true. An exception inside the block
    removes the temporary file, re-raises, and leaves any existing ``path`` as it was. The new
    file gets the usual permissions for the process umask (unlike ``tempfile.mkstemp``'s 0600).
    """
    target = Path(path)
    if make_parents:
        target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_directory(target.parent)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path) as f:
        f.write(data)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename durable. Some platforms (Windows) cannot open a directory; the rename is
    # still atomic there, only its durability across a power loss is weaker.
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
