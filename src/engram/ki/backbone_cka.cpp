#include "engram/ki/backbone_cka.h"

#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/core/safetensors.h"
#include "engram/ki/ki_checkpoint.h"
#include "engram/tableworld/prompt.h"
#include "engram/tableworld/table_env.h"

namespace engram::ki {
namespace {

// [n, width]: each observation's final-layer backbone states, averaged over its prefix tokens.
torch::Tensor prefix_features(KiModel& model, const torch::Tensor& obs) {
  torch::NoGradGuard no_grad;
  const auto prefix = tableworld::prompt_prefix(obs, tableworld::Vocabulary());
  const auto B = obs.size(0);
  const auto hidden = model.forward(prefix, torch::zeros({B, 0}, torch::kLong), torch::zeros({B, 0}, torch::kBool), {}, {})
                          .backbone_hidden;  // [B, P, W]
  const auto valid = prefix.valid.to(hidden.dtype()).unsqueeze(-1);
  return (hidden * valid).sum(1) / valid.sum(1);
}

}  // namespace

double linear_cka(const torch::Tensor& x, const torch::Tensor& y) {
  if (x.dim() != 2 || y.dim() != 2 || x.size(0) != y.size(0) || x.size(0) < 2)
    throw Error("linear CKA: needs two [n, d] feature matrices over the same n ≥ 2 inputs");
  const auto xc = x.to(torch::kDouble) - x.to(torch::kDouble).mean(0, true);
  const auto yc = y.to(torch::kDouble) - y.to(torch::kDouble).mean(0, true);
  const double cross = torch::matmul(yc.t(), xc).pow(2).sum().item<double>();
  const double xx = torch::matmul(xc.t(), xc).norm().item<double>(), yy = torch::matmul(yc.t(), yc).norm().item<double>();
  if (xx == 0 || yy == 0) throw Error("linear CKA: a feature matrix is constant over the inputs");
  return cross / (xx * yy);
}

double backbone_cka(const std::string& policy_checkpoint, int64_t observations, const std::string& stage0_given) {
  const auto file = load_safetensors(policy_checkpoint);
  const auto config = read_ki_config(file, "ki-policy");
  const std::string stage0 = stage0_given.empty() ? config.at("train").value("backbone", std::string()) : stage0_given;
  if (stage0.empty()) throw Error(policy_checkpoint + ": its config names no stage-0 backbone (give it with --backbone)");
  auto trained = load_ki_model(file, config);
  auto start = ki_model_of(config);
  load_ki_tensors(*start, load_safetensors(stage0), "backbone");  // as ki train starts from it
  start->eval();

  const tableworld::Split splits[] = {tableworld::Split::kDirect, tableworld::Split::kKnownEntities,
                                      tableworld::Split::kNovelEntities};
  std::vector<float> values;
  for (int64_t i = 0; i < observations; ++i) {
    tableworld::TableEnv env(splits[i % 3]);
    const auto o = env.reset(static_cast<uint64_t>(i));
    values.insert(values.end(), o.begin(), o.end());
  }
  const auto obs = torch::tensor(values).view({observations, tableworld::kObsDim});
  return linear_cka(prefix_features(*start, obs), prefix_features(*trained, obs));
}

}  // namespace engram::ki
