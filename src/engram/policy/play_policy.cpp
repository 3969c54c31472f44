#include "engram/policy/play_policy.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/policy/policy_trainer.h"
#include "engram/policy/sampling.h"
#include "engram/sim/render.h"

namespace engram {

PlayResult play_policy(const std::string& checkpoint, const PlayOptions& o, int shift) {
  auto loaded = load_policy(checkpoint);
  auto& policy = *loaded.policy;
  const std::string task = o.task.empty() ? loaded.config["env"]["env_name"].get<std::string>() : o.task;
  auto model = std::make_shared<const SimModel>(make_sim_task(task));
  if (model->obs_dim() != policy.obs_dim() || model->action_dim() != policy.action_dim())
    throw Error("sim play: the policy in " + checkpoint + " does not fit task " + task);
  if (shift < 1 || shift > policy.horizon()) throw Error("sim play: --shift must be within 1…H = " + std::to_string(policy.horizon()));
  Env env(model);
  auto obs = env.reset(o.seed * 1000003ull + o.episode);
  std::vector<Image> frames{render_frame(*model, env.data(), o.size)};
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
      frames.push_back(render_frame(*model, env.data(), o.size));
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
