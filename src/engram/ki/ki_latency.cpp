#include "engram/ki/ki_latency.h"

#include <algorithm>
#include <chrono>

#include <torch/torch.h>

#include "engram/fast/quantiles.h"
#include "engram/tableworld/vocabulary.h"

namespace engram::ki {

std::vector<LatencySize> latency_sizes() {
  auto size = [](const std::string& name, int64_t width, int64_t expert, int64_t depth, int64_t heads, int64_t head_dim, int64_t prefix) {
    LatencySize s;
    s.name = name;
    s.model.vocab = tableworld::Vocabulary().size();
    s.model.width = width, s.model.ffn = 2 * width, s.model.expert_width = expert, s.model.expert_ffn = 2 * expert;
    s.model.depth = depth, s.model.heads = heads, s.model.head_dim = head_dim;
    s.prefix = prefix;
    return s;
  };
  return {size("S", 128, 64, 4, 4, 32, 25), size("M", 256, 128, 6, 8, 32, 25), size("L", 512, 128, 8, 8, 64, 64)};
}

namespace {

// Multiply–accumulates of `tokens` tokens through one group of width w and FFN f attending `keys` keys.
double layer_macs(const KiModelConfig& c, int64_t w, int64_t f, int64_t tokens, int64_t keys) {
  const double hd = static_cast<double>(c.heads * c.head_dim);
  const double proj = w * hd + 2.0 * w * c.head_dim + hd * w;
  return static_cast<double>(tokens) * (proj + 3.0 * w * f + 2.0 * hd * static_cast<double>(keys));
}

PrefixInput random_prefix(int64_t n, int64_t vocab) {
  PrefixInput p;
  p.ids = torch::randint(3, vocab, {1, n}, torch::kLong);
  p.valid = torch::ones({1, n}, torch::kBool);
  p.object_words = torch::randint(3, vocab, {1, 3, 2}, torch::kLong);
  p.object_xy = torch::rand({1, 3, 2});
  return p;
}

std::pair<double, double> time_calls(const std::function<void()>& f, int calls, int warmup) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> ms;
  for (int i = 0; i < calls; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return {percentile(ms, 0.5), percentile(ms, 0.9)};
}

}  // namespace

std::vector<LatencyRow> measure_latency(const std::vector<LatencySize>& sizes, int steps, const std::vector<int64_t>& fast_tokens,
                                        int calls, int warmup) {
  c10::InferenceMode inference;
  std::vector<LatencyRow> rows;
  for (const auto& s : sizes) {
    torch::manual_seed(0);
    const auto& c = s.model;
    KiModel ki(c);
    KiModelConfig shared = c;  // Transfusion-like (R10): action tokens through the backbone's weights
    shared.shared_weights = true;
    KiModel transfusion(shared);
    const auto prefix = random_prefix(s.prefix, c.vocab);
    const auto noise = torch::randn({1, c.horizon, c.action_dim});
    const auto empty_ids = torch::zeros({1, 0}, torch::kLong);
    const auto empty = torch::zeros({1, 0}, torch::kBool);
    const int64_t H = c.horizon, P = s.prefix;
    double prefix_macs = 0;
    for (int64_t l = 0; l < c.depth; ++l) prefix_macs += layer_macs(c, c.width, c.ffn, P, P);
    auto expert_macs = [&](int64_t w, int64_t f) {
      double m = 0;
      for (int64_t l = 0; l < c.depth; ++l) m += layer_macs(c, w, f, H, P + H);
      return m;
    };
    auto integrate = [&](KiModel& m) {
      const auto cache = m.encode_prefix(prefix);
      auto x = noise;
      for (int k = 0; k < steps; ++k) x = x - m.velocity(cache, x, torch::full({1}, 1.0 - static_cast<double>(k) / steps)) / steps;
    };
    auto add = [&](const std::string& method, int64_t n, const std::function<void()>& f, double macs) {
      const auto [median, p90] = time_calls(f, calls, warmup);
      rows.push_back({s.name, method, n, median, p90, macs / 1e6});
    };
    add("ki", steps, [&] { integrate(ki); }, prefix_macs + steps * expert_macs(c.expert_width, c.expert_ffn));
    add("ki-no-cache", steps, [&] {
      auto x = noise;
      for (int k = 0; k < steps; ++k)
        x = x - ki.forward(prefix, empty_ids, empty, x, torch::full({1}, 1.0 - static_cast<double>(k) / steps)).velocity / steps;
    }, steps * (prefix_macs + expert_macs(c.expert_width, c.expert_ffn)));
    add("transfusion", steps, [&] { integrate(transfusion); }, prefix_macs + steps * expert_macs(c.width, c.ffn));
    for (int64_t T : fast_tokens) {
      double decode = 0;
      for (int64_t t = 0; t < T; ++t)
        for (int64_t l = 0; l < c.depth; ++l) decode += layer_macs(c, c.width, c.ffn, 1, P + t + 1);
      add("ar-fast", T, [&] {
        auto cache = ki.encode_prefix(prefix);
        auto next = torch::matmul(cache.last_hidden, ki.embedding_weight().t()).argmax(-1);
        for (int64_t t = 0; t < T; ++t) next = ki.decode_step(cache, next).argmax(-1);
      }, prefix_macs + decode);
    }
  }
  return rows;
}

}  // namespace engram::ki
