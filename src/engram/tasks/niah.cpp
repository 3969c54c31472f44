#include "engram/tasks/niah.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include <torch/torch.h>

#include "engram/core/config.h"
#include "engram/core/error.h"
#include "engram/seq/model.h"

namespace engram {
namespace {

// Vocabulary: 5 specials, 16 key symbols, 10 digits, 64 filler symbols.
constexpr int64_t kPad = 0, kBos = 1, kNeedle = 2, kQuery = 3, kAnswer = 4;
constexpr int64_t kKeys = 5, kKeyCount = 16;
constexpr int64_t kDigits = kKeys + kKeyCount, kDigitCount = 10;
constexpr int64_t kFiller = kDigits + kDigitCount, kFillerCount = 64;
constexpr int64_t kVocab = kFiller + kFillerCount;
constexpr int64_t kDepths = 20;

int64_t uniform(std::mt19937_64& rng, int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); }

// "w" haystacks carry 8-token values and up to 3 distractor needles; the others 4 tokens, one needle.
int64_t value_tokens(Haystack haystack) { return haystack == Haystack::kDistractors ? 8 : 4; }
int64_t most_needles(Haystack haystack) { return haystack == Haystack::kDistractors ? 4 : 1; }

}  // namespace

const Names<Haystack>& names_of(Haystack) {
  static const Names<Haystack> names = {{"pk", Haystack::kPattern}, {"n", Haystack::kMarkov}, {"w", Haystack::kDistractors}};
  return names;
}

NiahConfig NiahConfig::from_json(const nlohmann::json& j, const std::string& where) {
  ConfigReader c(j, where);
  NiahConfig n;
  n.fields(c);
  c.finish();
  // The shortest sequence must hold BOS, every needle and the query with its answer.
  const int64_t value = value_tokens(n.haystack);
  const int64_t least = 1 + most_needles(n.haystack) * (3 + value) + 4 + value - 1;
  for (int64_t L : n.eval_lengths)
    if (L < least) throw Error("config " + c.path("eval_lengths") + " holds " + std::to_string(L) + "; the " + name_of(n.haystack) + " haystack needs length ≥ " + std::to_string(least));
  if (n.min_length < least)
    throw Error("config " + c.path("min_length") + " = " + std::to_string(n.min_length) + "; the " + name_of(n.haystack) +
                " haystack needs length ≥ " + std::to_string(least));
  return n;
}

nlohmann::json NiahConfig::to_json() const { return write_config(*this); }

NiahTask::NiahTask(const NiahConfig& config) : config_(config) {
  std::mt19937_64 rng(static_cast<uint64_t>(config.seed) ^ 0x5eedbeefULL);
  for (int i = 0; i < 8; ++i) pattern_.push_back(kFiller + uniform(rng, 0, kFillerCount - 1));
  // Peaked random transition rows (weights exp(2z)), so the haystack has text-like structure.
  std::normal_distribution<double> z(0.0, 1.0);
  std::vector<double> row(kFillerCount);
  for (int64_t i = 0; i < kFillerCount; ++i) {
    for (auto& w : row) w = std::exp(2.0 * z(rng));
    transitions_.emplace_back(row.begin(), row.end());
  }
}

int64_t NiahTask::vocab_size() const { return kVocab; }

int64_t NiahTask::value_length() const { return value_tokens(config_.haystack); }

void NiahTask::fill_haystack(int64_t* out, int64_t n, std::mt19937_64& rng) const {
  if (config_.haystack == Haystack::kPattern) {
    for (int64_t i = 0; i < n; ++i) out[i] = pattern_[static_cast<size_t>(i % 8)];
    return;
  }
  int64_t state = uniform(rng, 0, kFillerCount - 1);
  std::discrete_distribution<size_t> next;
  for (int64_t i = 0; i < n; ++i) {
    out[i] = kFiller + state;
    state = static_cast<int64_t>(next(rng, transitions_[static_cast<size_t>(state)]));
  }
}

Batch NiahTask::sample(int64_t batch, std::mt19937_64& rng) const {
  return sample_length(batch, uniform(rng, config_.min_length, config_.max_length), rng);
}

Batch NiahTask::sample_length(int64_t batch, int64_t length, std::mt19937_64& rng) const {
  const int64_t m = value_length(), needle_len = 3 + m;
  const bool w = config_.haystack == Haystack::kDistractors;
  auto tokens = torch::empty({batch, length + 1}, torch::kLong);
  auto score = torch::zeros({batch, length}, torch::kBool);
  for (int64_t b = 0; b < batch; ++b) {
    int64_t* s = tokens.data_ptr<int64_t>() + b * (length + 1);
    // Keys: a pair of key symbols; distractors get other pairs.
    auto key_pair = [&] { return std::pair<int64_t, int64_t>{kKeys + uniform(rng, 0, kKeyCount - 1), kKeys + uniform(rng, 0, kKeyCount - 1)}; };
    auto value_token = [&] { return w ? kKeys + uniform(rng, 0, kKeyCount - 1) : kDigits + uniform(rng, 0, kDigitCount - 1); };
    std::vector<std::vector<int64_t>> needles;
    const auto key = key_pair();
    std::vector<int64_t> value;
    for (int64_t i = 0; i < m; ++i) value.push_back(value_token());
    needles.push_back({kNeedle, key.first, key.second});
    needles.back().insert(needles.back().end(), value.begin(), value.end());
    const int64_t distractors = w ? uniform(rng, 1, 3) : 0;
    for (int64_t d = 0; d < distractors; ++d) {
      auto other = key_pair();
      while (other == key) other = key_pair();
      needles.push_back({kNeedle, other.first, other.second});
      for (int64_t i = 0; i < m; ++i) needles.back().push_back(value_token());
    }
    // Layout: BOS, haystack with the needles inserted, QUERY k₁ k₂ ANSWER v₁…v_m (the last input
    // token is v_{m−1}; the target sequence ends with v_m).
    const int64_t tail = 4 + m;
    const int64_t filler = length + 1 - 1 - tail - needle_len * static_cast<int64_t>(needles.size());
    std::vector<int64_t> hay(static_cast<size_t>(filler));
    fill_haystack(hay.data(), filler, rng);
    // Insertion points into the filler: the needle at one of 20 evenly spaced depths, distractors anywhere.
    std::vector<std::pair<int64_t, size_t>> inserts;
    const int64_t depth = uniform(rng, 0, kDepths - 1);
    inserts.push_back({static_cast<int64_t>(std::llround(static_cast<double>(depth) / (kDepths - 1) * filler)), 0});
    for (size_t d = 1; d < needles.size(); ++d) inserts.push_back({uniform(rng, 0, filler), d});
    std::sort(inserts.begin(), inserts.end());
    int64_t pos = 0, from = 0;
    s[pos++] = kBos;
    for (const auto& [at, which] : inserts) {
      for (; from < at; ++from) s[pos++] = hay[static_cast<size_t>(from)];
      for (int64_t t : needles[which]) s[pos++] = t;
    }
    for (; from < filler; ++from) s[pos++] = hay[static_cast<size_t>(from)];
    for (int64_t t : {kQuery, key.first, key.second, kAnswer}) s[pos++] = t;
    for (int64_t t : value) s[pos++] = t;
    if (pos != length + 1) throw Error("niah: internal layout error");
    for (int64_t i = 0; i < m; ++i) score[b][length - m + i] = true;
  }
  auto inputs = tokens.narrow(1, 0, length).contiguous();
  auto targets = tokens.narrow(1, 1, length).contiguous();
  return {inputs, targets, score.to(torch::kFloat32), score};
}

nlohmann::json NiahTask::score(SequenceModel& model) const {
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  const auto device = model.parameters().front().device();
  const int64_t m = value_length();
  nlohmann::json out = nlohmann::json::object();
  for (int64_t L : config_.eval_lengths) {
    std::mt19937_64 rng(static_cast<uint64_t>(config_.seed) * 1000003ULL + static_cast<uint64_t>(L));
    const int64_t per_batch = std::max<int64_t>(1, 8192 / L);
    int64_t exact = 0, correct = 0;
    for (int64_t done = 0; done < config_.eval_samples; done += per_batch) {
      const int64_t n = std::min(per_batch, config_.eval_samples - done);
      Batch b = sample_length(n, L, rng);
      // Only the last m positions are scored: run the logits there alone (long contexts).
      auto h = model.hidden(model.embed(b.inputs.to(device)));
      auto guess = model.logits(h.narrow(1, L - m, m)).argmax(-1).to(torch::kCPU);
      auto hit = guess.eq(b.targets.narrow(1, L - m, m));
      correct += hit.sum().item<int64_t>();
      exact += hit.all(1).sum().item<int64_t>();
    }
    const std::string at = std::to_string(L);
    out["exact_match_" + at] = static_cast<double>(exact) / static_cast<double>(config_.eval_samples);
    out["token_accuracy_" + at] = static_cast<double>(correct) / static_cast<double>(config_.eval_samples * m);
  }
  model.train(was_training);
  return out;
}

}  // namespace engram
