// SKEL_HOST_DEVICE marks a function that runs both in a CPU kernel and in a CUDA kernel, so that
// both backends compute with the very same code: `__host__ __device__` under nvcc, nothing for a
// plain C++ compiler.
#pragma once

#ifdef __CUDACC__
#define SKEL_HOST_DEVICE __host__ __device__
#else
#define SKEL_HOST_DEVICE
#endif
