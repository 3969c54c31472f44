#include "engram/policy/chunk_scheduler.h"

#include <algorithm>

#include <torch/torch.h>

#include "engram/core/error.h"

namespace engram {

ChunkScheduler::ChunkScheduler(const torch::Tensor& first_chunk, int min_shift, int initial_delay, int queue_length)
    : chunk_(first_chunk.to(torch::kFloat64).contiguous()), min_shift_(min_shift), queue_length_(static_cast<size_t>(queue_length)) {
  if (first_chunk.dim() != 2) throw Error("chunk scheduler: the first chunk must be [H, M], got " + c10::str(first_chunk.sizes()));
  if (min_shift < 1 || min_shift > first_chunk.size(0))
    throw Error("chunk scheduler: s_min must be within 1…H = " + std::to_string(first_chunk.size(0)));
  if (initial_delay < 0 || queue_length < 1) throw Error("chunk scheduler: need an initial delay ≥ 0 and a queue of ≥ 1");
  delays_.push_back(initial_delay);
}

ChunkScheduler::Action ChunkScheduler::get_action(const std::vector<double>& obs) {
  Action a;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++t_;
    obs_ = obs;
    const int64_t H = chunk_.size(0), M = chunk_.size(1);
    a.underrun = t_ > H;
    a.index = static_cast<int>(std::min<int64_t>(t_ - 1, H - 1));
    a.chunk = chunks_;
    const double* row = chunk_.data_ptr<double>() + a.index * M;
    a.values.assign(row, row + M);
  }
  wake_.notify_one();
  return a;
}

std::optional<ChunkScheduler::Request> ChunkScheduler::next_request() {
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait(lock, [&] { return stopped_ || t_ >= min_shift_; });
  if (stopped_) return std::nullopt;
  Request r;
  r.shift = t_;
  r.delay = *std::max_element(delays_.begin(), delays_.end());
  r.previous = chunk_.slice(0, std::min<int64_t>(t_, chunk_.size(0))).clone();
  r.obs = obs_;
  return r;
}

int ChunkScheduler::swap(const torch::Tensor& chunk, int shift) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (chunk.sizes() != chunk_.sizes())
    throw Error("chunk scheduler: new chunk " + c10::str(chunk.sizes()) + " differs from " + c10::str(chunk_.sizes()));
  chunk_ = chunk.to(torch::kFloat64).contiguous();
  ++chunks_;
  t_ -= shift;  // not t ← 0: the ticks that ran during inference already consumed the new chunk's first rows
  delays_.push_back(t_);
  while (delays_.size() > queue_length_) delays_.pop_front();
  return t_;
}

void ChunkScheduler::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
  }
  wake_.notify_all();
}

int ChunkScheduler::planned_delay() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return *std::max_element(delays_.begin(), delays_.end());
}

}  // namespace engram
