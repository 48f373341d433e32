// The math of skel::render_heatmaps, shared by its CPU and CUDA kernels: which pixels a keypoint
// or limb of one person reaches (its window, PYSKL's edges included) and the value it draws on
// each. The CPU kernel walks each stroke's window over a tile; the CUDA kernel gives every output
// pixel a thread that takes the maximum over the persons whose stroke reaches it. Both call the
// functions below, so the CPU tests check the values the GPU computes. No torch here: the header
// also compiles into the host build of the CUDA schedule that tests/kernels/test_cuda.py runs.
#pragma once

#include <cmath>
#include <cstdint>

#include "host_device.h"

namespace skel::heatmap {

// The drawing parameters, in the precision of the keypoints.
template <typename scalar_t>
struct Brush {
  scalar_t reach;         // 3 sigma: half the side of a keypoint's window
  scalar_t two_sigma_sq;  // 2 sigma^2
  scalar_t eps;           // smallest score that draws
};

// The pixels x0 <= x < x1, y0 <= y < y1; empty when x0 >= x1 or y0 >= y1.
struct Window {
  int64_t x0, x1, y0, y1;

  SKEL_HOST_DEVICE bool contains(int64_t x, int64_t y) const {
    return x0 <= x && x < x1 && y0 <= y && y < y1;
  }
};

// PYSKL's first pixel of a window, max(int(low), 0), and one past its last, min(int(high) + 1,
// size). int() truncates towards zero; the result is clamped in floating point before the
// conversion so that far-away (finite) coordinates convert safely.
template <typename scalar_t>
SKEL_HOST_DEVICE inline int64_t window_start(scalar_t low, int64_t size) {
  const scalar_t first = std::trunc(low);
  if (first <= 0) {
    return 0;
  }
  return first >= static_cast<scalar_t>(size) ? size : static_cast<int64_t>(first);
}

template <typename scalar_t>
SKEL_HOST_DEVICE inline int64_t window_end(scalar_t high, int64_t size) {
  const scalar_t end = std::trunc(high) + 1;
  if (end <= 0) {
    return 0;
  }
  return end >= static_cast<scalar_t>(size) ? size : static_cast<int64_t>(end);
}

template <typename scalar_t>
SKEL_HOST_DEVICE inline bool finite(scalar_t x, scalar_t y) {
  return std::isfinite(x) && std::isfinite(y);
}

// Whether a score draws: finite and at least eps (so NaN does not).
template <typename scalar_t>
SKEL_HOST_DEVICE inline bool draws(scalar_t score, scalar_t eps) {
  return score >= eps && std::isfinite(score);
}

// The larger of two pixel values; a NaN candidate never replaces the pixel.
SKEL_HOST_DEVICE inline float brighter(float pixel, float candidate) {
  return candidate > pixel ? candidate : pixel;
}

// What one keypoint or limb of one person draws into its channel: score times the Gaussian of
// the squared distance to the segment from (sx, sy) to (ex, ey), or to the point (sx, sy) when
// `segment` is false, on the pixels of `window` (empty when nothing is drawn).
template <typename scalar_t>
struct Stroke {
  scalar_t sx, sy, ex, ey;
  scalar_t length_sq;  // of the segment
  bool segment;
  scalar_t score;
  scalar_t two_sigma_sq;
  Window window;

  SKEL_HOST_DEVICE scalar_t value(int64_t x, int64_t y) const {
    const scalar_t px = static_cast<scalar_t>(x);
    const scalar_t py = static_cast<scalar_t>(y);
    const scalar_t d2_start = (px - sx) * (px - sx) + (py - sy) * (py - sy);
    scalar_t d2 = d2_start;
    if (segment) {
      const scalar_t d2_end = (px - ex) * (px - ex) + (py - ey) * (py - ey);
      // Where the pixel projects onto the line, as a fraction of the way from start to end.
      const scalar_t along = (d2_start - d2_end + length_sq) / 2 / length_sq;
      if (along >= 1) {
        d2 = d2_end;
      } else if (along > 0) {
        const scalar_t dx = px - (sx + along * (ex - sx));
        const scalar_t dy = py - (sy + along * (ey - sy));
        d2 = dx * dx + dy * dy;
      }
    }
    return std::exp(-d2 / two_sigma_sq) * score;
  }
};

// A keypoint at (mx, my): drawn within mu +- 3 sigma when its score draws.
template <typename scalar_t>
SKEL_HOST_DEVICE inline Stroke<scalar_t> keypoint_stroke(const Brush<scalar_t>& brush,
                                                         scalar_t mx, scalar_t my, scalar_t score,
                                                         int64_t height, int64_t width) {
  Stroke<scalar_t> stroke{mx, my, mx, my, 0, false, score, brush.two_sigma_sq, {0, 0, 0, 0}};
  if (draws(score, brush.eps) && finite(mx, my)) {
    stroke.window = {window_start(mx - brush.reach, width), window_end(mx + brush.reach, width),
                     window_start(my - brush.reach, height), window_end(my + brush.reach, height)};
  }
  return stroke;
}

// A limb from (sx, sy) to (ex, ey), drawn with the smaller score within the end points' bounding
// box +- 3 sigma when both scores draw. A limb shorter than one pixel is drawn as its start
// keypoint with the start's score, as PYSKL does (that window lies inside the limb's).
template <typename scalar_t>
SKEL_HOST_DEVICE inline Stroke<scalar_t> limb_stroke(const Brush<scalar_t>& brush, scalar_t sx,
                                                     scalar_t sy, scalar_t ex, scalar_t ey,
                                                     scalar_t start_score, scalar_t end_score,
                                                     int64_t height, int64_t width) {
  const scalar_t length_sq = (sx - ex) * (sx - ex) + (sy - ey) * (sy - ey);
  const scalar_t score = start_score < end_score ? start_score : end_score;
  Stroke<scalar_t> stroke{sx, sy, ex, ey, length_sq, true, score, brush.two_sigma_sq,
                          {0, 0, 0, 0}};
  if (!draws(start_score, brush.eps) || !draws(end_score, brush.eps) || !finite(sx, sy) ||
      !finite(ex, ey)) {
    return stroke;
  }
  if (length_sq < 1) {
    return keypoint_stroke(brush, sx, sy, start_score, height, width);
  }
  stroke.window = {window_start((sx < ex ? sx : ex) - brush.reach, width),
                   window_end((sx < ex ? ex : sx) + brush.reach, width),
                   window_start((sy < ey ? sy : ey) - brush.reach, height),
                   window_end((sy < ey ? ey : sy) + brush.reach, height)};
  return stroke;
}

// The (clip, channel, frame) of one (height, width) tile of the (N, C, T, H, W) output.
struct Tile {
  int64_t clip, channel, frame;
};

// One render_heatmaps call: contiguous inputs, sizes and brush. Channels are the keypoints
// (when rendered) followed by the limbs.
template <typename scalar_t>
struct Scene {
  const scalar_t* points;  // (N, M, T, K, 2): x (column), y (row)
  const scalar_t* scores;  // (N, M, T, K)
  const int64_t* limbs;    // (L, 2) keypoint index pairs, checked to lie in [0, K)
  int64_t num_persons, num_frames, num_keypoints;
  int64_t keypoint_channels, num_channels;  // K or 0; keypoint_channels + L
  int64_t height, width;
  Brush<scalar_t> brush;

  SKEL_HOST_DEVICE Tile tile(int64_t index) const {
    return {index / (num_frames * num_channels), (index / num_frames) % num_channels,
            index % num_frames};
  }

  // What `person` draws into `tile`.
  SKEL_HOST_DEVICE Stroke<scalar_t> stroke(const Tile& tile, int64_t person) const {
    const int64_t row =
        ((tile.clip * num_persons + person) * num_frames + tile.frame) * num_keypoints;
    const scalar_t* xy = points + 2 * row;
    const scalar_t* score = scores + row;
    if (tile.channel < keypoint_channels) {
      const int64_t k = tile.channel;
      return keypoint_stroke(brush, xy[2 * k], xy[2 * k + 1], score[k], height, width);
    }
    const int64_t a = limbs[2 * (tile.channel - keypoint_channels)];
    const int64_t b = limbs[2 * (tile.channel - keypoint_channels) + 1];
    return limb_stroke(brush, xy[2 * a], xy[2 * a + 1], xy[2 * b], xy[2 * b + 1], score[a],
                       score[b], height, width);
  }

  // Element `index` of the row-major (N, C, T, H, W) output: the brightest stroke over persons.
  SKEL_HOST_DEVICE float pixel(int64_t index) const {
    const int64_t x = index % width;
    const int64_t y = (index / width) % height;
    const Tile where = tile(index / (height * width));
    float value = 0;
    for (int64_t person = 0; person < num_persons; ++person) {
      const Stroke<scalar_t> drawn = stroke(where, person);
      if (drawn.window.contains(x, y)) {
        value = brighter(value, static_cast<float>(drawn.value(x, y)));
      }
    }
    return value;
  }
};

}  // namespace skel::heatmap
