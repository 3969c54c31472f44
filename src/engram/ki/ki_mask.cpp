#include "engram/ki/ki_mask.h"

#include <torch/torch.h>

namespace engram::ki {

KiMasks ki_masks(const torch::Tensor& prefix_valid, const torch::Tensor& fast_valid, int64_t horizon, bool action_sees_fast) {
  const int64_t B = prefix_valid.size(0), P = prefix_valid.size(1), F = fast_valid.size(1), H = horizon;
  const auto valid = torch::cat({prefix_valid, fast_valid}, 1);  // [B, P+F]
  const auto is_fast = torch::cat({torch::zeros({P}, torch::kBool), torch::ones({F}, torch::kBool)});
  const auto index = torch::arange(P + F);
  // Backbone rows: any row sees valid P keys; F rows also see F keys at or before themselves.
  const auto keys_valid = valid.unsqueeze(1);                                         // [B, 1, P+F]
  const auto key_is_p = (~is_fast).view({1, 1, -1});
  const auto causal_f = is_fast.view({1, -1, 1}) & is_fast.view({1, 1, -1}) & (index.view({1, 1, -1}) <= index.view({1, -1, 1}));
  auto backbone = keys_valid & (key_is_p | causal_f) & valid.unsqueeze(2);
  // Action rows: every valid P key, every A key, F keys only when leaking on purpose.
  auto over_pf = keys_valid & (action_sees_fast ? key_is_p | is_fast.view({1, 1, -1}) : key_is_p);
  auto action = torch::cat({over_pf.expand({B, H, P + F}), torch::ones({B, H, H}, torch::kBool)}, 2);

  KiMasks m;
  m.backbone = backbone;
  m.action = action;
  m.backbone_positions = (valid.to(torch::kLong).cumsum(1) - 1).clamp_min(0);
  const auto n_prefix = prefix_valid.to(torch::kLong).sum(1, true);  // [B, 1]
  m.action_positions = n_prefix + torch::arange(H).view({1, -1});
  return m;
}

torch::Tensor prefix_lm_mask(const torch::Tensor& valid, const torch::Tensor& prefix_length) {
  const int64_t L = valid.size(1);
  const auto i = torch::arange(L).view({1, -1, 1}), j = torch::arange(L).view({1, 1, -1});
  const auto in_prefix = j < prefix_length.view({-1, 1, 1});
  return (in_prefix | (j <= i)) & valid.unsqueeze(1) & valid.unsqueeze(2);
}

}  // namespace engram::ki
