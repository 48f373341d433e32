// The math of skel::graph_conv and skel::_graph_conv_backward for the CUDA kernels, written as
// element-wise steps and sums over plain pointers. The spatial graph convolution is
//   out[n, o, t, w] = sum_k sum_v (sum_c weight[k, o, c] x[n, c, t, v] + bias[k, o]) A[k, v, w]
// with x (N, C_in, T, V), weight (K, C_out, C_in), A = adjacency (K, V, V), bias (K, C_out).
//
// Both backends choose between the same contraction orders (aggregate_joints_first,
// backward_through_input_channels); the CPU kernel runs each order as GEMMs per sample, the CUDA
// kernel runs the schedules below, which keep one (N, K, C, T, V) intermediate as PyTorch's
// unfused version does. The schedules are templates on an executor, so that
// tests/kernels/test_cuda.py can run exactly this code serially on the CPU. No torch here.
#pragma once

#include <cstdint>

#include "host_device.h"

namespace skel::graph_conv {

struct Dims {
  int64_t n, c_in, c_out, t, v, k;
};

// The aggregation over joints costs C_in*V multiply-adds per (sample, subset, frame, joint)
// before the channel mix (x A, then W) and C_out*V after it (W x, then A); the mix costs the same.
inline bool aggregate_joints_first(const Dims& d) { return d.c_in < d.c_out; }

// The backward through the input channels (x A and W^T G: three joint products of C_in rows,
// two channel products) or through the output channels (G A^T and W x: two joint products of
// C_out rows, three channel products), per (sample, subset, frame, joint).
inline bool backward_through_input_channels(const Dims& d) {
  return 3 * d.c_in * d.v + 2 * d.c_out * d.c_in <= 2 * d.c_out * d.v + 3 * d.c_out * d.c_in;
}

// K matrices: element (k, row, col) at k * stride_k + row * stride_row + col * stride_col. The
// weight and adjacency are read as such stacks, transposed by swapping the two strides.
template <typename scalar_t>
struct Matrices {
  const scalar_t* data;
  int64_t stride_k, stride_row, stride_col;

  SKEL_HOST_DEVICE scalar_t operator()(int64_t k, int64_t row, int64_t col) const {
    return data[k * stride_k + row * stride_row + col * stride_col];
  }
  Matrices transposed() const { return {data, stride_k, stride_col, stride_row}; }
};

// Features (N, [K,] C, P) with P = T * V positions: element (n, k, c, p) at
// n * stride_n + k * stride_k + c * stride_c + p. Features without a subset axis (x, grad_out)
// have stride_k = 0 and read the same for every k.
template <typename scalar_t>
struct Features {
  const scalar_t* data;
  int64_t stride_n, stride_k, stride_c;

  SKEL_HOST_DEVICE scalar_t operator()(int64_t n, int64_t k, int64_t c, int64_t p) const {
    return data[n * stride_n + k * stride_k + c * stride_c + p];
  }
};

// out (N, K, R, P): out[n, k, r, p] = sum_c m(k, r, c) in(n, k, c, p) + bias[k, r] (no bias
// when null).
template <typename scalar_t>
struct MixChannels {
  Features<scalar_t> in;
  Matrices<scalar_t> m;
  const scalar_t* bias;
  scalar_t* out;
  int64_t subsets, rows, channels, positions;

  SKEL_HOST_DEVICE void operator()(int64_t i) const {
    const int64_t p = i % positions;
    const int64_t r = (i / positions) % rows;
    const int64_t k = (i / (positions * rows)) % subsets;
    const int64_t n = i / (positions * rows * subsets);
    scalar_t sum = bias == nullptr ? scalar_t(0) : bias[k * rows + r];
    for (int64_t c = 0; c < channels; ++c) {
      sum += m(k, r, c) * in(n, k, c, p);
    }
    out[i] = sum;
  }
};

// out (N, R, P): out[n, r, p] = sum_k sum_c m(k, r, c) in(n, k, c, p) + extra[r, p % V] (none
// when null).
template <typename scalar_t>
struct MixChannelsSummed {
  Features<scalar_t> in;
  Matrices<scalar_t> m;
  const scalar_t* extra;
  scalar_t* out;
  int64_t subsets, rows, channels, positions, joints;

  SKEL_HOST_DEVICE void operator()(int64_t i) const {
    const int64_t p = i % positions;
    const int64_t r = (i / positions) % rows;
    const int64_t n = i / (positions * rows);
    scalar_t sum = extra == nullptr ? scalar_t(0) : extra[r * joints + p % joints];
    for (int64_t k = 0; k < subsets; ++k) {
      for (int64_t c = 0; c < channels; ++c) {
        sum += m(k, r, c) * in(n, k, c, p);
      }
    }
    out[i] = sum;
  }
};

// out (N, K, C, T, V): out[n, k, c, t, j] = sum_i in(n, k, c, t * V + i) a(k, i, j).
template <typename scalar_t>
struct MixJoints {
  Features<scalar_t> in;
  Matrices<scalar_t> a;
  scalar_t* out;
  int64_t subsets, channels, frames, joints;

  SKEL_HOST_DEVICE void operator()(int64_t i) const {
    const int64_t j = i % joints;
    const int64_t t = (i / joints) % frames;
    const int64_t c = (i / (joints * frames)) % channels;
    const int64_t k = (i / (joints * frames * channels)) % subsets;
    const int64_t n = i / (joints * frames * channels * subsets);
    scalar_t sum = 0;
    for (int64_t v = 0; v < joints; ++v) {
      sum += in(n, k, c, t * joints + v) * a(k, v, j);
    }
    out[i] = sum;
  }
};

// out (N, C, T, V): out[n, c, t, j] = sum_k sum_i in(n, k, c, t * V + i) a(k, i, j).
template <typename scalar_t>
struct MixJointsSummed {
  Features<scalar_t> in;
  Matrices<scalar_t> a;
  scalar_t* out;
  int64_t subsets, channels, frames, joints;

  SKEL_HOST_DEVICE void operator()(int64_t i) const {
    const int64_t j = i % joints;
    const int64_t t = (i / joints) % frames;
    const int64_t c = (i / (joints * frames)) % channels;
    const int64_t n = i / (joints * frames * channels);
    scalar_t sum = 0;
    for (int64_t k = 0; k < subsets; ++k) {
      for (int64_t v = 0; v < joints; ++v) {
        sum += in(n, k, c, t * joints + v) * a(k, v, j);
      }
    }
    out[i] = sum;
  }
};

// The bias's share of every output frame, out (C_out, V):
// out[o, w] = sum_k bias[k, o] sum_v adjacency[k, v, w].
template <typename scalar_t>
struct BiasTerm {
  const scalar_t* bias;
  const scalar_t* adjacency;
  scalar_t* out;
  int64_t subsets, c_out, joints;

  SKEL_HOST_DEVICE void operator()(int64_t i) const {
    const int64_t w = i % joints;
    const int64_t o = i / joints;
    scalar_t sum = 0;
    for (int64_t k = 0; k < subsets; ++k) {
      for (int64_t v = 0; v < joints; ++v) {
        sum += bias[k * c_out + o] * adjacency[(k * joints + v) * joints + w];
      }
    }
    out[i] = sum;
  }
};

// grad_bias (K, C_out): grad_bias[k, o] = sum_w (sum_v adjacency[k, v, w]) frame_sum[o, w].
template <typename scalar_t>
struct BiasGrad {
  const scalar_t* adjacency;
  const scalar_t* frame_sum;
  scalar_t* grad_bias;
  int64_t c_out, joints;

  SKEL_HOST_DEVICE void operator()(int64_t i) const {
    const int64_t o = i % c_out;
    const int64_t k = i / c_out;
    scalar_t sum = 0;
    for (int64_t w = 0; w < joints; ++w) {
      for (int64_t v = 0; v < joints; ++v) {
        sum += adjacency[(k * joints + v) * joints + w] * frame_sum[o * joints + w];
      }
    }
    grad_bias[i] = sum;
  }
};

// The bias's part of grad_adjacency (K, V, V), added in place:
// grad_adjacency[k, v, w] += sum_o bias[k, o] frame_sum[o, w].
template <typename scalar_t>
struct AdjacencyBiasGrad {
  const scalar_t* bias;
  const scalar_t* frame_sum;
  scalar_t* grad_adjacency;
  int64_t c_out, joints;

  SKEL_HOST_DEVICE void operator()(int64_t i) const {
    const int64_t w = i % joints;
    const int64_t k = i / (joints * joints);
    scalar_t sum = 0;
    for (int64_t o = 0; o < c_out; ++o) {
      sum += bias[k * c_out + o] * frame_sum[o * joints + w];
    }
    grad_adjacency[i] += sum;
  }
};

// grad_out summed over samples and frames, (C_out, V): term (n, t) of output (o, w) is
// grad_out[n, o, t, w].
template <typename scalar_t>
struct FrameSumTerms {
  const scalar_t* grad_out;
  int64_t c_out, frames, joints;

  SKEL_HOST_DEVICE scalar_t operator()(int64_t e, int64_t r) const {
    const int64_t w = e % joints;
    const int64_t o = e / joints;
    const int64_t t = r % frames;
    const int64_t n = r / frames;
    return grad_out[((n * c_out + o) * frames + t) * joints + w];
  }
};

// grad_weight (K, C_out, C_in): term (n, p) of output (k, o, c) is
// out_side(n, k, o, p) * in_side(n, k, c, p).
template <typename scalar_t>
struct WeightGradTerms {
  Features<scalar_t> out_side, in_side;
  int64_t c_out, c_in, positions;

  SKEL_HOST_DEVICE scalar_t operator()(int64_t e, int64_t r) const {
    const int64_t c = e % c_in;
    const int64_t o = (e / c_in) % c_out;
    const int64_t k = e / (c_in * c_out);
    const int64_t p = r % positions;
    const int64_t n = r / positions;
    return out_side(n, k, o, p) * in_side(n, k, c, p);
  }
};

// grad_adjacency (K, V, V): term (n, c, t) of output (k, v, w) is
// from(n, k, c, t * V + v) * to(n, k, c, t * V + w), c over `channels`.
template <typename scalar_t>
struct AdjacencyGradTerms {
  Features<scalar_t> from, to;
  int64_t channels, frames, joints;

  SKEL_HOST_DEVICE scalar_t operator()(int64_t e, int64_t r) const {
    const int64_t w = e % joints;
    const int64_t v = (e / joints) % joints;
    const int64_t k = e / (joints * joints);
    const int64_t t = r % frames;
    const int64_t c = (r / frames) % channels;
    const int64_t n = r / (frames * channels);
    return from(n, k, c, t * joints + v) * to(n, k, c, t * joints + w);
  }
};

// The inputs of one call, contiguous; bias is null when there is none.
template <typename scalar_t>
struct Operands {
  const scalar_t* x;
  const scalar_t* weight;
  const scalar_t* adjacency;
  const scalar_t* bias;
  Dims d;

  int64_t positions() const { return d.t * d.v; }
  Features<scalar_t> x_features() const { return {x, d.c_in * positions(), 0, positions()}; }
  // weight as (k, o, c) and adjacency as (k, v, w)
  Matrices<scalar_t> weights() const { return {weight, d.c_out * d.c_in, d.c_in, 1}; }
  Matrices<scalar_t> adjacencies() const { return {adjacency, d.v * d.v, d.v, 1}; }
  // A contiguous (N, K, channels, T, V) intermediate.
  Features<scalar_t> per_subset(const scalar_t* data, int64_t channels) const {
    return {data, d.k * channels * positions(), channels * positions(), positions()};
  }
};

// The schedules run on an executor that offers
//   for_each(count, step):              step(i) for every i in [0, count), in any order;
//   sum(outputs, terms, term, out):     out[e] = sum of term(e, r) over r in [0, terms), for
//                                       every e in [0, outputs);
// each call seeing the writes of the calls before it.

// Elements of scratch memory forward() needs.
inline int64_t forward_workspace_size(const Dims& d) {
  const int64_t channels = aggregate_joints_first(d) ? d.c_in : d.c_out;
  return d.n * d.k * channels * d.t * d.v + d.c_out * d.v;
}

// out (N, C_out, T, V) = graph_conv(x, weight, adjacency, bias).
template <typename scalar_t, typename Executor>
void forward(const Executor& exec, const Operands<scalar_t>& in, scalar_t* out,
             scalar_t* workspace) {
  const Dims& d = in.d;
  const int64_t positions = in.positions();
  if (aggregate_joints_first(d)) {
    // z = x A per subset, then out = sum_k W_k z_k + the bias term
    scalar_t* z = workspace;
    scalar_t* bias_term = workspace + d.n * d.k * d.c_in * positions;
    exec.for_each(d.n * d.k * d.c_in * positions,
                  MixJoints<scalar_t>{in.x_features(), in.adjacencies(), z, d.k, d.c_in, d.t, d.v});
    if (in.bias != nullptr) {
      exec.for_each(d.c_out * d.v,
                    BiasTerm<scalar_t>{in.bias, in.adjacency, bias_term, d.k, d.c_out, d.v});
    }
    exec.for_each(d.n * d.c_out * positions,
                  MixChannelsSummed<scalar_t>{in.per_subset(z, d.c_in), in.weights(),
                                              in.bias == nullptr ? nullptr : bias_term, out, d.k,
                                              d.c_out, d.c_in, positions, d.v});
  } else {
    // y = W x + b per subset, then out = sum_k y_k A_k
    scalar_t* y = workspace;
    exec.for_each(d.n * d.k * d.c_out * positions,
                  MixChannels<scalar_t>{in.x_features(), in.weights(), in.bias, y, d.k, d.c_out,
                                        d.c_in, positions});
    exec.for_each(d.n * d.c_out * positions,
                  MixJointsSummed<scalar_t>{in.per_subset(y, d.c_out), in.adjacencies(), out, d.k,
                                            d.c_out, d.t, d.v});
  }
}

// Elements of scratch memory backward() needs.
inline int64_t backward_workspace_size(const Dims& d) {
  const int64_t channels = backward_through_input_channels(d) ? d.c_in : d.c_out;
  return d.n * d.k * channels * d.t * d.v + d.c_out * d.v;
}

// The gradients of graph_conv: grad_x (N, C_in, T, V), grad_weight (K, C_out, C_in),
// grad_adjacency (K, V, V) and grad_bias (K, C_out), the last even without a bias (the gradient
// at a zero bias). With G = grad_out and, per subset, W = weight[k], A = adjacency[k]:
//   grad_x += W^T G A^T,  grad_weight[k] = sum G (x A)^T,  grad_adjacency[k] = sum x^T W^T G,
// plus the bias's terms, which need only G summed over samples and frames.
template <typename scalar_t, typename Executor>
void backward(const Executor& exec, const Operands<scalar_t>& in, const scalar_t* grad_out,
              scalar_t* grad_x, scalar_t* grad_weight, scalar_t* grad_adjacency,
              scalar_t* grad_bias, scalar_t* workspace) {
  const Dims& d = in.d;
  const int64_t positions = in.positions();
  const Features<scalar_t> g{grad_out, d.c_out * positions, 0, positions};
  const Features<scalar_t> x = in.x_features();
  const bool through_inputs = backward_through_input_channels(d);
  const int64_t channels = through_inputs ? d.c_in : d.c_out;
  scalar_t* s = workspace;  // the one (N, K, channels, T, V) intermediate
  const Features<scalar_t> s_features = in.per_subset(s, channels);
  scalar_t* frame_sum = workspace + d.n * d.k * channels * positions;

  exec.sum(d.c_out * d.v, d.n * d.t, FrameSumTerms<scalar_t>{grad_out, d.c_out, d.t, d.v},
           frame_sum);
  exec.for_each(d.k * d.c_out,
                BiasGrad<scalar_t>{in.adjacency, frame_sum, grad_bias, d.c_out, d.v});
  const int64_t subset_elements = d.n * d.k * channels * positions;
  if (through_inputs) {
    exec.for_each(subset_elements,
                  MixJoints<scalar_t>{x, in.adjacencies(), s, d.k, d.c_in, d.t, d.v});  // x A
    exec.sum(d.k * d.c_out * d.c_in, d.n * positions,
             WeightGradTerms<scalar_t>{g, s_features, d.c_out, d.c_in, positions}, grad_weight);
    exec.for_each(subset_elements,  // H = W^T G
                  MixChannels<scalar_t>{g, in.weights().transposed(), nullptr, s, d.k, d.c_in,
                                        d.c_out, positions});
    exec.for_each(d.n * d.c_in * positions,
                  MixJointsSummed<scalar_t>{s_features, in.adjacencies().transposed(), grad_x,
                                            d.k, d.c_in, d.t, d.v});
    exec.sum(d.k * d.v * d.v, d.n * d.c_in * d.t,
             AdjacencyGradTerms<scalar_t>{x, s_features, d.c_in, d.t, d.v}, grad_adjacency);
  } else {
    exec.for_each(subset_elements,  // P = G A^T
                  MixJoints<scalar_t>{g, in.adjacencies().transposed(), s, d.k, d.c_out, d.t,
                                      d.v});
    exec.for_each(d.n * d.c_in * positions,
                  MixChannelsSummed<scalar_t>{s_features, in.weights().transposed(), nullptr,
                                              grad_x, d.k, d.c_in, d.c_out, positions, d.v});
    exec.sum(d.k * d.c_out * d.c_in, d.n * positions,
             WeightGradTerms<scalar_t>{s_features, x, d.c_out, d.c_in, positions}, grad_weight);
    exec.for_each(subset_elements,  // Y = W x
                  MixChannels<scalar_t>{x, in.weights(), nullptr, s, d.k, d.c_out, d.c_in,
                                        positions});
    exec.sum(d.k * d.v * d.v, d.n * d.c_out * d.t,
             AdjacencyGradTerms<scalar_t>{s_features, g, d.c_out, d.t, d.v}, grad_adjacency);
  }
  if (in.bias != nullptr) {
    exec.for_each(d.k * d.v * d.v,
                  AdjacencyBiasGrad<scalar_t>{in.bias, frame_sum, grad_adjacency, d.c_out, d.v});
  }
}

}  // namespace skel::graph_conv
