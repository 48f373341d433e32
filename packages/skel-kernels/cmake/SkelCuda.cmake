# Decides whether CUDA kernels are built and whether the compile check (compile and link the
# .cu files, without running them) runs, and enables the CUDA language with a real nvcc when
# either needs it.
#
# Reads: SKEL_CUDA (AUTO|ON|OFF), SKEL_CUDA_COMPILE_CHECK, SKEL_TORCH_VERSION,
#        SKEL_TORCH_CUDA_VERSION, SKEL_CUDA_SOURCES, and the skel::torch target.
# Sets:  SKEL_CUDA_ENABLED / SKEL_CUDA_REASON, SKEL_CUDA_CHECK_ENABLED / SKEL_CUDA_CHECK_REASON,
#        SKEL_CUDA_ARCHS (the architectures compiled for: SKEL_CUDA_ARCHITECTURES, else
#        TORCH_CUDA_ARCH_LIST, else sm_75 to sm_90 code plus sm_90 PTX for the kernels, and
#        sm_75 code alone for the compile check); adds the nvcc flags torch's headers need to
#        skel::torch.

# Converts torch's TORCH_CUDA_ARCH_LIST ("8.0;8.6 9.0+PTX") to CMake's CUDA_ARCHITECTURES
# ("80-real;86-real;90"): in torch's list an entry is device code only unless it ends in +PTX.
function(skel_cuda_archs_from_torch_list torch_list out_var)
  string(REPLACE " " ";" _items "${torch_list}")
  set(_archs)
  foreach(_item IN LISTS _items)
    if(_item STREQUAL "")
      continue()
    endif()
    if(NOT _item MATCHES "^([0-9]+)\\.([0-9]+)([af]?)(\\+PTX)?$")
      message(FATAL_ERROR
        "skel_kernels: TORCH_CUDA_ARCH_LIST entry '${_item}' is not of the form 8.6 or 8.6+PTX")
    endif()
    set(_arch "${CMAKE_MATCH_1}${CMAKE_MATCH_2}${CMAKE_MATCH_3}")
    if(CMAKE_MATCH_4)
      list(APPEND _archs "${_arch}")
    else()
      list(APPEND _archs "${_arch}-real")
    endif()
  endforeach()
  set(${out_var} "${_archs}" PARENT_SCOPE)
endfunction()

# Finds nvcc and resolves it to the binary inside its toolkit. Wrapper scripts (such as a
# /usr/local/bin/nvcc that execs the real one) would make CMake look for the toolkit's
# headers and libraries beside the wrapper; nvcc's dry run names its real directory.
function(skel_find_real_nvcc out_var)
  set(_candidates ${CMAKE_CUDA_COMPILER})
  if(DEFINED ENV{CUDACXX})
    list(APPEND _candidates "$ENV{CUDACXX}")
  endif()
  foreach(_var IN ITEMS CUDA_HOME CUDA_PATH CUDAToolkit_ROOT)
    if(DEFINED ENV{${_var}})
      list(APPEND _candidates "$ENV{${_var}}/bin/nvcc")
    endif()
  endforeach()
  find_program(_skel_nvcc_on_path nvcc NO_CACHE)
  list(APPEND _candidates "${_skel_nvcc_on_path}" /usr/local/cuda/bin/nvcc)
  foreach(_nvcc IN LISTS _candidates)
    if(NOT EXISTS "${_nvcc}" OR IS_DIRECTORY "${_nvcc}")
      continue()
    endif()
    execute_process(
      COMMAND "${_nvcc}" --dryrun -E -x cu /dev/null
      OUTPUT_QUIET ERROR_VARIABLE _dryrun RESULT_VARIABLE _result)
    if(_result EQUAL 0 AND _dryrun MATCHES "_HERE_=([^\r\n]+)"
       AND EXISTS "${CMAKE_MATCH_1}/nvcc")
      set(${out_var} "${CMAKE_MATCH_1}/nvcc" PARENT_SCOPE)
      return()
    endif()
  endforeach()
  set(${out_var} "" PARENT_SCOPE)
endfunction()

set(SKEL_CUDA_ARCHITECTURES "" CACHE STRING
  "CUDA architectures in CMake's syntax (80 = sm_80 code + PTX, 80-real = code only); \
empty: from the TORCH_CUDA_ARCH_LIST environment variable when set, else \
75-real;80-real;86-real;89-real;90 (the compile check alone: 75-real)")

if(NOT SKEL_CUDA MATCHES "^(AUTO|ON|OFF)$")
  message(FATAL_ERROR "skel_kernels: SKEL_CUDA must be AUTO, ON or OFF, not '${SKEL_CUDA}'")
endif()

skel_find_real_nvcc(_skel_nvcc)

set(SKEL_CUDA_ENABLED OFF)
if(SKEL_CUDA STREQUAL "OFF")
  set(SKEL_CUDA_REASON "SKEL_CUDA=OFF")
elseif(SKEL_TORCH_CUDA_VERSION STREQUAL "")
  set(SKEL_CUDA_REASON "torch ${SKEL_TORCH_VERSION} was built without CUDA")
elseif(NOT _skel_nvcc)
  set(SKEL_CUDA_REASON
    "torch has CUDA ${SKEL_TORCH_CUDA_VERSION} but no nvcc was found (set CUDACXX or CUDA_HOME)")
else()
  set(SKEL_CUDA_ENABLED ON)
  set(SKEL_CUDA_REASON "torch has CUDA ${SKEL_TORCH_CUDA_VERSION}, nvcc is ${_skel_nvcc}")
endif()
if(SKEL_CUDA STREQUAL "ON" AND NOT SKEL_CUDA_ENABLED)
  message(FATAL_ERROR "skel_kernels: SKEL_CUDA=ON, but ${SKEL_CUDA_REASON}")
endif()

set(SKEL_CUDA_CHECK_ENABLED OFF)
if(NOT SKEL_CUDA_COMPILE_CHECK)
  set(SKEL_CUDA_CHECK_REASON "SKEL_CUDA_COMPILE_CHECK=OFF")
elseif(SKEL_CUDA_ENABLED)
  set(SKEL_CUDA_CHECK_REASON "not needed: the CUDA kernels are compiled into the library")
elseif(NOT SKEL_CUDA_SOURCES)
  set(SKEL_CUDA_CHECK_REASON "nothing to check: csrc/cuda has no .cu files yet")
elseif(NOT _skel_nvcc)
  message(FATAL_ERROR
    "skel_kernels: SKEL_CUDA_COMPILE_CHECK=ON but no nvcc was found (set CUDACXX or CUDA_HOME)")
else()
  set(SKEL_CUDA_CHECK_ENABLED ON)
  list(LENGTH SKEL_CUDA_SOURCES _skel_count)
  set(SKEL_CUDA_CHECK_REASON "${_skel_count} .cu file(s) compiled and linked by ${_skel_nvcc}")
endif()

set(SKEL_CUDA_ARCHS "")
if(SKEL_CUDA_ENABLED OR SKEL_CUDA_CHECK_ENABLED)
  if(NOT SKEL_CUDA_ARCHITECTURES STREQUAL "")
    set(SKEL_CUDA_ARCHS "${SKEL_CUDA_ARCHITECTURES}")
  elseif(NOT "$ENV{TORCH_CUDA_ARCH_LIST}" STREQUAL "")
    skel_cuda_archs_from_torch_list("$ENV{TORCH_CUDA_ARCH_LIST}" SKEL_CUDA_ARCHS)
  elseif(SKEL_CUDA_ENABLED)
    # Turing (T4) to Hopper as device code, Hopper's PTX for newer GPUs. A CUDA torch's own
    # default, sm_50, is no longer compiled by nvcc 13.
    set(SKEL_CUDA_ARCHS "75-real;80-real;86-real;89-real;90")
  else()
    # The compile check only has to show that every .cu compiles: the oldest architecture nvcc
    # 13 supports has the fewest features, and one architecture keeps the check quick.
    set(SKEL_CUDA_ARCHS "75-real")
  endif()
  set(CMAKE_CUDA_COMPILER "${_skel_nvcc}")
  set(CMAKE_CUDA_ARCHITECTURES "${SKEL_CUDA_ARCHS}")
  # torch uses the shared CUDA runtime; kernels must share it (launch errors, for one, are
  # recorded per runtime), not carry CMake's default static copy.
  set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)
  enable_language(CUDA)
  # torch's headers need C++20. CMake 3.25 does not know nvcc's flag for it (CUDA_STANDARD 20
  # is an error there), hence the plain flag. The rest is what torch.utils.cpp_extension gives
  # nvcc: c10::Half and c10::BFloat16 bring their own conversions, and torch's headers call
  # constexpr host functions from device code.
  target_compile_options(skel_torch INTERFACE
    "$<$<COMPILE_LANGUAGE:CUDA>:-std=c++20>"
    "$<$<COMPILE_LANGUAGE:CUDA>:-D__CUDA_NO_HALF_OPERATORS__;-D__CUDA_NO_HALF_CONVERSIONS__>"
    "$<$<COMPILE_LANGUAGE:CUDA>:-D__CUDA_NO_BFLOAT16_CONVERSIONS__;-D__CUDA_NO_HALF2_OPERATORS__>"
    "$<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr>")
endif()

if(SKEL_CUDA_ENABLED)
  string(REGEX MATCH "^[0-9]+" _skel_nvcc_major "${CMAKE_CUDA_COMPILER_VERSION}")
  string(REGEX MATCH "^[0-9]+" _skel_torch_cuda_major "${SKEL_TORCH_CUDA_VERSION}")
  if(NOT _skel_nvcc_major STREQUAL _skel_torch_cuda_major)
    message(WARNING
      "skel_kernels: nvcc is CUDA ${CMAKE_CUDA_COMPILER_VERSION} but torch was built with CUDA "
      "${SKEL_TORCH_CUDA_VERSION}; the library would load a second CUDA runtime. Point "
      "CUDA_HOME at a CUDA ${_skel_torch_cuda_major} toolkit.")
  endif()
endif()
