// Loads the built op library the way torch.ops.load_library does (dlopen) and checks that it
// defines the `skel` op namespace, and that every skel:: op it registers has a schema and a
// CPU kernel.
#include <ATen/core/dispatch/Dispatcher.h>
#include <torch/library.h>

#include <dlfcn.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

namespace {

// A namespace can be defined only once, so defining it again must fail, naming the
// TORCH_LIBRARY block in ops.cpp as the first definition.
bool skel_namespace_is_defined() {
  try {
    torch::Library again(torch::Library::DEF, "skel", std::nullopt, __FILE__, __LINE__);
  } catch (const c10::Error& error) {
    const std::string message = error.what();
    if (message.find("ops.cpp") != std::string::npos) {
      return true;
    }
    std::cerr << "FAIL: unexpected error when redefining skel: " << message << "\n";
    return false;
  }
  std::cerr << "FAIL: the library did not define the skel namespace\n";
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " <path of the _C library>\n";
    return EXIT_FAILURE;
  }
  if (dlopen(argv[1], RTLD_NOW | RTLD_LOCAL) == nullptr) {
    std::cerr << "FAIL: dlopen: " << dlerror() << "\n";
    return EXIT_FAILURE;
  }
  if (!skel_namespace_is_defined()) {
    return EXIT_FAILURE;
  }
  auto& dispatcher = c10::Dispatcher::singleton();
  int ops = 0;
  int failures = 0;
  for (const c10::OperatorName& name : dispatcher.getAllOpNames()) {
    if (name.name.rfind("skel::", 0) != 0) {
      continue;
    }
    ++ops;
    const auto handle = dispatcher.findOp(name);
    if (!handle || !handle->hasSchema()) {
      std::cerr << "FAIL: " << name << " has kernels but no schema (add it to csrc/ops.cpp)\n";
      ++failures;
    } else if (!handle->hasComputedKernelForDispatchKey(c10::DispatchKey::CPU)) {
      std::cerr << "FAIL: " << name << " has no CPU kernel (add csrc/cpu/<op>.cpp)\n";
      ++failures;
    }
  }
  if (failures > 0) {
    return EXIT_FAILURE;
  }
  std::cout << "PASS: " << argv[1] << " defines the skel namespace; " << ops
            << " op(s), each with a CPU kernel\n";
  return EXIT_SUCCESS;
}
