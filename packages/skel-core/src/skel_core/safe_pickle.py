"""Loading pickles without running the code they name.

A pickle is a small program: its GLOBAL opcodes import any callable and its REDUCE opcodes call
it, so ``pickle.load`` on a downloaded annotation file can run anything. The loader here only
lets a pickle reach the handful of globals that numpy arrays, numpy scalars, dtypes and builtin
containers are made of (under their numpy 1.x and 2.x names, and the Python 2 names that
old mmcv-written files use); any other global stops the load with :class:`UnsafePickleError`
before it is called. Unreadable data raises :class:`CorruptFileError`. Both name the file.
"""

from __future__ import annotations

import _compat_pickle
import codecs
import collections
import io
import os
import pickle
from collections.abc import Callable
from typing import IO, Any

import numpy as np

from skel_core.errors import CorruptFileError, UnsafePickleError

try:  # numpy >= 2 (numpy 1.26 also ships this alias package)
    from numpy._core import multiarray as _multiarray
    from numpy._core import numeric as _numeric
except ImportError:  # numpy < 1.26
    from numpy.core import multiarray as _multiarray
    from numpy.core import numeric as _numeric

try:  # numpy >= 2: pickled StringDType arrays call this
    from numpy._core._internal import _convert_to_stringdtype_kwargs
except ImportError:
    _convert_to_stringdtype_kwargs = None

try:  # numpy >= 1.25
    from numpy import dtypes as _numpy_dtypes
except ImportError:
    _numpy_dtypes = None

PathOrFile = str | os.PathLike | IO[bytes]

# Encodings under which ``_codecs.encode(text, encoding)`` merely turns a str back into the
# bytes it came from; protocol-2 pickles written by Python 3 store ``bytes`` that way.
_BYTE_ENCODINGS = frozenset({"latin1", "latin-1", "iso-8859-1", "iso8859-1", "l1"})


def _encode_bytes(text: str, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` restricted to the byte-preserving encodings pickle uses."""
    if not isinstance(text, str) or str(encoding).lower() not in _BYTE_ENCODINGS:
        raise UnsafePickleError(
            f"_codecs.encode called with encoding {encoding!r}; only latin-1 is allowed"
        )
    return codecs.encode(text, "latin1")


def _numpy_globals() -> dict[str, Any]:
    internals = {
        "multiarray._reconstruct": _multiarray._reconstruct,
        "multiarray.scalar": _multiarray.scalar,
        "numeric._frombuffer": _numeric._frombuffer,
    }
    if _convert_to_stringdtype_kwargs is not None:
        internals["_internal._convert_to_stringdtype_kwargs"] = _convert_to_stringdtype_kwargs
    allowed: dict[str, Any] = {"numpy.ndarray": np.ndarray, "numpy.dtype": np.dtype}
    # numpy 2 renamed numpy.core to numpy._core; files carry whichever name wrote them.
    for package in ("numpy.core", "numpy._core"):
        for name, value in internals.items():
            allowed[f"{package}.{name}"] = value
    if _numpy_dtypes is not None:
        for name in dir(_numpy_dtypes):
            value = getattr(_numpy_dtypes, name)
            if isinstance(value, type) and issubclass(value, np.dtype):
                allowed[f"numpy.dtypes.{name}"] = value
    return allowed


def _builtin_globals() -> dict[str, Any]:
    types = (dict, list, tuple, set, frozenset, str, bytes, bytearray, int, float, bool, complex)
    allowed: dict[str, Any] = {f"builtins.{t.__name__}": t for t in types}
    allowed["collections.OrderedDict"] = collections.OrderedDict
    allowed["collections.defaultdict"] = collections.defaultdict
    allowed["_codecs.encode"] = _encode_bytes
    return allowed


ALLOWED_GLOBALS: dict[str, Any] = {**_numpy_globals(), **_builtin_globals()}
"""Every ``module.name`` a pickle may refer to, mapped to the object it resolves to."""


def _python3_name(module: str, name: str) -> str:
    """The Python 3 spelling of a global written by Python 2 (``__builtin__.set``...)."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    else:
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    return f"{module}.{name}"


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler whose globals come only from :data:`ALLOWED_GLOBALS`."""

    def __init__(self, file: IO[bytes], source: str):
        # latin1 lets numpy arrays pickled by Python 2 decode their raw bytes unchanged.
        super().__init__(file, encoding="latin1")
        self.source = source

    def find_class(self, module: str, name: str) -> Any:
        found = ALLOWED_GLOBALS.get(_python3_name(module, name))
        if found is None:
            raise UnsafePickleError(
                f"{self.source}: refused to load global '{module}.{name}'; only numpy arrays "
                "and builtin values may appear in this file (nothing was executed)"
            )
        return found

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(
            f"{self.source}: refused persistent id {pid!r}; this file needs the program that "
            "wrote it (nothing was executed)"
        )


def _read(file: PathOrFile) -> tuple[bytes, str]:
    """The whole content of a path or binary file object, and a name for messages."""
    if isinstance(file, (str, os.PathLike)):
        path = os.fspath(file)
        with open(path, "rb") as handle:
            return handle.read(), path
    return file.read(), str(getattr(file, "name", "<stream>"))


def _unpickle(data: bytes, source: str, load: Callable[[IO[bytes]], Any]) -> Any:
    if not data:
        raise CorruptFileError(f"{source}: file is empty, expected a pickle")
    try:
        return load(io.BytesIO(data))
    except UnsafePickleError:
        raise
    except Exception as exc:
        # Only allowed, side-effect-free callables can run, so any failure means bad data.
        raise CorruptFileError(
            f"{source}: not a readable pickle (truncated or corrupt): {type(exc).__name__}: {exc}"
        ) from exc


def safe_loads(data: bytes, *, source: str = "<bytes>") -> Any:
    """Unpickle ``data``, allowing only numpy arrays/scalars/dtypes and builtin values.

    Raises :class:`UnsafePickleError` naming ``source`` and the refused ``module.name`` if the
    pickle refers to anything else (nothing is called), :class:`CorruptFileError` if it is
    empty, truncated or malformed.
    """
    return _unpickle(data, source, lambda f: _RestrictedUnpickler(f, source).load())


def safe_load(file: PathOrFile) -> Any:
    """Read and unpickle a path or binary file object like :func:`safe_loads`.

    A missing path raises ``FileNotFoundError`` with the path.
    """
    data, source = _read(file)
    return safe_loads(data, source=source)


def trusted_load(file: PathOrFile) -> Any:
    """Unpickle with the plain, unrestricted ``pickle`` module.

    DANGEROUS: the file can run arbitrary code on this machine. Use it only for files you
    wrote yourself and that contain objects :func:`safe_load` refuses.
    """
    data, source = _read(file)
    return _unpickle(data, source, lambda f: pickle.load(f, encoding="latin1"))
