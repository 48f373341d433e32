// CUDA kernel of skel::render_heatmaps: one thread per output pixel, which takes the brightest
// stroke over the persons whose window reaches it. The windows and values are those of the CPU
// kernel (heatmap_math.h), checked against the same reference; so are the argument checks
// (render_heatmaps_args.h). Takes what the CPU kernel takes: float32 or float64 keypoints.
#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <c10/core/DeviceGuard.h>
#include <torch/library.h>

#include <cstdint>
#include <optional>

#include "cuda/launch.cuh"
#include "heatmap_math.h"
#include "render_heatmaps_args.h"

namespace skel {
namespace {

template <typename scalar_t>
struct WritePixels {
  heatmap::Scene<scalar_t> scene;
  float* out;

  __device__ void operator()(int64_t i) const { out[i] = scene.pixel(i); }
};

at::Tensor render_heatmaps_cuda(const at::Tensor& keypoints, const at::Tensor& scores,
                                int64_t height, int64_t width, double sigma,
                                const std::optional<at::Tensor>& limbs, bool with_keypoints,
                                double eps) {
  const HeatmapCall call = check_render_heatmaps(keypoints, scores, height, width, sigma, limbs,
                                                 with_keypoints, eps, c10::DeviceType::CUDA);
  const c10::DeviceGuard guard(keypoints.device());
  at::Tensor output = call.new_output();
  const cuda::Launcher launcher =
      cuda::Launcher::on_current_stream(keypoints.device(), "render_heatmaps");
  AT_DISPATCH_FLOATING_TYPES(call.keypoints.scalar_type(), "render_heatmaps_cuda", [&] {
    launcher.for_each(output.numel(),
                      WritePixels<scalar_t>{call.scene<scalar_t>(),
                                            output.mutable_data_ptr<float>()});
  });
  return output;
}

}  // namespace

TORCH_LIBRARY_IMPL(skel, CUDA, m) { m.impl("render_heatmaps", &render_heatmaps_cuda); }

}  // namespace skel
