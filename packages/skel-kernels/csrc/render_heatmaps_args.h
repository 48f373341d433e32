// The argument checks of skel::render_heatmaps, shared by its CPU and CUDA kernels so that both
// refuse the same inputs with the same messages, and the heatmap::Scene they render from.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/core/DeviceType.h>
#include <c10/util/Exception.h>

#include <cmath>
#include <cstdint>
#include <optional>

#include "heatmap_math.h"

namespace skel {

// A checked render_heatmaps call: contiguous inputs on one device of the kernel's type.
struct HeatmapCall {
  at::Tensor keypoints;  // (N, M, T, K, 2) float32 or float64
  at::Tensor scores;     // (N, M, T, K), keypoints' dtype
  at::Tensor limbs;      // (L, 2) int64 on the keypoints' device; undefined without limbs
  int64_t num_clips, num_persons, num_frames, num_keypoints;
  int64_t keypoint_channels, num_channels;
  int64_t height, width;
  double sigma, eps;

  // The (N, C, T, H, W) float32 output, uninitialised.
  at::Tensor new_output() const {
    return at::empty({num_clips, num_channels, num_frames, height, width},
                     keypoints.options().dtype(at::kFloat));
  }

  // The inputs as raw pointers, for scalar_t = the keypoints' dtype.
  template <typename scalar_t>
  heatmap::Scene<scalar_t> scene() const {
    return {keypoints.const_data_ptr<scalar_t>(),
            scores.const_data_ptr<scalar_t>(),
            limbs.defined() ? limbs.const_data_ptr<int64_t>() : nullptr,
            num_persons,
            num_frames,
            num_keypoints,
            keypoint_channels,
            num_channels,
            height,
            width,
            {static_cast<scalar_t>(3 * sigma), static_cast<scalar_t>(2 * sigma * sigma),
             static_cast<scalar_t>(eps)}};
  }
};

// Checks the op's arguments for a kernel of `backend` (CPU or CUDA). The limb indices are read
// on the host, so for CUDA limbs this copies the small (L, 2) table to the CPU.
inline HeatmapCall check_render_heatmaps(const at::Tensor& keypoints, const at::Tensor& scores,
                                         int64_t height, int64_t width, double sigma,
                                         const std::optional<at::Tensor>& limbs,
                                         bool with_keypoints, double eps,
                                         c10::DeviceType backend) {
  TORCH_CHECK(keypoints.dim() == 5 && keypoints.size(4) == 2,
              "render_heatmaps: keypoints must have shape (N, M, T, K, 2), got ",
              keypoints.sizes());
  TORCH_CHECK(scores.sizes() == keypoints.sizes().slice(0, 4),
              "render_heatmaps: scores must have shape (N, M, T, K) = ",
              keypoints.sizes().slice(0, 4), " to match keypoints, got ", scores.sizes());
  TORCH_CHECK(keypoints.scalar_type() == at::kFloat || keypoints.scalar_type() == at::kDouble,
              "render_heatmaps: keypoints must be float32 or float64, got ",
              keypoints.scalar_type());
  TORCH_CHECK(scores.scalar_type() == keypoints.scalar_type(), "render_heatmaps: scores (",
              scores.scalar_type(), ") must have the dtype of keypoints (",
              keypoints.scalar_type(), ")");
  TORCH_CHECK(keypoints.device().type() == backend && scores.device() == keypoints.device(),
              "render_heatmaps: the ", c10::DeviceTypeName(backend), " kernel needs ",
              c10::DeviceTypeName(backend), " tensors on one device, got keypoints on ",
              keypoints.device(), " and scores on ", scores.device());
  TORCH_CHECK(height > 0 && width > 0, "render_heatmaps: height and width must be positive, got ",
              height, " x ", width);
  TORCH_CHECK(std::isfinite(sigma) && sigma > 0, "render_heatmaps: sigma must be positive, got ",
              sigma);
  TORCH_CHECK(std::isfinite(eps) && eps > 0, "render_heatmaps: eps must be positive, got ", eps);

  HeatmapCall call;
  call.num_keypoints = keypoints.size(3);
  int64_t num_limbs = 0;
  if (limbs.has_value()) {
    TORCH_CHECK(limbs->dim() == 2 && limbs->size(1) == 2,
                "render_heatmaps: limbs must have shape (L, 2), got ", limbs->sizes());
    TORCH_CHECK(limbs->scalar_type() == at::kLong, "render_heatmaps: limbs must be int64, got ",
                limbs->scalar_type());
    TORCH_CHECK(limbs->device() == keypoints.device(),
                "render_heatmaps: limbs must be on the keypoints' device (", keypoints.device(),
                "), got ", limbs->device());
    call.limbs = limbs->contiguous();
    num_limbs = call.limbs.size(0);
    const at::Tensor host_limbs = call.limbs.cpu();
    const int64_t* pairs = host_limbs.const_data_ptr<int64_t>();
    for (int64_t i = 0; i < 2 * num_limbs; ++i) {
      TORCH_CHECK(pairs[i] >= 0 && pairs[i] < call.num_keypoints, "render_heatmaps: limb ", i / 2,
                  " joins keypoint ", pairs[i], ", outside [0, ", call.num_keypoints, ")");
    }
  }
  call.keypoint_channels = with_keypoints ? call.num_keypoints : 0;
  call.num_channels = call.keypoint_channels + num_limbs;
  TORCH_CHECK(call.num_channels > 0,
              "render_heatmaps: nothing to render (with_keypoints is false and there are no "
              "limbs, or K = 0)");
  call.keypoints = keypoints.contiguous();
  call.scores = scores.contiguous();
  call.num_clips = keypoints.size(0);
  call.num_persons = keypoints.size(1);
  call.num_frames = keypoints.size(2);
  call.height = height;
  call.width = width;
  call.sigma = sigma;
  call.eps = eps;
  return call;
}

}  // namespace skel
