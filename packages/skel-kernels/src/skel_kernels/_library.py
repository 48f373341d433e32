"""Finds, checks and loads ``_C``, the compiled op library installed beside this package.

The build writes ``_build_config.json`` next to the library. It is read before the library is
loaded: a library built against another torch would otherwise fail with an undefined symbol,
or crash, instead of saying what is wrong.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

PACKAGE_DIR = Path(__file__).resolve().parent
BUILD_CONFIG_NAME = "_build_config.json"
LIBRARY_SUFFIXES = (".so", ".dylib", ".dll")
REBUILD_HINT = (
    "build and install it with `pip install --no-build-isolation packages/skel-kernels` "
    "from the repository root (or `pip install packages/skel-kernels` for an isolated build)"
)

# The keys of _build_config.json and their types.
BUILD_CONFIG_KEYS: dict[str, type | tuple[type, ...]] = {
    "torch_version": str,
    "cuda_built": bool,
    "cuda_archs": list,
    "cuda_compiler": (str, type(None)),
    "openmp": bool,
    "compiler": str,
    "build_type": str,
}


class KernelLibraryError(ImportError):
    """The compiled op library is missing, unreadable or built against another torch."""


def read_build_config(package_dir: Path = PACKAGE_DIR) -> dict[str, Any]:
    """The build configuration written next to the library, checked for every expected key."""
    path = package_dir / BUILD_CONFIG_NAME
    if not path.is_file():
        raise KernelLibraryError(f"skel_kernels is not built ({path} is missing); {REBUILD_HINT}")
    try:
        config = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise KernelLibraryError(f"cannot read {path}: {error}; {REBUILD_HINT}") from error
    if not isinstance(config, dict):
        raise KernelLibraryError(f"{path} holds {type(config).__name__}, not an object")
    for key, expected in BUILD_CONFIG_KEYS.items():
        if key not in config:
            raise KernelLibraryError(f"{path} has no key '{key}'; {REBUILD_HINT}")
        if not isinstance(config[key], expected):
            raise KernelLibraryError(
                f"{path}: '{key}' is {config[key]!r}, expected {_type_names(expected)}"
            )
    return config


def check_torch_version(config: dict[str, Any], package_dir: Path = PACKAGE_DIR) -> None:
    """Raises KernelLibraryError unless the running torch is the one the library was built with."""
    built, running = config["torch_version"], torch.__version__
    if built != running:
        raise KernelLibraryError(
            f"the skel_kernels library in {package_dir} was built against torch {built}, but "
            f"torch {running} is installed; the C++ ABI of torch changes between versions, so "
            f"rebuild it: {REBUILD_HINT}"
        )


def find_library(package_dir: Path = PACKAGE_DIR) -> Path:
    """The one ``_C`` shared library in ``package_dir``."""
    found = sorted(path for path in package_dir.glob("_C*") if path.suffix in LIBRARY_SUFFIXES)
    if not found:
        raise KernelLibraryError(f"no _C library in {package_dir}; {REBUILD_HINT}")
    if len(found) > 1:
        names = ", ".join(path.name for path in found)
        raise KernelLibraryError(
            f"several _C libraries in {package_dir} ({names}); remove the stale ones or "
            f"reinstall: {REBUILD_HINT}"
        )
    return found[0]


def load(package_dir: Path = PACKAGE_DIR) -> tuple[Path, dict[str, Any]]:
    """Checks and loads the library, registering the ``torch.ops.skel`` ops.

    Returns the library's path and its build configuration.
    """
    config = read_build_config(package_dir)
    check_torch_version(config, package_dir)
    library = find_library(package_dir)
    try:
        torch.ops.load_library(str(library))
    except OSError as error:
        raise KernelLibraryError(f"cannot load {library}: {error}; {REBUILD_HINT}") from error
    return library, config


def _type_names(expected: type | tuple[type, ...]) -> str:
    types = expected if isinstance(expected, tuple) else (expected,)
    return " or ".join("null" if kind is type(None) else kind.__name__ for kind in types)
