#include "engram/runtime/helper_thread.h"

#include <chrono>

#include "engram/runtime/ops.h"

namespace engram {
namespace {

void relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// How long the helper spins for the next task before it sleeps.
constexpr auto kSpin = std::chrono::microseconds(300);

}  // namespace

HelperThread::HelperThread(bool enabled) {
  if (enabled) thread_ = std::thread([this] { loop(); });
}

HelperThread::~HelperThread() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void HelperThread::run(int64_t n, int64_t grain, Call call, const void* body) {
  const int64_t m = n / 2 / grain * grain;
  if (!thread_.joinable() || m == 0) {
    call(body, 0, n);
    return;
  }
  call_ = call;
  body_ = body;
  task_end_ = m;
  uint64_t ticket;
  {
    std::lock_guard<std::mutex> lock(mutex_);  // a sleeping helper checks posted_ under the lock
    ticket = posted_.load(std::memory_order_relaxed) + 1;
    posted_.store(ticket, std::memory_order_release);
  }
  wake_.notify_one();
  call(body, m, n);
  while (done_.load(std::memory_order_acquire) != ticket) relax();
}

void HelperThread::loop() {
  uint64_t seen = 0;
  for (;;) {
    const auto start = std::chrono::steady_clock::now();
    while (posted_.load(std::memory_order_acquire) == seen && !stop_.load(std::memory_order_relaxed)) {
      if (std::chrono::steady_clock::now() - start < kSpin) {
        relax();
        continue;
      }
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return posted_.load(std::memory_order_acquire) != seen || stop_.load(); });
    }
    if (stop_.load()) return;
    seen = posted_.load(std::memory_order_acquire);
    call_(body_, 0, task_end_);
    done_.store(seen, std::memory_order_release);
  }
}

void matvec(HelperThread& helper, const float* W, const float* b, const float* x, float* y, int64_t out, int64_t in) {
  helper.split(out, 4, [&](int64_t first, int64_t last) {  // four rows a time is ops::matvec's tile
    ops::matvec(W + first * in, b ? b + first : nullptr, x, y + first, last - first, in);
  });
}

}  // namespace engram
