// The argument checks of skel::graph_conv and skel::_graph_conv_backward, shared by their CPU
// and CUDA kernels so that both refuse the same inputs with the same messages.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/DeviceType.h>
#include <c10/util/Exception.h>

#include <optional>

#include "graph_conv_math.h"

namespace skel {

inline void check_graph_conv_tensor(const at::Tensor& tensor, const char* name,
                                    const at::Tensor& x, c10::DeviceType backend) {
  TORCH_CHECK(tensor.device().type() == backend, "graph_conv: the ", c10::DeviceTypeName(backend),
              " kernel needs ", c10::DeviceTypeName(backend), " tensors, but ", name, " is on ",
              tensor.device());
  TORCH_CHECK(tensor.device() == x.device(), "graph_conv: ", name, " is on ", tensor.device(),
              " but x is on ", x.device());
  TORCH_CHECK(tensor.scalar_type() == x.scalar_type(), "graph_conv: ", name, " has dtype ",
              tensor.scalar_type(), " but x has dtype ", x.scalar_type());
}

// Checks the forward's arguments for a kernel of `backend` (CPU or CUDA) and returns the sizes.
inline graph_conv::Dims check_graph_conv(const at::Tensor& x, const at::Tensor& weight,
                                         const at::Tensor& adjacency,
                                         const std::optional<at::Tensor>& bias,
                                         c10::DeviceType backend) {
  TORCH_CHECK(x.dim() == 4, "graph_conv: x must be (N, C_in, T, V), got shape ", x.sizes());
  TORCH_CHECK(weight.dim() == 3, "graph_conv: weight must be (K, C_out, C_in), got shape ",
              weight.sizes());
  TORCH_CHECK(adjacency.dim() == 3, "graph_conv: adjacency must be (K, V, V), got shape ",
              adjacency.sizes());
  TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble, "graph_conv: the ",
              c10::DeviceTypeName(backend), " kernel supports float32 and float64, got x of dtype ",
              x.scalar_type());
  check_graph_conv_tensor(x, "x", x, backend);
  check_graph_conv_tensor(weight, "weight", x, backend);
  check_graph_conv_tensor(adjacency, "adjacency", x, backend);
  const graph_conv::Dims d{x.size(0), x.size(1), weight.size(1), x.size(2), x.size(3),
                           weight.size(0)};
  TORCH_CHECK(weight.size(2) == d.c_in, "graph_conv: weight's C_in (dim 2) must equal x's C_in ",
              "(dim 1); weight has shape ", weight.sizes(), ", x has shape ", x.sizes());
  TORCH_CHECK(adjacency.size(0) == d.k, "graph_conv: adjacency must have K = ", d.k,
              " subsets like weight; adjacency has shape ", adjacency.sizes(),
              ", weight has shape ", weight.sizes());
  TORCH_CHECK(adjacency.size(1) == d.v && adjacency.size(2) == d.v,
              "graph_conv: adjacency must be (K, V, V) with V = ", d.v,
              " joints as in x; adjacency has shape ", adjacency.sizes(), ", x has shape ",
              x.sizes());
  if (bias.has_value()) {
    check_graph_conv_tensor(*bias, "bias", x, backend);
    TORCH_CHECK(bias->dim() == 2 && bias->size(0) == d.k && bias->size(1) == d.c_out,
                "graph_conv: bias must be (K, C_out) = (", d.k, ", ", d.c_out,
                ") to match weight; bias has shape ", bias->sizes(), ", weight has shape ",
                weight.sizes());
  }
  return d;
}

// Checks the backward's arguments: the forward's, and grad_out of the output's shape.
inline graph_conv::Dims check_graph_conv_backward(const at::Tensor& grad_out, const at::Tensor& x,
                                                  const at::Tensor& weight,
                                                  const at::Tensor& adjacency,
                                                  const std::optional<at::Tensor>& bias,
                                                  c10::DeviceType backend) {
  const graph_conv::Dims d = check_graph_conv(x, weight, adjacency, bias, backend);
  check_graph_conv_tensor(grad_out, "grad_out", x, backend);
  TORCH_CHECK(grad_out.sizes() == at::IntArrayRef({d.n, d.c_out, d.t, d.v}),
              "graph_conv backward: grad_out must be (N, C_out, T, V) = (", d.n, ", ", d.c_out,
              ", ", d.t, ", ", d.v, "); grad_out has shape ", grad_out.sizes(), ", x has shape ",
              x.sizes());
  return d;
}

}  // namespace skel
