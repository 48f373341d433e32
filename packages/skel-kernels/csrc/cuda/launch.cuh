// How the CUDA kernels of skel launch: an element-wise kernel (one thread per output element,
// grid-stride loop) and a sum kernel (one block per output element, a shared-memory tree over
// its terms), both on the current stream of the tensors' device, with the launch error checked.
// Launcher is the executor that the schedules in graph_conv_math.h are written for.
//
// Only the CUDA runtime and device-generic torch headers are used (see README.md), so this
// compiles against a CPU torch too.
#pragma once

#include <ATen/DeviceAccelerator.h>
#include <c10/core/Device.h>
#include <c10/util/Exception.h>

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

namespace skel::cuda {

constexpr int kThreads = 256;  // per block; a power of two for the sum's tree
// Enough blocks to fill any current GPU; the grid-stride loops cover the rest.
constexpr int64_t kMaxBlocks = 32768;

inline int blocks_for(int64_t count) {
  return static_cast<int>(std::min<int64_t>((count + kThreads - 1) / kThreads, kMaxBlocks));
}

template <typename Step>
__global__ void for_each_kernel(int64_t count, Step step) {
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += stride) {
    step(i);
  }
}

template <typename scalar_t, typename Term>
__global__ void sum_kernel(int64_t outputs, int64_t terms, Term term, scalar_t* out) {
  __shared__ scalar_t partial[kThreads];
  for (int64_t e = blockIdx.x; e < outputs; e += gridDim.x) {
    scalar_t sum = 0;
    for (int64_t r = threadIdx.x; r < terms; r += blockDim.x) {
      sum += term(e, r);
    }
    partial[threadIdx.x] = sum;
    __syncthreads();
    for (unsigned int half = blockDim.x / 2; half > 0; half /= 2) {
      if (threadIdx.x < half) {
        partial[threadIdx.x] += partial[threadIdx.x + half];
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) {
      out[e] = partial[0];
    }
    __syncthreads();  // partial[0] is read before the next output overwrites it
  }
}

inline void check_launch(const char* op) {
  const cudaError_t status = cudaGetLastError();
  TORCH_CHECK(status == cudaSuccess, op, ": launching a CUDA kernel failed: ",
              cudaGetErrorString(status),
              " (for 'no kernel image is available', rebuild skel-kernels with this GPU's "
              "architecture in TORCH_CUDA_ARCH_LIST or SKEL_CUDA_ARCHITECTURES)");
}

// Launches the kernels of `op` (named in errors) on one stream; the caller holds a device
// guard for the stream's device.
struct Launcher {
  cudaStream_t stream;
  const char* op;

  // The current stream of `device`, as torch's own CUDA kernels use.
  static Launcher on_current_stream(const c10::Device& device, const char* op) {
    return {static_cast<cudaStream_t>(
                at::accelerator::getCurrentStream(device.index()).native_handle()),
            op};
  }

  // step(i) for every i in [0, count).
  template <typename Step>
  void for_each(int64_t count, const Step& step) const {
    if (count == 0) {
      return;
    }
    for_each_kernel<<<blocks_for(count), kThreads, 0, stream>>>(count, step);
    check_launch(op);
  }

  // out[e] = sum over r in [0, terms) of term(e, r), for every e in [0, outputs).
  template <typename scalar_t, typename Term>
  void sum(int64_t outputs, int64_t terms, const Term& term, scalar_t* out) const {
    if (outputs == 0) {
      return;
    }
    const int blocks = static_cast<int>(std::min<int64_t>(outputs, kMaxBlocks));
    sum_kernel<<<blocks, kThreads, 0, stream>>>(outputs, terms, term, out);
    check_launch(op);
  }
};

}  // namespace skel::cuda
