#include "engram/policy/bid.h"

#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/policy/sampling.h"

namespace engram {

namespace {

// Σ_i w_i ‖a_i − b_i‖₂ over the H rows: a [..., H, M] against b broadcastable to it.
torch::Tensor row_distance(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& w) {
  return ((a - b).pow(2).sum(-1).sqrt() * w).sum(-1);
}

}  // namespace

torch::Tensor bid_scores(const torch::Tensor& strong, const torch::Tensor& weak, const torch::Tensor& target,
                         const torch::Tensor& weights, int contrast) {
  const int64_t B = strong.size(0), N = strong.size(1), H = strong.size(2), M = strong.size(3);
  if (contrast < 0 || contrast > N) throw Error("bid: need 0 ≤ K ≤ N (got K = " + std::to_string(contrast) + ", N = " + std::to_string(N) + ")");
  if (contrast > 0 && (!weak.defined() || weak.sizes() != strong.sizes()))
    throw Error("bid: forward contrast needs weak candidates shaped like the strong ones " + c10::str(strong.sizes()));
  const auto y = target.view({B, 1, H, M});
  auto score = row_distance(strong, y, weights);  // L_B, [B, N]
  if (contrast > 0) {
    const auto pick = [&](const torch::Tensor& candidates, const torch::Tensor& coherence) {
      const auto idx = std::get<1>(coherence.topk(contrast, 1, /*largest=*/false));  // [B, K]
      return candidates.gather(1, idx.view({B, contrast, 1, 1}).expand({B, contrast, H, M}));
    };
    const auto positives = pick(strong, score), negatives = pick(weak, row_distance(weak, y, weights));
    const auto ones = torch::ones({H}, strong.options());
    const auto to_set = [&](const torch::Tensor& set) {  // [B, N] summed over the K members
      return row_distance(strong.unsqueeze(2), set.unsqueeze(1), ones).sum(2);
    };
    score = score + (to_set(positives) - to_set(negatives)) / static_cast<double>(N);
  }
  return score;
}

torch::Tensor bid_select(const torch::Tensor& strong, const torch::Tensor& weak, const torch::Tensor& target,
                         const torch::Tensor& weights, int contrast) {
  return bid_scores(strong, weak, target, weights, contrast).argmin(1);
}

torch::Tensor bid_sample_chunk(FlowPolicy& strong, FlowPolicy* weak, const torch::Tensor& obs, const torch::Tensor& noise,
                               const torch::Tensor& target, int delay, int shift, const BidOptions& o) {
  const int64_t B = noise.size(0), N = noise.size(1), H = noise.size(2), M = noise.size(3);
  if (o.contrast > 0 && !weak) throw Error("bid: forward contrast (K > 0) needs a weak checkpoint");
  const auto obs_n = obs.repeat_interleave(N, 0);
  const auto flat = noise.reshape({B * N, H, M});
  const auto a = sample_chunk(strong, obs_n, flat, o.steps).view({B, N, H, M});
  const auto b = o.contrast > 0 ? sample_chunk(*weak, obs_n, flat, o.steps).view({B, N, H, M}) : torch::Tensor();
  const auto w = torch::tensor(rtc_mask(static_cast<int>(H), delay, shift, MaskSchedule::kExp), noise.options());
  const auto chosen = bid_select(a, b, target, w, o.contrast);
  return a.gather(1, chosen.view({B, 1, 1, 1}).expand({B, 1, H, M})).squeeze(1);
}

}  // namespace engram
