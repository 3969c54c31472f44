#include "engram/seq/generate.h"

#include <cmath>

#include "engram/core/error.h"
#include "engram/runtime/decoder.h"

namespace engram {
namespace {

int64_t pick(const torch::Tensor& logits, const SampleOptions& o, torch::Generator& gen) {
  auto l = logits.to(torch::kFloat32).reshape({-1});
  if (o.temperature <= 0) return l.argmax().item<int64_t>();
  l = l / o.temperature;
  if (o.top_k > 0 && o.top_k < l.size(0)) {
    auto kth = std::get<0>(l.topk(o.top_k)).index({-1});
    l = l.masked_fill(l < kth, -std::numeric_limits<float>::infinity());
  }
  auto probs = torch::softmax(l, 0);
  return torch::multinomial(probs, 1, false, gen).item<int64_t>();
}

// Refuses ids the model has no embedding for, naming the first one.
void check_vocabulary(const SequenceModel& model, const std::vector<int64_t>& ids, const char* what) {
  for (auto id : ids)
    if (id < 0 || id >= model.vocab_size())
      throw Error(std::string(what) + " " + std::to_string(id) + " is outside the model's vocabulary of " +
                  std::to_string(model.vocab_size()));
}

}  // namespace

std::vector<int64_t> generate(SequenceModel& model, const std::vector<int64_t>& prompt, const SampleOptions& o) {
  if (prompt.empty()) throw Error("generate: the prompt must hold at least one token");
  check_vocabulary(model, prompt, "generate: prompt token");
  torch::NoGradGuard no_grad;
  model.eval();
  auto gen = at::detail::createCPUGenerator(o.seed);
  const auto device = model.parameters().empty() ? torch::kCPU : model.parameters().front().device();
  const int64_t limit = model.max_context();
  if (limit > 0 && o.use_cache && static_cast<int64_t>(prompt.size()) + o.max_new_tokens > limit)
    throw Error("generate: prompt + new tokens = " + std::to_string(prompt.size() + o.max_new_tokens) +
                " exceeds the model's context of " + std::to_string(limit) + " (learned positions)");

  std::vector<int64_t> out;
  auto opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  if (o.use_cache && o.use_runtime && device == torch::kCPU && has_decoder(model)) {
    const auto decoder = make_decoder(model);
    const float* logits = nullptr;
    for (auto id : prompt) logits = decoder->step(id);
    for (int64_t i = 0; i < o.max_new_tokens; ++i) {
      const int64_t next = pick(torch::from_blob(const_cast<float*>(logits), {decoder->vocab_size()}), o, gen);
      out.push_back(next);
      if (next == o.stop_token) break;
      if (i + 1 < o.max_new_tokens) logits = decoder->step(next);
    }
  } else if (o.use_cache) {
    auto state = model.init_state(1);
    torch::Tensor logits;
    for (auto id : prompt) logits = model.step(*state, torch::tensor({id}, opts));
    for (int64_t i = 0; i < o.max_new_tokens; ++i) {
      const int64_t next = pick(logits, o, gen);
      out.push_back(next);
      if (next == o.stop_token) break;
      if (i + 1 < o.max_new_tokens) logits = model.step(*state, torch::tensor({next}, opts));
    }
  } else {
    std::vector<int64_t> seq = prompt;
    for (int64_t i = 0; i < o.max_new_tokens; ++i) {
      const int64_t n = static_cast<int64_t>(seq.size());
      const int64_t start = limit > 0 ? std::max<int64_t>(0, n - limit) : 0;
      auto window = torch::tensor(std::vector<int64_t>(seq.begin() + start, seq.end()), opts).unsqueeze(0);
      auto logits = model.forward(window).index({0, -1});
      const int64_t next = pick(logits, o, gen);
      out.push_back(next);
      seq.push_back(next);
      if (next == o.stop_token) break;
    }
  }
  return out;
}

SequenceScore score_sequence(SequenceModel& model, const std::vector<int64_t>& ids) {
  SequenceScore s;
  if (ids.size() < 2) return s;
  const int64_t n = static_cast<int64_t>(ids.size());
  if (model.max_context() > 0 && n - 1 > model.max_context())
    throw Error("sequence of " + std::to_string(n) + " tokens is longer than the model's context of " +
                std::to_string(model.max_context()) + " + 1");
  check_vocabulary(model, ids, "token id");
  torch::NoGradGuard no_grad;
  model.eval();
  const auto device = model.parameters().front().device();
  auto t = torch::tensor(ids, torch::TensorOptions().dtype(torch::kLong).device(device)).unsqueeze(0);
  auto logits = model.forward(t.narrow(1, 0, n - 1)).to(torch::kFloat64);
  auto ce = torch::nn::functional::cross_entropy(
      logits.reshape({n - 1, -1}), t.narrow(1, 1, n - 1).reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  s.total_nats = ce.item<double>();
  s.targets = n - 1;
  return s;
}

std::vector<double> per_position_loss(SequenceModel& model, const std::vector<int64_t>& ids, int64_t window,
                                      int64_t max_windows, int64_t batch) {
  if (window < 1) throw Error("per-position loss: the window must hold at least one target");
  if (model.max_context() > 0 && window > model.max_context())
    throw Error("per-position loss: window " + std::to_string(window) + " exceeds the model's context of " +
                std::to_string(model.max_context()));
  const int64_t windows = std::min<int64_t>(max_windows, static_cast<int64_t>(ids.size()) / (window + 1));
  if (windows < 1)
    throw Error("per-position loss: the text holds " + std::to_string(ids.size()) + " tokens, fewer than one window of " +
                std::to_string(window + 1));
  check_vocabulary(model, ids, "token id");
  torch::NoGradGuard no_grad;
  model.eval();
  const auto device = model.parameters().front().device();
  auto all = torch::tensor(std::vector<int64_t>(ids.begin(), ids.begin() + windows * (window + 1)), torch::kLong)
                 .view({windows, window + 1});
  auto sum = torch::zeros({window}, torch::kFloat64);
  for (int64_t start = 0; start < windows; start += batch) {
    auto chunk = all.narrow(0, start, std::min(batch, windows - start)).to(device);
    auto logits = model.forward(chunk.narrow(1, 0, window)).to(torch::kFloat64);
    auto ce = torch::nn::functional::cross_entropy(
        logits.reshape({-1, logits.size(-1)}), chunk.narrow(1, 1, window).reshape({-1}),
        torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    sum += ce.view({-1, window}).sum(0).cpu();
  }
  sum /= static_cast<double>(windows);
  return std::vector<double>(sum.data_ptr<double>(), sum.data_ptr<double>() + window);
}

SequenceScore score_sequences(SequenceModel& model, const std::vector<std::vector<int64_t>>& sequences) {
  SequenceScore total;
  for (size_t i = 0; i < sequences.size(); ++i) {
    try {
      const auto s = score_sequence(model, sequences[i]);
      total.total_nats += s.total_nats;
      total.targets += s.targets;
    } catch (const Error& e) {
      throw Error("line " + std::to_string(i + 1) + ": " + e.what());
    }
  }
  if (total.targets == 0) throw Error("every sequence has a single token; nothing to score");
  if (!std::isfinite(total.mean()))
    throw Error("the loss is " + std::to_string(total.mean()) + " (non-finite logits: the model overflows on this input)");
  return total;
}

}  // namespace engram
