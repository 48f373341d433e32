# Locates the torch installed in the build's Python interpreter and describes it as the
# interface target `skel::torch` (headers + libtorch_cpu + libc10).
#
# Why not find_package(Torch): torch's own CMake config works for a CPU torch, but for a CUDA
# torch it insists on a full CUDA toolkit (it fails without nvcc, and links cuBLAS/cuFFT/...
# targets that minimal toolkits lack) and it replaces CMake's CUDA architectures with
# TORCH_CUDA_ARCH_LIST. The op library needs only the headers and two libraries, which is also
# all that torch.utils.cpp_extension passes to the compiler. Python's own torch is asked where
# it lives, so the build always matches the torch that will load the library.
#
# Sets: SKEL_TORCH_VERSION, SKEL_TORCH_CUDA_VERSION ("" for a CPU torch), SKEL_TORCH_ROOT.

find_package(Python 3.10 REQUIRED COMPONENTS Interpreter)

set(_skel_torch_query [=[
import os, torch
print(torch.__version__, os.path.dirname(torch.__file__), torch.version.cuda or "",
      int(torch.compiled_with_cxx11_abi()), sep=";", end="")
]=])
execute_process(
  COMMAND "${Python_EXECUTABLE}" -c "${_skel_torch_query}"
  OUTPUT_VARIABLE _skel_torch_facts
  ERROR_VARIABLE _skel_torch_error
  RESULT_VARIABLE _skel_torch_result)
if(NOT _skel_torch_result EQUAL 0)
  message(FATAL_ERROR
    "skel_kernels: `import torch` failed in ${Python_EXECUTABLE}:\n${_skel_torch_error}\n"
    "Install torch==2.13.0 into that interpreter, or choose another one with "
    "-DPython_EXECUTABLE=/path/to/python.")
endif()
list(GET _skel_torch_facts 0 SKEL_TORCH_VERSION)
list(GET _skel_torch_facts 1 SKEL_TORCH_ROOT)
list(GET _skel_torch_facts 2 SKEL_TORCH_CUDA_VERSION)
list(GET _skel_torch_facts 3 _skel_torch_cxx11_abi)

set(_skel_torch_libraries)
foreach(_skel_name IN ITEMS torch_cpu c10)
  set(_skel_path
    "${SKEL_TORCH_ROOT}/lib/${CMAKE_SHARED_LIBRARY_PREFIX}${_skel_name}${CMAKE_SHARED_LIBRARY_SUFFIX}")
  if(NOT EXISTS "${_skel_path}")
    message(FATAL_ERROR "skel_kernels: torch ${SKEL_TORCH_VERSION} has no ${_skel_path}")
  endif()
  list(APPEND _skel_torch_libraries "${_skel_path}")
endforeach()

add_library(skel_torch INTERFACE)
add_library(skel::torch ALIAS skel_torch)
# SYSTEM: warnings inside torch's headers are torch's business, ours are not silenced.
# include/torch/csrc/api/include (the C++ frontend, <torch/torch.h>) is left out on purpose.
target_include_directories(skel_torch SYSTEM INTERFACE "${SKEL_TORCH_ROOT}/include")
target_link_libraries(skel_torch INTERFACE ${_skel_torch_libraries})
# Some toolchains default to the old libstdc++ ABI; the library must use torch's.
target_compile_definitions(skel_torch INTERFACE _GLIBCXX_USE_CXX11_ABI=${_skel_torch_cxx11_abi})
