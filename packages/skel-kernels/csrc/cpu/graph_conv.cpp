// CPU kernels of skel::graph_conv and skel::_graph_conv_backward, the spatial graph convolution
// of PYSKL's unit_gcn ('pre' position): a 1x1 convolution to K subsets of C_out channels, each
// subset aggregated over joints with its own (V, V) adjacency, the subsets summed:
//   out[n, o, t, w] = sum_k sum_v (sum_c weight[k, o, c] x[n, c, t, v] + bias[k, o]) A[k, v, w]
// The (N, K*C_out, T, V) activation of the unfused version is never stored: each sample is a
// chain of GEMMs on views of its (C, T, V) block, accumulated over k into the output, with one
// (C, T*V) scratch block per thread. Of the two contraction orders (channels first or joints
// first) the cheaper one for the shapes is used, chosen as the CUDA kernel chooses it
// (graph_conv_math.h); the argument checks are shared with it too (graph_conv_args.h). Samples
// are spread over threads.
#include <ATen/Parallel.h>
#include <ATen/core/LegacyTypeDispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/zeros.h>
#include <torch/library.h>

#include <algorithm>
#include <optional>
#include <tuple>

#include "graph_conv_args.h"
#include "graph_conv_math.h"

namespace skel {
namespace {

at::Tensor graph_conv_cpu(const at::Tensor& x_in, const at::Tensor& weight_in,
                          const at::Tensor& adjacency_in, const std::optional<at::Tensor>& bias) {
  const graph_conv::Dims d =
      check_graph_conv(x_in, weight_in, adjacency_in, bias, c10::DeviceType::CPU);
  const at::Tensor x = x_in.contiguous();
  const at::Tensor weight = weight_in.contiguous();
  const at::Tensor adjacency = adjacency_in.contiguous();
  at::Tensor out = at::empty({d.n, d.c_out, d.t, d.v}, x.options());
  // sum_v bias[k, o] A[k, v, w] = bias[k, o] colsum_k[w]: one (C_out, 1, V) term for all n, t.
  const at::Tensor bias_term =
      bias.has_value() ? bias->t().mm(adjacency.sum(1)).unsqueeze(1) : at::Tensor();
  const bool joints_first = graph_conv::aggregate_joints_first(d);
  const int64_t tv = d.t * d.v;
  at::parallel_for(0, d.n, 1, [&](int64_t begin, int64_t end) {
    // Worker threads do not inherit the caller's dispatch state; this kernel runs below
    // autograd, so the GEMMs on its inputs (which may require grad) must too.
    const at::AutoDispatchBelowADInplaceOrView below_autograd;
    const int64_t scratch_channels = joints_first ? d.c_in : d.c_out;
    at::Tensor scratch = at::empty({scratch_channels, tv}, x.options());
    at::Tensor scratch_rows = scratch.view({scratch_channels * d.t, d.v});
    for (int64_t n = begin; n < end; ++n) {
      at::Tensor out_n = out[n];
      if (bias_term.defined()) {
        out_n.copy_(bias_term);
      } else {
        out_n.zero_();
      }
      const at::Tensor x_n = x[n];
      for (int64_t k = 0; k < d.k; ++k) {
        if (joints_first) {
          at::mm_out(scratch_rows, x_n.view({d.c_in * d.t, d.v}), adjacency[k]);
          out_n.view({d.c_out, tv}).addmm_(weight[k], scratch);
        } else {
          at::mm_out(scratch, weight[k], x_n.view({d.c_in, tv}));
          out_n.view({d.c_out * d.t, d.v}).addmm_(scratch_rows, adjacency[k]);
        }
      }
    }
  });
  return out;
}

// Gradients of graph_conv for x, weight, adjacency and bias. grad_bias is returned even when
// the forward had no bias (it is the gradient at a zero bias); autograd then drops it. With
// G = grad_out[n] as (C_out, T*V) and, per subset k, W = weight[k] and A = adjacency[k]
// applied over the joint axis:
//   grad_x[n] += W^T G A^T,  grad_weight[k] += G (x[n] A)^T,  grad_adjacency[k] += x[n]^T W^T G
// (the adjacency's bias part is added once at the end). Two schedules do the same work:
// through the input channels (Y = x A and H = W^T G: three joint products of C_in rows, two
// channel products) or through the output channels (P = G A^T and Z = W x: two joint products
// of C_out rows, three channel products); the cheaper one for the shapes is used.
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> graph_conv_backward_cpu(
    const at::Tensor& grad_out_in, const at::Tensor& x_in, const at::Tensor& weight_in,
    const at::Tensor& adjacency_in, const std::optional<at::Tensor>& bias) {
  const graph_conv::Dims d = check_graph_conv_backward(grad_out_in, x_in, weight_in, adjacency_in,
                                                       bias, c10::DeviceType::CPU);
  const at::Tensor grad_out = grad_out_in.contiguous();
  const at::Tensor x = x_in.contiguous();
  const at::Tensor weight = weight_in.contiguous();
  const at::Tensor adjacency = adjacency_in.contiguous();
  const int64_t tv = d.t * d.v;
  const bool via_input_channels = graph_conv::backward_through_input_channels(d);

  at::Tensor grad_x = at::empty({d.n, d.c_in, d.t, d.v}, x.options());
  // weight and adjacency gradients sum over samples: one partial sum per chunk of samples, so
  // threads never write to the same memory, reduced after the parallel loop.
  const int64_t chunks = std::max<int64_t>(1, std::min<int64_t>(d.n, at::get_num_threads()));
  at::Tensor grad_weight_parts = at::zeros({chunks, d.k, d.c_out, d.c_in}, x.options());
  at::Tensor grad_adjacency_parts = at::zeros({chunks, d.k, d.v, d.v}, x.options());
  at::parallel_for(0, chunks, 1, [&](int64_t chunk_begin, int64_t chunk_end) {
    const at::AutoDispatchBelowADInplaceOrView below_autograd;
    at::Tensor scratch = at::empty({via_input_channels ? d.c_in : d.c_out, tv}, x.options());
    for (int64_t chunk = chunk_begin; chunk < chunk_end; ++chunk) {
      at::Tensor grad_weight_part = grad_weight_parts[chunk];
      at::Tensor grad_adjacency_part = grad_adjacency_parts[chunk];
      for (int64_t n = chunk * d.n / chunks; n < (chunk + 1) * d.n / chunks; ++n) {
        const at::Tensor g_n = grad_out[n].view({d.c_out, tv});
        const at::Tensor x_n = x[n].view({d.c_in, tv});
        at::Tensor grad_x_n = grad_x[n].view({d.c_in, tv});
        grad_x_n.zero_();
        for (int64_t k = 0; k < d.k; ++k) {
          const at::Tensor w_k = weight[k];
          const at::Tensor a_k = adjacency[k];
          if (via_input_channels) {
            const at::Tensor x_rows = x_n.view({d.c_in * d.t, d.v});
            at::Tensor scratch_rows = scratch.view({d.c_in * d.t, d.v});
            at::mm_out(scratch_rows, x_rows, a_k);  // Y = x A
            grad_weight_part[k].addmm_(g_n, scratch.t());
            at::mm_out(scratch, w_k.t(), g_n);  // H = W^T G
            grad_x_n.view({d.c_in * d.t, d.v}).addmm_(scratch_rows, a_k.t());
            grad_adjacency_part[k].addmm_(x_rows.t(), scratch_rows);
          } else {
            const at::Tensor g_rows = g_n.view({d.c_out * d.t, d.v});
            at::Tensor scratch_rows = scratch.view({d.c_out * d.t, d.v});
            at::mm_out(scratch_rows, g_rows, a_k.t());  // P = G A^T
            grad_weight_part[k].addmm_(scratch, x_n.t());
            grad_x_n.addmm_(w_k.t(), scratch);
            at::mm_out(scratch, w_k, x_n);  // Z = W x
            grad_adjacency_part[k].addmm_(scratch_rows.t(), g_rows);
          }
        }
      }
    }
  });
  // The bias enters through bias[k, o] colsum_k[w], so both of its terms need only grad_out
  // summed over samples and frames.
  const at::Tensor grad_out_sum = grad_out.sum(at::IntArrayRef({0, 2}));  // (C_out, V)
  const at::Tensor grad_bias = adjacency.sum(1).mm(grad_out_sum.t());    // (K, C_out)
  at::Tensor grad_adjacency = grad_adjacency_parts.sum(0);
  if (bias.has_value()) {
    grad_adjacency.add_(bias->mm(grad_out_sum).unsqueeze(1));
  }
  return {grad_x, grad_weight_parts.sum(0), grad_adjacency, grad_bias};
}

}  // namespace

TORCH_LIBRARY_IMPL(skel, CPU, m) {
  m.impl("graph_conv", &graph_conv_cpu);
  m.impl("_graph_conv_backward", &graph_conv_backward_cpu);
}

}  // namespace skel
