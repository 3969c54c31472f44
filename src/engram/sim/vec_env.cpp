#include "engram/sim/vec_env.h"

#include "engram/core/error.h"

namespace engram {

VecEnv::VecEnv(std::shared_ptr<const SimModel> model, int n, int threads) : model_(std::move(model)) {
  if (n < 1 || threads < 1) throw Error("VecEnv needs ≥ 1 environment and ≥ 1 thread");
  for (int i = 0; i < n; ++i) envs_.push_back(std::make_unique<MujocoEnv>(model_));
  results_.resize(static_cast<size_t>(n));
  // Worker 0 is the calling thread; the others wait for a new generation of work.
  for (int w = 1; w < std::min(threads, n); ++w)
    pool_.emplace_back([this, w] {
      int64_t seen = 0;
      for (;;) {
        {
          std::unique_lock<std::mutex> lock(mutex_);
          start_.wait(lock, [&] { return stop_ || generation_ != seen; });
          if (stop_) return;
          seen = generation_;
        }
        try {
          step_slice(w);
        } catch (...) {
          std::lock_guard<std::mutex> lock(mutex_);
          error_ = std::current_exception();
        }
        std::lock_guard<std::mutex> lock(mutex_);
        if (--pending_ == 0) finished_.notify_one();
      }
    });
}

VecEnv::~VecEnv() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  start_.notify_all();
  for (auto& t : pool_) t.join();
}

std::vector<double> VecEnv::reset(const std::vector<uint64_t>& seeds) {
  if (seeds.size() != envs_.size())
    throw Error("VecEnv::reset: " + std::to_string(seeds.size()) + " seeds for " + std::to_string(envs_.size()) + " environments");
  for (size_t i = 0; i < envs_.size(); ++i) envs_[i]->reset(seeds[i]);
  return observe();
}

void VecEnv::step_slice(int worker) {
  const int workers = static_cast<int>(pool_.size()) + 1, n = size();
  const int lo = n * worker / workers, hi = n * (worker + 1) / workers;
  const auto A = static_cast<size_t>(model_->action_dim());
  for (int i = lo; i < hi; ++i) {
    auto& env = *envs_[static_cast<size_t>(i)];
    if (env.done()) {
      results_[static_cast<size_t>(i)] = StepResult{0, true, false};
      continue;
    }
    const double* a = actions_->data() + static_cast<size_t>(i) * A;
    results_[static_cast<size_t>(i)] = env.step(std::vector<double>(a, a + A));
  }
}

std::vector<StepResult> VecEnv::step(const std::vector<double>& actions) {
  if (actions.size() != envs_.size() * static_cast<size_t>(model_->action_dim()))
    throw Error("VecEnv::step: " + std::to_string(actions.size()) + " action values for " + std::to_string(envs_.size()) +
                " environments × " + std::to_string(model_->action_dim()) + " dimensions");
  actions_ = &actions;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pending_ = static_cast<int>(pool_.size());
    ++generation_;
    error_ = nullptr;
  }
  start_.notify_all();
  std::exception_ptr mine;
  try {
    step_slice(0);
  } catch (...) {
    mine = std::current_exception();
  }
  std::unique_lock<std::mutex> lock(mutex_);
  finished_.wait(lock, [&] { return pending_ == 0; });
  if (mine) std::rethrow_exception(mine);
  if (error_) std::rethrow_exception(error_);
  return results_;
}

std::vector<double> VecEnv::observe() const {
  std::vector<double> all;
  for (const auto& e : envs_) {
    const auto o = e->observe();
    all.insert(all.end(), o.begin(), o.end());
  }
  return all;
}

}  // namespace engram
