// CPU kernel of skel::render_heatmaps: Gaussian heatmaps of keypoints and limbs, one (H, W)
// tile per (clip, channel, frame), tiles rendered in parallel, each person's stroke drawn over
// its window only. The semantics (PYSKL's GeneratePoseTarget, window edges included) are defined
// by the reference implementation in skel_kernels/heatmaps.py; the windows and values come from
// heatmap_math.h, which the CUDA kernel shares.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <torch/library.h>

#include <algorithm>
#include <cstdint>
#include <optional>

#include "heatmap_math.h"
#include "render_heatmaps_args.h"

namespace skel {
namespace {

at::Tensor render_heatmaps_cpu(const at::Tensor& keypoints, const at::Tensor& scores,
                               int64_t height, int64_t width, double sigma,
                               const std::optional<at::Tensor>& limbs, bool with_keypoints,
                               double eps) {
  const HeatmapCall call = check_render_heatmaps(keypoints, scores, height, width, sigma, limbs,
                                                 with_keypoints, eps, c10::DeviceType::CPU);
  at::Tensor output = call.new_output();
  const int64_t plane = height * width;
  const int64_t num_tiles = call.num_clips * call.num_channels * call.num_frames;
  // Each tile costs at least its plane (zeroing), so give each task about ATen's usual grain
  // (at::internal::GRAIN_SIZE, 32768 elements) of pixels.
  const int64_t grain = std::max<int64_t>(1, 32768 / plane);

  AT_DISPATCH_FLOATING_TYPES(call.keypoints.scalar_type(), "render_heatmaps_cpu", [&] {
    const heatmap::Scene<scalar_t> scene = call.scene<scalar_t>();
    float* out = output.mutable_data_ptr<float>();
    at::parallel_for(0, num_tiles, grain, [&](int64_t begin, int64_t end) {
      for (int64_t index = begin; index < end; ++index) {
        float* tile = out + index * plane;
        std::fill(tile, tile + plane, 0.0f);
        const heatmap::Tile where = scene.tile(index);
        for (int64_t person = 0; person < scene.num_persons; ++person) {
          const heatmap::Stroke<scalar_t> stroke = scene.stroke(where, person);
          const heatmap::Window& window = stroke.window;
          for (int64_t y = window.y0; y < window.y1; ++y) {
            for (int64_t x = window.x0; x < window.x1; ++x) {
              float& pixel = tile[y * width + x];
              pixel = heatmap::brighter(pixel, static_cast<float>(stroke.value(x, y)));
            }
          }
        }
      }
    });
  });
  return output;
}

}  // namespace

TORCH_LIBRARY_IMPL(skel, CPU, m) { m.impl("render_heatmaps", &render_heatmaps_cpu); }

}  // namespace skel
