// CPU kernel of skel::render_heatmaps: Gaussian heatmaps of keypoints and limbs, one (H, W)
// tile per (clip, channel, frame), tiles rendered in parallel. The semantics (PYSKL's
// GeneratePoseTarget, window edges included) are defined by the reference implementation in
// skel_kernels/heatmaps.py; this kernel computes the same values in the input's precision.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>

namespace skel {
namespace {

// One output tile, row-major (height, width).
struct Canvas {
  float* data;
  int64_t height;
  int64_t width;
};

// The drawing parameters, in the precision of the keypoints.
template <typename scalar_t>
struct Brush {
  scalar_t reach;         // 3 sigma: half the side of a keypoint's window
  scalar_t two_sigma_sq;  // 2 sigma^2
  scalar_t eps;           // smallest score that draws
};

// PYSKL's first pixel of a window, max(int(low), 0), and one past its last, min(int(high) + 1,
// size). int() truncates towards zero; the result is clamped in floating point before the
// conversion so that far-away (finite) coordinates convert safely.
template <typename scalar_t>
int64_t window_start(scalar_t low, int64_t size) {
  const scalar_t first = std::trunc(low);
  if (first <= 0) {
    return 0;
  }
  return first >= static_cast<scalar_t>(size) ? size : static_cast<int64_t>(first);
}

template <typename scalar_t>
int64_t window_end(scalar_t high, int64_t size) {
  const scalar_t end = std::trunc(high) + 1;
  if (end <= 0) {
    return 0;
  }
  return end >= static_cast<scalar_t>(size) ? size : static_cast<int64_t>(end);
}

template <typename scalar_t>
bool finite(scalar_t x, scalar_t y) {
  return std::isfinite(x) && std::isfinite(y);
}

// Whether a score draws: finite and at least eps (so NaN does not).
template <typename scalar_t>
bool draws(scalar_t score, scalar_t eps) {
  return score >= eps && std::isfinite(score);
}

template <typename scalar_t>
void put_max(const Canvas& canvas, int64_t x, int64_t y, scalar_t value) {
  float& pixel = canvas.data[y * canvas.width + x];
  pixel = std::max(pixel, static_cast<float>(value));
}

// A keypoint at (mx, my): exp(-d^2 / (2 sigma^2)) * score within mu +- 3 sigma.
template <typename scalar_t>
void draw_keypoint(const Canvas& canvas, const Brush<scalar_t>& brush, scalar_t mx, scalar_t my,
                   scalar_t score) {
  if (!draws(score, brush.eps) || !finite(mx, my)) {
    return;
  }
  const int64_t x0 = window_start(mx - brush.reach, canvas.width);
  const int64_t x1 = window_end(mx + brush.reach, canvas.width);
  const int64_t y0 = window_start(my - brush.reach, canvas.height);
  const int64_t y1 = window_end(my + brush.reach, canvas.height);
  for (int64_t y = y0; y < y1; ++y) {
    const scalar_t dy = static_cast<scalar_t>(y) - my;
    for (int64_t x = x0; x < x1; ++x) {
      const scalar_t dx = static_cast<scalar_t>(x) - mx;
      put_max(canvas, x, y, std::exp(-(dx * dx + dy * dy) / brush.two_sigma_sq) * score);
    }
  }
}

// A limb from (sx, sy) to (ex, ey): the Gaussian of the distance to the segment times the
// smaller score, within the end points' bounding box +- 3 sigma. A limb shorter than one pixel
// is drawn as its start keypoint with the start's score, as PYSKL does.
template <typename scalar_t>
void draw_limb(const Canvas& canvas, const Brush<scalar_t>& brush, scalar_t sx, scalar_t sy,
               scalar_t ex, scalar_t ey, scalar_t start_score, scalar_t end_score) {
  if (!draws(start_score, brush.eps) || !draws(end_score, brush.eps) || !finite(sx, sy) ||
      !finite(ex, ey)) {
    return;
  }
  const int64_t x0 = window_start(std::min(sx, ex) - brush.reach, canvas.width);
  const int64_t x1 = window_end(std::max(sx, ex) + brush.reach, canvas.width);
  const int64_t y0 = window_start(std::min(sy, ey) - brush.reach, canvas.height);
  const int64_t y1 = window_end(std::max(sy, ey) + brush.reach, canvas.height);
  if (x0 >= x1 || y0 >= y1) {
    return;
  }
  const scalar_t d2_ab = (sx - ex) * (sx - ex) + (sy - ey) * (sy - ey);
  if (d2_ab < 1) {
    draw_keypoint(canvas, brush, sx, sy, start_score);
    return;
  }
  const scalar_t score = std::min(start_score, end_score);
  for (int64_t y = y0; y < y1; ++y) {
    const scalar_t py = static_cast<scalar_t>(y);
    for (int64_t x = x0; x < x1; ++x) {
      const scalar_t px = static_cast<scalar_t>(x);
      const scalar_t d2_start = (px - sx) * (px - sx) + (py - sy) * (py - sy);
      const scalar_t d2_end = (px - ex) * (px - ex) + (py - ey) * (py - ey);
      // Where the pixel projects onto the line, as a fraction of the way from start to end.
      const scalar_t along = (d2_start - d2_end + d2_ab) / 2 / d2_ab;
      scalar_t d2 = d2_start;
      if (along >= 1) {
        d2 = d2_end;
      } else if (along > 0) {
        const scalar_t dx = px - (sx + along * (ex - sx));
        const scalar_t dy = py - (sy + along * (ey - sy));
        d2 = dx * dx + dy * dy;
      }
      put_max(canvas, x, y, std::exp(-d2 / brush.two_sigma_sq) * score);
    }
  }
}

at::Tensor render_heatmaps_cpu(const at::Tensor& keypoints, const at::Tensor& scores,
                               int64_t height, int64_t width, double sigma,
                               const std::optional<at::Tensor>& limbs, bool with_keypoints,
                               double eps) {
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
  TORCH_CHECK(keypoints.device().is_cpu() && scores.device().is_cpu(),
              "render_heatmaps: the CPU kernel needs CPU tensors, got keypoints on ",
              keypoints.device(), " and scores on ", scores.device());
  TORCH_CHECK(height > 0 && width > 0, "render_heatmaps: height and width must be positive, got ",
              height, " x ", width);
  TORCH_CHECK(std::isfinite(sigma) && sigma > 0, "render_heatmaps: sigma must be positive, got ",
              sigma);
  TORCH_CHECK(std::isfinite(eps) && eps > 0, "render_heatmaps: eps must be positive, got ", eps);

  const int64_t num_clips = keypoints.size(0);
  const int64_t num_persons = keypoints.size(1);
  const int64_t num_frames = keypoints.size(2);
  const int64_t num_keypoints = keypoints.size(3);

  at::Tensor limb_pairs;
  int64_t num_limbs = 0;
  if (limbs.has_value()) {
    TORCH_CHECK(limbs->dim() == 2 && limbs->size(1) == 2,
                "render_heatmaps: limbs must have shape (L, 2), got ", limbs->sizes());
    TORCH_CHECK(limbs->scalar_type() == at::kLong, "render_heatmaps: limbs must be int64, got ",
                limbs->scalar_type());
    TORCH_CHECK(limbs->device().is_cpu(), "render_heatmaps: limbs must be on the CPU, got ",
                limbs->device());
    limb_pairs = limbs->contiguous();
    num_limbs = limb_pairs.size(0);
    const int64_t* pairs = limb_pairs.const_data_ptr<int64_t>();
    for (int64_t i = 0; i < 2 * num_limbs; ++i) {
      TORCH_CHECK(pairs[i] >= 0 && pairs[i] < num_keypoints, "render_heatmaps: limb ", i / 2,
                  " joins keypoint ", pairs[i], ", outside [0, ", num_keypoints, ")");
    }
  }
  const int64_t keypoint_channels = with_keypoints ? num_keypoints : 0;
  const int64_t num_channels = keypoint_channels + num_limbs;
  TORCH_CHECK(num_channels > 0,
              "render_heatmaps: nothing to render (with_keypoints is false and there are no "
              "limbs, or K = 0)");

  at::Tensor output = at::empty({num_clips, num_channels, num_frames, height, width},
                                keypoints.options().dtype(at::kFloat));
  const at::Tensor points = keypoints.contiguous();
  const at::Tensor weights = scores.contiguous();
  const int64_t plane = height * width;
  const int64_t num_tiles = num_clips * num_channels * num_frames;
  // Each tile costs at least its plane (zeroing), so give each task about ATen's usual grain
  // (at::internal::GRAIN_SIZE, 32768 elements) of pixels.
  const int64_t grain = std::max<int64_t>(1, 32768 / plane);

  AT_DISPATCH_FLOATING_TYPES(points.scalar_type(), "render_heatmaps_cpu", [&] {
    const scalar_t* point_data = points.const_data_ptr<scalar_t>();
    const scalar_t* weight_data = weights.const_data_ptr<scalar_t>();
    const int64_t* pairs = num_limbs > 0 ? limb_pairs.const_data_ptr<int64_t>() : nullptr;
    const Brush<scalar_t> brush{static_cast<scalar_t>(3 * sigma),
                                static_cast<scalar_t>(2 * sigma * sigma),
                                static_cast<scalar_t>(eps)};
    float* out = output.mutable_data_ptr<float>();
    at::parallel_for(0, num_tiles, grain, [&](int64_t begin, int64_t end) {
      for (int64_t tile = begin; tile < end; ++tile) {
        // Tiles are numbered in the output's (N, C, T) order.
        const int64_t frame = tile % num_frames;
        const int64_t channel = (tile / num_frames) % num_channels;
        const int64_t clip = tile / (num_frames * num_channels);
        const Canvas canvas{out + tile * plane, height, width};
        std::fill(canvas.data, canvas.data + plane, 0.0f);
        for (int64_t person = 0; person < num_persons; ++person) {
          const int64_t row = ((clip * num_persons + person) * num_frames + frame) * num_keypoints;
          const scalar_t* xy = point_data + 2 * row;
          const scalar_t* score = weight_data + row;
          if (channel < keypoint_channels) {
            draw_keypoint(canvas, brush, xy[2 * channel], xy[2 * channel + 1], score[channel]);
          } else {
            const int64_t a = pairs[2 * (channel - keypoint_channels)];
            const int64_t b = pairs[2 * (channel - keypoint_channels) + 1];
            draw_limb(canvas, brush, xy[2 * a], xy[2 * a + 1], xy[2 * b], xy[2 * b + 1], score[a],
                      score[b]);
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
