// The schemas of all skel ops. A namespace may be defined by only one TORCH_LIBRARY block, so
// every op is declared here, once; its kernels live in cpu/<op>.cpp and cuda/<op>.cu and
// register under TORCH_LIBRARY_IMPL(skel, CPU/CUDA, m).
#include <torch/library.h>

TORCH_LIBRARY(skel, m) {
  // The fake (meta) kernels of these ops are registered from Python, with
  // torch.library.register_fake, by the top-level code of this module. torch then rejects
  // fakes registered anywhere else, and its torch.compile errors say to import this module.
  m.set_python_module("skel_kernels._fake");
  // One m.def("<op>(<arguments>) -> <returns>") per op; a backward is its own private op,
  // m.def("_<op>_backward(...) -> ..."), so every backend implements and tests it.
  m.def(
      "render_heatmaps(Tensor keypoints, Tensor scores, int height, int width, float sigma, "
      "Tensor? limbs, bool with_keypoints, float eps) -> Tensor");
  m.def("graph_conv(Tensor x, Tensor weight, Tensor adjacency, Tensor? bias) -> Tensor");
  m.def(
      "_graph_conv_backward(Tensor grad_out, Tensor x, Tensor weight, Tensor adjacency, "
      "Tensor? bias) -> (Tensor grad_x, Tensor grad_weight, Tensor grad_adjacency, "
      "Tensor grad_bias)");
}
