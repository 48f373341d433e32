"""The installed skel_kernels build: its op library is loaded into the running torch and reports
how it was built, and a library that is missing, broken or built against another torch is
refused with an ImportError that says what to do."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
import torch

import skel_kernels
from skel_kernels import _library
from skel_kernels._library import KernelLibraryError

INSTALLED_DIR = Path(skel_kernels.build_info()["library"]).parent
PYPROJECT = Path(__file__).resolve().parents[2] / "packages" / "skel-kernels" / "pyproject.toml"
# The installed build must be the one of this source tree.
SOURCE_VERSION = re.search(r'^version = "(.+)"$', PYPROJECT.read_text(), re.MULTILINE).group(1)


def test_build_info_matches_the_running_torch():
    info = skel_kernels.build_info()
    assert info["torch_version"] == torch.__version__
    assert info["torch_runtime_version"] == torch.__version__
    assert info["torch_matches"] is True
    assert info["openmp"] is True
    assert info["num_threads"] == torch.get_num_threads()
    assert info["cuda_available"] == torch.cuda.is_available()
    assert info["version"] == SOURCE_VERSION


def test_cuda_is_built_only_against_a_cuda_torch():
    info = skel_kernels.build_info()
    if torch.version.cuda is None:
        assert info["cuda_built"] is False
    assert bool(info["cuda_archs"]) == info["cuda_built"]
    assert (info["cuda_compiler"] is not None) == info["cuda_built"]


def test_library_is_loaded_and_defines_the_skel_namespace():
    library = skel_kernels.build_info()["library"]
    assert library in torch.ops.loaded_libraries
    # A namespace can be defined once only, so a second definition must name ops.cpp as the first.
    with pytest.raises(RuntimeError, match=r"namespace skel;.*registered at .*csrc/ops\.cpp"):
        torch.library.Library("skel", "DEF")


def test_available_backends_reflect_this_process(monkeypatch):
    gpu = torch.cuda.is_available()
    triton_installed = importlib.util.find_spec("triton") is not None
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    assert skel_kernels.available_backends() == {
        "reference": True,
        "cpu": True,
        "cuda": skel_kernels.build_info()["cuda_built"] and gpu,
        "triton": triton_installed and gpu,
    }
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    assert skel_kernels.available_backends()["triton"] == triton_installed


@pytest.fixture
def package_dir(tmp_path: Path) -> Path:
    """An empty package directory holding a copy of the installed build configuration."""
    config = (INSTALLED_DIR / _library.BUILD_CONFIG_NAME).read_text()
    (tmp_path / _library.BUILD_CONFIG_NAME).write_text(config)
    return tmp_path


def _edit_config(package_dir: Path, drop: str | None = None, **changes: object) -> None:
    path = package_dir / _library.BUILD_CONFIG_NAME
    config = json.loads(path.read_text())
    config.update(changes)
    if drop is not None:
        del config[drop]
    path.write_text(json.dumps(config))


def test_unbuilt_package_explains_how_to_build(tmp_path):
    with pytest.raises(KernelLibraryError, match=r"not built.*--no-build-isolation") as caught:
        _library.load(tmp_path)
    assert isinstance(caught.value, ImportError)


def test_library_built_against_another_torch_is_refused_before_loading(package_dir):
    _edit_config(package_dir, torch_version="2.12.0+cpu")
    # Not a loadable library: the version check must come first and stop the load.
    (package_dir / "_C.so").write_bytes(b"not an ELF file")
    expected = rf"built against torch 2\.12\.0\+cpu, but torch {re.escape(torch.__version__)}"
    with pytest.raises(KernelLibraryError, match=expected):
        _library.load(package_dir)


def test_missing_library_is_reported(package_dir):
    with pytest.raises(KernelLibraryError, match=r"no _C library in .*pip install"):
        _library.load(package_dir)


def test_stale_second_library_is_reported(package_dir):
    (package_dir / "_C.so").write_bytes(b"")
    (package_dir / "_C.cpython-311.so").write_bytes(b"")
    expected = r"several _C libraries .*\(_C\.cpython-311\.so, _C\.so\)"
    with pytest.raises(KernelLibraryError, match=expected):
        _library.load(package_dir)


def test_unloadable_library_is_reported(package_dir):
    (package_dir / "_C.so").write_bytes(b"not an ELF file")
    with pytest.raises(KernelLibraryError, match=r"cannot load .*_C\.so"):
        _library.load(package_dir)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"drop": "openmp"}, r"has no key 'openmp'"),
        ({"openmp": "yes"}, r"'openmp' is 'yes', expected bool"),
        ({"cuda_compiler": 13}, r"'cuda_compiler' is 13, expected str or null"),
    ],
)
def test_malformed_build_config_names_the_key(package_dir, edit, message):
    _edit_config(package_dir, **edit)
    with pytest.raises(KernelLibraryError, match=message):
        _library.read_build_config(package_dir)


def test_unreadable_build_config_names_the_file(package_dir):
    (package_dir / _library.BUILD_CONFIG_NAME).write_text("{")
    with pytest.raises(KernelLibraryError, match=r"cannot read .*_build_config\.json"):
        _library.read_build_config(package_dir)
