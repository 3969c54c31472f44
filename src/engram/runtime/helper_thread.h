// A second thread for the batch-1 decoders. A decoder's step is a chain of 2–4 MB reads (a weight
// matrix, the heads' slot banks, the output head), each bound by one core's cache bandwidth; split
// in two, the other core reads half. The helper spins between tasks, because a token's tasks come
// microseconds apart and waking a sleeping thread costs tens of microseconds — more than a split
// saves (at::parallel_for's passive OpenMP threads made decoding slower, RESULTS session 16) — and
// sleeps after a fraction of a millisecond without one, so an idle decoder holds no core.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace engram {

class HelperThread {
 public:
  // With `enabled` false (one thread allowed) there is no helper and split() runs everything here.
  explicit HelperThread(bool enabled);
  ~HelperThread();
  HelperThread(const HelperThread&) = delete;
  HelperThread& operator=(const HelperThread&) = delete;

  // body(first, last) over [0, n): the helper takes [0, m), this thread [m, n), with m about n/2 and
  // a multiple of `grain`; returns when both are done. body must not throw; one caller at a time
  // (a decoder is stepped from one thread). No std::function: its captures would be allocated on
  // every call.
  template <class F>
  void split(int64_t n, int64_t grain, const F& body) {
    run(n, grain, [](const void* f, int64_t first, int64_t last) { (*static_cast<const F*>(f))(first, last); }, &body);
  }

 private:
  using Call = void (*)(const void*, int64_t, int64_t);
  void run(int64_t n, int64_t grain, Call call, const void* body);
  void loop();

  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> posted_{0}, done_{0};
  std::atomic<bool> stop_{false};
  Call call_ = nullptr;
  const void* body_ = nullptr;
  int64_t task_end_ = 0;
};

// ops::matvec (y = W x + b, W [out, in]) with its rows split between this thread and the helper.
void matvec(HelperThread& helper, const float* W, const float* b, const float* x, float* y, int64_t out, int64_t in);

}  // namespace engram
