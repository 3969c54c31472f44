#include "engram/ki/flow_steps_sweep.h"

#include <algorithm>
#include <chrono>

#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/ki/ki_checkpoint.h"
#include "engram/ki/ki_eval.h"
#include "engram/ki/ki_policy.h"
#include "engram/policy/sampling.h"
#include "engram/tableworld/table_env.h"

namespace engram::ki {
namespace {

// Median batch-1 chunk latency for every N, each chunk on a new scene of the direct split (so the
// prefix is encoded every time, as in closed-loop control). The values of N take turns, so a
// noisy neighbour slows them alike.
std::vector<double> chunk_ms(FlowPolicy& policy, const std::vector<int64_t>& steps, int rounds) {
  torch::NoGradGuard no_grad;
  const auto noise = torch::randn({1, policy.horizon(), policy.action_dim()});
  std::vector<std::vector<double>> ms(steps.size());
  tableworld::TableEnv env(tableworld::Split::kDirect);
  uint64_t scene = 0;
  for (int i = 0; i < rounds + 3; ++i) {
    for (size_t k = 0; k < steps.size(); ++k) {
      const auto o = env.reset(scene++);
      const auto obs = torch::tensor(std::vector<float>(o.begin(), o.end())).unsqueeze(0);
      const auto t0 = std::chrono::steady_clock::now();
      sample_chunk(policy, obs, noise, static_cast<int>(steps[k]));
      if (i >= 3) ms[k].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  std::vector<double> medians;
  for (auto& m : ms) {
    std::nth_element(m.begin(), m.begin() + static_cast<int64_t>(m.size() / 2), m.end());
    medians.push_back(m[m.size() / 2]);
  }
  return medians;
}

}  // namespace

std::vector<FlowStepsRow> success_vs_flow_steps(const std::string& checkpoint, const std::vector<int64_t>& steps,
                                                int64_t episodes) {
  const auto file = load_safetensors(checkpoint);
  const auto config = read_ki_config(file, "ki-policy");
  const auto& train = config.at("train");
  if (train.value("recipe", std::string()) == "R2")
    throw Error(checkpoint + " is recipe R2 (AR FAST decoding, no action expert): it has no flow steps to vary");
  auto model = load_ki_model(file, config);
  auto policy = std::make_shared<KiPolicy>(model);
  const auto seed = train.value("seed", uint64_t{0});
  const int shift = train.value("shift", 8);
  if (episodes <= 0) episodes = train.value("eval_episodes", int64_t{64});
  for (int64_t n : steps)
    if (n < 1) throw Error("flow steps must be ≥ 1, got " + std::to_string(n));
  std::vector<FlowStepsRow> rows;
  torch::NoGradGuard no_grad;
  for (int64_t n : steps) rows.push_back({n, episodes, split_rates(flow_chunks(policy, n, seed), episodes, shift), 0.0});
  const auto ms = chunk_ms(*policy, steps, 200);
  for (size_t k = 0; k < rows.size(); ++k) rows[k].chunk_ms = ms[k];
  return rows;
}

}  // namespace engram::ki
