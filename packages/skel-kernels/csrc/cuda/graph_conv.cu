// CUDA kernels of skel::graph_conv and skel::_graph_conv_backward: the schedules of
// graph_conv_math.h (element-wise steps and sums over raw pointers, the same contraction orders
// as the CPU kernel) run by cuda::Launcher on the current stream. The argument checks are the
// CPU kernel's (graph_conv_args.h).
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/core/DeviceGuard.h>
#include <torch/library.h>

#include <optional>
#include <tuple>

#include "cuda/launch.cuh"
#include "graph_conv_args.h"
#include "graph_conv_math.h"

namespace skel {
namespace {

// Contiguous copies of the inputs, kept alive while their pointers are in use.
struct ContiguousInputs {
  at::Tensor x, weight, adjacency, bias;

  ContiguousInputs(const at::Tensor& x_in, const at::Tensor& weight_in,
                   const at::Tensor& adjacency_in, const std::optional<at::Tensor>& bias_in)
      : x(x_in.contiguous()),
        weight(weight_in.contiguous()),
        adjacency(adjacency_in.contiguous()),
        bias(bias_in.has_value() ? bias_in->contiguous() : at::Tensor()) {}

  template <typename scalar_t>
  graph_conv::Operands<scalar_t> operands(const graph_conv::Dims& d) const {
    return {x.const_data_ptr<scalar_t>(), weight.const_data_ptr<scalar_t>(),
            adjacency.const_data_ptr<scalar_t>(),
            bias.defined() ? bias.const_data_ptr<scalar_t>() : nullptr, d};
  }
};

at::Tensor graph_conv_cuda(const at::Tensor& x_in, const at::Tensor& weight_in,
                           const at::Tensor& adjacency_in, const std::optional<at::Tensor>& bias) {
  const graph_conv::Dims d =
      check_graph_conv(x_in, weight_in, adjacency_in, bias, c10::DeviceType::CUDA);
  const c10::DeviceGuard guard(x_in.device());
  const ContiguousInputs inputs(x_in, weight_in, adjacency_in, bias);
  at::Tensor out = at::empty({d.n, d.c_out, d.t, d.v}, inputs.x.options());
  at::Tensor workspace = at::empty({graph_conv::forward_workspace_size(d)}, inputs.x.options());
  const cuda::Launcher launcher = cuda::Launcher::on_current_stream(x_in.device(), "graph_conv");
  AT_DISPATCH_FLOATING_TYPES(inputs.x.scalar_type(), "graph_conv_cuda", [&] {
    graph_conv::forward(launcher, inputs.operands<scalar_t>(d), out.mutable_data_ptr<scalar_t>(),
                        workspace.mutable_data_ptr<scalar_t>());
  });
  return out;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> graph_conv_backward_cuda(
    const at::Tensor& grad_out_in, const at::Tensor& x_in, const at::Tensor& weight_in,
    const at::Tensor& adjacency_in, const std::optional<at::Tensor>& bias) {
  const graph_conv::Dims d = check_graph_conv_backward(grad_out_in, x_in, weight_in, adjacency_in,
                                                       bias, c10::DeviceType::CUDA);
  const c10::DeviceGuard guard(x_in.device());
  const ContiguousInputs inputs(x_in, weight_in, adjacency_in, bias);
  const at::Tensor grad_out = grad_out_in.contiguous();
  const at::TensorOptions options = inputs.x.options();
  at::Tensor grad_x = at::empty({d.n, d.c_in, d.t, d.v}, options);
  at::Tensor grad_weight = at::empty({d.k, d.c_out, d.c_in}, options);
  at::Tensor grad_adjacency = at::empty({d.k, d.v, d.v}, options);
  at::Tensor grad_bias = at::empty({d.k, d.c_out}, options);
  at::Tensor workspace = at::empty({graph_conv::backward_workspace_size(d)}, options);
  const cuda::Launcher launcher =
      cuda::Launcher::on_current_stream(x_in.device(), "graph_conv backward");
  AT_DISPATCH_FLOATING_TYPES(inputs.x.scalar_type(), "graph_conv_backward_cuda", [&] {
    graph_conv::backward(launcher, inputs.operands<scalar_t>(d),
                         grad_out.const_data_ptr<scalar_t>(), grad_x.mutable_data_ptr<scalar_t>(),
                         grad_weight.mutable_data_ptr<scalar_t>(),
                         grad_adjacency.mutable_data_ptr<scalar_t>(),
                         grad_bias.mutable_data_ptr<scalar_t>(),
                         workspace.mutable_data_ptr<scalar_t>());
  });
  return {grad_x, grad_weight, grad_adjacency, grad_bias};
}

}  // namespace

TORCH_LIBRARY_IMPL(skel, CUDA, m) {
  m.impl("graph_conv", &graph_conv_cuda);
  m.impl("_graph_conv_backward", &graph_conv_backward_cuda);
}

}  // namespace skel
