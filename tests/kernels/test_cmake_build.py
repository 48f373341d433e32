"""The root CMake project, as used for kernel work outside pip: it configures, builds the op
library and the C++ tests, and passes ctest; where nvcc exists it also compiles every .cu file
and links them into a library of CUDA kernels that registers with torch
(SKEL_CUDA_COMPILE_CHECK), and a broken .cu file fails that build.

The build directories live in build/ (gitignored) and are reused, so reruns are incremental.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
KERNELS_DIR = REPO_ROOT / "packages" / "skel-kernels"
ROOT_BUILD = REPO_ROOT / "build" / "cmake-root"
CHECK_PROJECT = REPO_ROOT / "build" / "cmake-cuda-check"
CPP_TESTS = ("test_library_registration", "test_parallel_for")

# A CUDA kernel written the way README.md prescribes: runtime API, raw pointers, and only
# device-generic torch headers, so that it compiles against a CPU torch.
GOOD_CU = """\
#include <ATen/DeviceAccelerator.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty_like.h>
#include <c10/core/DeviceGuard.h>
#include <torch/library.h>

#include <cuda_runtime.h>

namespace {

__global__ void scale_kernel(const float* x, float* y, float factor, int64_t n) {
  const int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  if (i < n) y[i] = factor * x[i];
}

at::Tensor scale_cuda(const at::Tensor& x, double factor) {
  TORCH_CHECK(x.is_cuda() && x.is_contiguous(), "x must be a contiguous CUDA tensor");
  const c10::DeviceGuard guard(x.device());
  at::Tensor y = at::empty_like(x);
  auto stream = static_cast<cudaStream_t>(
      at::accelerator::getCurrentStream(x.device().index()).native_handle());
  const int64_t n = x.numel();
  scale_kernel<<<(n + 255) / 256, 256, 0, stream>>>(
      x.data_ptr<float>(), y.data_ptr<float>(), static_cast<float>(factor), n);
  const cudaError_t status = cudaGetLastError();
  TORCH_CHECK(status == cudaSuccess, "scale kernel launch failed: ", cudaGetErrorString(status));
  return y;
}

}  // namespace

TORCH_LIBRARY_IMPL(skel, CUDA, m) { m.impl("scale", &scale_cuda); }
"""

BROKEN_CU = """\
__global__ void broken_kernel(float* y) { y[0] = undefined_name; }
"""

# Loads _C and then the compile check's library of CUDA kernels; prints the skel ops, those of
# them with a CUDA kernel, and the error of graph_conv's CUDA kernel called on CPU tensors (the
# dispatcher is told to go straight to the CUDA kernel).
LOAD_CUDA_KERNELS = """\
import sys
import torch

for library in sys.argv[1:]:
    torch.ops.load_library(library)
ops = sorted(name for name in torch._C._dispatch_get_all_op_names() if name.startswith("skel::"))
with_cuda = [op for op in ops if torch._C._dispatch_has_kernel_for_dispatch_key(op, "CUDA")]
print(*ops)
print(*with_cuda)
cuda = torch._C.DispatchKeySet(torch._C.DispatchKey.CUDA)
x, weight, adjacency = torch.zeros(1, 2, 3, 4), torch.zeros(3, 5, 2), torch.zeros(3, 4, 4)
try:
    torch.ops.skel.graph_conv.default.redispatch(cuda, x, weight, adjacency, None)
except RuntimeError as error:
    print(str(error).splitlines()[0])
"""


def _nvcc_available() -> bool:
    return shutil.which("nvcc") is not None or Path("/usr/local/cuda/bin/nvcc").is_file()


def _run(command: list[str | Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(part) for part in command], capture_output=True, text=True)


def _check(command: list[str | Path]) -> str:
    result = _run(command)
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))} exited with {result.returncode}:\n"
        f"{result.stdout[-8000:]}\n{result.stderr[-8000:]}"
    )
    return result.stdout


def _write_if_changed(path: Path, text: str) -> None:
    """Keeps the file's timestamp when its text is unchanged, so ninja does not recompile it."""
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_root_project_builds_and_passes_ctest():
    compile_check = "ON" if _nvcc_available() else "OFF"
    configure = _check(
        [
            "cmake", "-S", REPO_ROOT, "-B", ROOT_BUILD, "-G", "Ninja",
            f"-DPython_EXECUTABLE={sys.executable}",
            f"-DSKEL_CUDA_COMPILE_CHECK={compile_check}",
        ]
    )  # fmt: skip
    assert re.search(rf"torch +{re.escape(torch.__version__)} ", configure)
    assert re.search(r"OpenMP +ON", configure)
    # A broken .cu file in csrc/cuda fails here when the compile check is on.
    _check(["cmake", "--build", ROOT_BUILD, "-j2"])
    if compile_check == "ON":
        _assert_cuda_kernels_compiled_and_linked(configure)
    ctest = _check(["ctest", "--test-dir", ROOT_BUILD, "--output-on-failure", "-j2"])
    for name in CPP_TESTS:
        assert re.search(rf"{name} \.+ +Passed", ctest), ctest


def _assert_cuda_kernels_compiled_and_linked(configure: str) -> None:
    """Every csrc/cuda/*.cu was compiled and linked into the check library, which registers a
    CUDA kernel for every skel op once loaded after _C, and whose kernels run their argument
    checks (the only part of them that can run without a GPU)."""
    sources = sorted((KERNELS_DIR / "csrc" / "cuda").glob("*.cu"))
    assert sources, "csrc/cuda holds the CUDA kernels"
    assert re.search(rf"compile check +ON \({len(sources)} \.cu file", configure), configure
    built = ROOT_BUILD / "packages" / "skel-kernels"
    objects = built / "CMakeFiles" / "skel_cuda_compile_check.dir" / "csrc" / "cuda"
    for source in sources:
        assert (objects / f"{source.name}.o").is_file(), f"{source.name} was not compiled"
    loaded = _check([sys.executable, "-c", LOAD_CUDA_KERNELS, built / "_C.so",
                     built / "libskel_cuda_compile_check.so"])
    ops, with_cuda, error = loaded.splitlines()
    assert ops == with_cuda and "skel::graph_conv" in ops.split(), loaded
    assert error == "graph_conv: the CUDA kernel needs CUDA tensors, but x is on cpu", loaded


@pytest.mark.skipif(not _nvcc_available(), reason="needs nvcc")
def test_compile_check_compiles_good_cu_files_and_fails_on_broken_ones():
    source = CHECK_PROJECT / "src"
    shutil.copytree(KERNELS_DIR / "cmake", source / "cmake", dirs_exist_ok=True)
    for name in ("CMakeLists.txt", "csrc/ops.cpp"):
        _write_if_changed(source / name, (KERNELS_DIR / name).read_text())
    _write_if_changed(source / "csrc" / "cuda" / "scale.cu", GOOD_CU)
    _write_if_changed(source / "csrc" / "cuda" / "broken.cu", BROKEN_CU)
    build = CHECK_PROJECT / "build"
    configure = _check(
        [
            "cmake", "-S", source, "-B", build, "-G", "Ninja",
            f"-DPython_EXECUTABLE={sys.executable}",
            "-DSKEL_CUDA=OFF", "-DSKEL_CUDA_COMPILE_CHECK=ON", "-DSKEL_CUDA_ARCHITECTURES=80",
        ]
    )  # fmt: skip
    assert re.search(r"compile check +ON \(2 \.cu file", configure), configure

    # -k 0: keep going after the broken file, so the good one is compiled too.
    result = _run(
        ["cmake", "--build", build, "-j2", "--target", "skel_cuda_compile_check", "--", "-k", "0"]
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert re.search(r"broken\.cu\(1\): error: identifier \"undefined_name\" is undefined", output)
    objects = build / "CMakeFiles" / "skel_cuda_compile_check.dir" / "csrc" / "cuda"
    assert (objects / "scale.cu.o").is_file(), output
    assert not (objects / "broken.cu.o").exists()
