#include "engram/policy/play_policy.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/policy/policy_trainer.h"
#include "engram/policy/sampling.h"
#include "engram/sim/env.h"

namespace engram {

PlayResult play_policy(const std::string& checkpoint, const PlayOptions& o, int shift) {
  auto loaded = load_policy(checkpoint);
  auto& policy = *loaded.policy;
  const std::string task = o.task.empty() ? loaded.config["env"]["env_name"].get<std::string>() : o.task;
  const auto world = open_world(task);
  if (world->obs_dim() != policy.obs_dim() || world->action_dim() != policy.action_dim())
    throw Error("sim play: the policy in " + checkpoint + " does not fit task " + task);
  if (shift < 1 || shift > policy.horizon()) throw Error("sim play: --shift must be within 1…H = " + std::to_string(policy.horizon()));
  const auto env_ptr = world->make_env();
  Env& env = *env_ptr;
  auto obs = env.reset(o.seed * 1000003ull + o.episode);
  std::vector<Image> frames{env.render(o.size)};
  auto gen = at::detail::createCPUGenerator(o.seed ^ (o.episode << 20));
  torch::NoGradGuard no_grad;
  PlayResult r;
  while (!env.done()) {
    auto obs_t = torch::tensor(std::vector<float>(obs.begin(), obs.end())).view({1, -1});
    const auto chunk = sample_chunk(policy, obs_t, torch::randn({1, policy.horizon(), policy.action_dim()}, gen, torch::kFloat32), 5);
    for (int i = 0; i < shift && !env.done(); ++i) {
      const auto row = chunk[0][i].to(torch::kFloat64).contiguous();
      const auto step = env.step(std::vector<double>(row.data_ptr<double>(), row.data_ptr<double>() + row.numel()));
      r.success = step.success;
      frames.push_back(env.render(o.size));
    }
    obs = env.observe();
  }
  r.steps = env.steps();
  r.style = "policy " + checkpoint;
  if (!o.gif.empty()) write_gif(o.gif, frames, 3);
  if (!o.sheet.empty()) write_png(o.sheet, contact_sheet(evenly_spaced(frames, 8), 4));
  return r;
}

}  // namespace engram
