# Prints the build configuration and writes it to _build_config.json beside the library, where
# skel_kernels.build_info() reads it and checks the torch version at import.
#
# Sets: SKEL_BUILD_CONFIG_FILE.

function(skel_json_string value out_var)
  string(REPLACE "\\" "\\\\" value "${value}")
  string(REPLACE "\"" "\\\"" value "${value}")
  set(${out_var} "\"${value}\"" PARENT_SCOPE)
endfunction()

function(skel_json_bool value out_var)
  if(value)
    set(${out_var} true PARENT_SCOPE)
  else()
    set(${out_var} false PARENT_SCOPE)
  endif()
endfunction()

set(_skel_archs "[]")
if(SKEL_CUDA_ENABLED)
  set(_skel_index 0)
  foreach(_skel_arch IN LISTS SKEL_CUDA_ARCHS)
    skel_json_string("${_skel_arch}" _skel_value)
    string(JSON _skel_archs SET "${_skel_archs}" ${_skel_index} "${_skel_value}")
    math(EXPR _skel_index "${_skel_index} + 1")
  endforeach()
  skel_json_string("${CMAKE_CUDA_COMPILER_ID} ${CMAKE_CUDA_COMPILER_VERSION}" _skel_cuda_compiler)
else()
  set(_skel_cuda_compiler null)
endif()

set(_skel_json "{}")
skel_json_string("${SKEL_TORCH_VERSION}" _skel_value)
string(JSON _skel_json SET "${_skel_json}" torch_version "${_skel_value}")
skel_json_bool("${SKEL_CUDA_ENABLED}" _skel_value)
string(JSON _skel_json SET "${_skel_json}" cuda_built "${_skel_value}")
string(JSON _skel_json SET "${_skel_json}" cuda_archs "${_skel_archs}")
string(JSON _skel_json SET "${_skel_json}" cuda_compiler "${_skel_cuda_compiler}")
skel_json_bool("${SKEL_OPENMP}" _skel_value)
string(JSON _skel_json SET "${_skel_json}" openmp "${_skel_value}")
skel_json_string("${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}" _skel_value)
string(JSON _skel_json SET "${_skel_json}" compiler "${_skel_value}")
skel_json_string("${CMAKE_BUILD_TYPE}" _skel_value)
string(JSON _skel_json SET "${_skel_json}" build_type "${_skel_value}")

set(SKEL_BUILD_CONFIG_FILE "${CMAKE_CURRENT_BINARY_DIR}/_build_config.json")
# file(CONFIGURE) rewrites the file only when its content changes, so reconfiguring does not
# make an incremental rebuild reinstall it.
file(CONFIGURE OUTPUT "${SKEL_BUILD_CONFIG_FILE}" CONTENT "${_skel_json}\n" @ONLY)

message(STATUS "skel_kernels build configuration:")
message(STATUS "  torch           ${SKEL_TORCH_VERSION} (${SKEL_TORCH_ROOT})")
message(STATUS "  python          ${Python_EXECUTABLE}")
message(STATUS "  compiler        ${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}, "
               "${CMAKE_BUILD_TYPE}")
message(STATUS "  OpenMP          ${SKEL_OPENMP}")
message(STATUS "  CUDA kernels    ${SKEL_CUDA_ENABLED} (SKEL_CUDA=${SKEL_CUDA}: ${SKEL_CUDA_REASON})")
if(SKEL_CUDA_ENABLED OR SKEL_CUDA_CHECK_ENABLED)
  message(STATUS "  CUDA archs      ${SKEL_CUDA_ARCHS}")
endif()
message(STATUS "  compile check   ${SKEL_CUDA_CHECK_ENABLED} (${SKEL_CUDA_CHECK_REASON})")
message(STATUS "  C++ tests       ${SKEL_BUILD_TESTS}")
