// The shared state of RTC's asynchronous execution (spec §4, Algorithm 1): the chunk being executed,
// the tick counter t (ticks since that chunk's first index), the latest observation and the queue of
// measured delays. The controller calls get_action() every tick and never waits for inference; the
// inference thread waits in next_request() until at least s_min actions of the chunk have run, computes
// a new chunk from the snapshot, and hands it over with swap(). One mutex guards everything, so the
// chunk swap and the reset t ← t − s happen together.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include <torch/types.h>

namespace engram {

class ChunkScheduler {
 public:
  // `first_chunk` [H, M] is executed from index 0 (it was computed while nothing moved). The delay
  // queue starts as {initial_delay} and keeps the last `queue_length` measured delays.
  ChunkScheduler(const torch::Tensor& first_chunk, int min_shift, int initial_delay, int queue_length);

  struct Action {
    std::vector<double> values;
    int chunk = 0;         // how many swaps happened before this action (0: the first chunk)
    int index = 0;         // its row in that chunk
    bool underrun = false; // the chunk ran out (t > H): the last row is held and the tick counts as missed
  };
  // t ← t + 1, o_cur ← obs, wake the inference thread, return A_cur[t − 1].
  Action get_action(const std::vector<double>& obs);

  struct Request {
    int shift = 0;              // s: actions of the current chunk executed when the snapshot was taken
    int delay = 0;              // d: max of the queue, the delay to plan for
    torch::Tensor previous;     // A_cur[s : H], [H − s, M] (empty when s ≥ H)
    std::vector<double> obs;    // the latest observation
  };
  // Blocks until t ≥ s_min (then snapshots) or stop() (then returns nothing).
  std::optional<Request> next_request();
  // A_cur ← chunk, t ← t − shift; the new t, the ticks that passed during inference, is the measured
  // delay: it is pushed into the queue and returned.
  int swap(const torch::Tensor& chunk, int shift);
  void stop();

  int planned_delay() const;  // max of the queue

 private:
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  torch::Tensor chunk_;  // [H, M] float64, contiguous
  int t_ = 0, chunks_ = 0;
  const int min_shift_;
  const size_t queue_length_;
  std::deque<int> delays_;
  std::vector<double> obs_;
  bool stopped_ = false;
};

}  // namespace engram
