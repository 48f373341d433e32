// at::parallel_for is an OpenMP loop only in code compiled with OpenMP; without it the loop
// silently runs on the calling thread. This checks that code built with the kernels' flags
// follows at::set_num_threads: exactly 1 thread when set to 1, and 2 when set to 2 (1 when
// the build has OpenMP switched off).
#include <ATen/Parallel.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

namespace {

size_t threads_used(int num_threads) {
  at::set_num_threads(num_threads);
  std::mutex mutex;
  std::set<std::thread::id> ids;
  // grain_size 1: every thread that at::parallel_for starts gets a chunk of the range.
  at::parallel_for(0, 1024, 1, [&](int64_t /*begin*/, int64_t /*end*/) {
    std::lock_guard<std::mutex> lock(mutex);
    ids.insert(std::this_thread::get_id());
  });
  return ids.size();
}

}  // namespace

int main() {
  const size_t expected_for_two = SKEL_OPENMP_ENABLED ? 2 : 1;
  const size_t with_one = threads_used(1);
  const size_t with_two = threads_used(2);
  std::cout << "OpenMP " << (SKEL_OPENMP_ENABLED ? "on" : "off") << ", "
            << std::thread::hardware_concurrency() << " cores; threads used: " << with_one
            << " with set_num_threads(1), " << with_two << " with set_num_threads(2)\n";
  if (with_one != 1 || with_two != expected_for_two) {
    std::cerr << "FAIL: expected 1 and " << expected_for_two << " threads\n";
    return EXIT_FAILURE;
  }
  std::cout << "PASS\n";
  return EXIT_SUCCESS;
}
