// A batch of environments of one task stepped together, for `engram sim bench`'s batched
// throughput (the delay harness keeps its own Env per episode, since each waits on its policy).
// Environments are independent; with `threads` > 1 the batch is split into contiguous slices
// stepped by persistent worker threads. Finished environments are skipped, not reset.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engram/sim/mujoco_env.h"

namespace engram {

class VecEnv {
 public:
  VecEnv(std::shared_ptr<const SimModel> model, int n, int threads = 1);
  ~VecEnv();
  VecEnv(const VecEnv&) = delete;
  VecEnv& operator=(const VecEnv&) = delete;

  // Environment i is reset with seeds[i]; returns observations [n × obs_dim].
  std::vector<double> reset(const std::vector<uint64_t>& seeds);
  // actions: [n × action_dim]; rows of finished environments are ignored. Results per environment.
  std::vector<StepResult> step(const std::vector<double>& actions);
  std::vector<double> observe() const;
  int size() const { return static_cast<int>(envs_.size()); }
  MujocoEnv& env(int i) { return *envs_[static_cast<size_t>(i)]; }

 private:
  void step_slice(int worker);
  std::shared_ptr<const SimModel> model_;
  std::vector<std::unique_ptr<MujocoEnv>> envs_;
  const std::vector<double>* actions_ = nullptr;
  std::vector<StepResult> results_;
  std::vector<std::thread> pool_;
  std::mutex mutex_;
  std::condition_variable start_, finished_;
  int64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
  std::exception_ptr error_;
};

}  // namespace engram
