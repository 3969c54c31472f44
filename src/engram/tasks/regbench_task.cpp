#include "engram/tasks/regbench_task.h"

#include <algorithm>

#include <torch/torch.h>

#include "engram/core/config.h"
#include "engram/core/error.h"
#include "engram/seq/model.h"

namespace engram {

RegBenchTaskConfig RegBenchTaskConfig::from_json(const nlohmann::json& j, const std::string& where) {
  ConfigReader c(j, where);
  RegBenchTaskConfig t;
  t.fields(c);
  c.finish();
  if (t.data.test_languages % 2)
    throw Error("config " + c.path("test_languages") + " must be even (half test, half validation)");
  return t;
}

nlohmann::json RegBenchTaskConfig::to_json() const { return write_config(*this); }

RegBenchTask::RegBenchTask(const RegBenchTaskConfig& config) : config_(config), data_(make_regbench(config.data)) {}

Batch RegBenchTask::batch_of(const std::vector<RegBenchSequence>& from, int64_t batch, std::mt19937_64& rng) const {
  const int64_t T = config_.length - 1;
  auto inputs = torch::full({batch, T}, kRegBenchPad, torch::kLong);
  auto targets = torch::full({batch, T}, kRegBenchPad, torch::kLong);
  auto mask = torch::zeros({batch, T}, torch::kFloat32);
  auto* in = inputs.data_ptr<int64_t>();
  auto* out = targets.data_ptr<int64_t>();
  auto* m = mask.data_ptr<float>();
  std::uniform_int_distribution<size_t> pick(0, from.size() - 1);
  for (int64_t b = 0; b < batch; ++b) {
    const auto& s = from[pick(rng)];
    const int64_t n = std::min<int64_t>(static_cast<int64_t>(s.tokens.size()), config_.length);
    for (int64_t i = 0; i + 1 < n; ++i) {
      in[b * T + i] = s.tokens[i];
      out[b * T + i] = s.tokens[i + 1];
      m[b * T + i] = s.scored[i] ? 1.0f : 0.0f;  // `|` targets and padding are not trained
    }
  }
  return {inputs, targets, mask, {}};
}

Batch RegBenchTask::sample(int64_t batch, std::mt19937_64& rng) const { return batch_of(data_.train, batch, rng); }

Batch RegBenchTask::sample_valid(int64_t batch, std::mt19937_64& rng) const {
  return batch_of(data_.validation, batch, rng);
}

RegBenchTally RegBenchTask::evaluate(SequenceModel& model, const std::vector<RegBenchSequence>& sequences) const {
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  const auto device = model.parameters().front().device();
  RegBenchTally tally;
  const size_t chunk = 32;
  for (size_t first = 0; first < sequences.size(); first += chunk) {
    const size_t count = std::min(chunk, sequences.size() - first);
    std::vector<std::vector<int64_t>> cut;
    int64_t longest = 0;
    for (size_t k = 0; k < count; ++k) {
      const auto& tokens = sequences[first + k].tokens;
      cut.emplace_back(tokens.begin(), tokens.begin() + std::min<int64_t>(static_cast<int64_t>(tokens.size()), config_.length));
      longest = std::max<int64_t>(longest, static_cast<int64_t>(cut.back().size()) - 1);
    }
    // Padding goes after each sequence: causal models never read it for the positions scored.
    auto inputs = torch::full({static_cast<int64_t>(count), longest}, kRegBenchPad, torch::kLong);
    auto* in = inputs.data_ptr<int64_t>();
    for (size_t k = 0; k < count; ++k) std::copy(cut[k].begin(), cut[k].end() - 1, in + static_cast<int64_t>(k) * longest);
    auto probs = torch::softmax(model.forward(inputs.to(device)).to(torch::kCPU, torch::kFloat32), -1).contiguous();
    if (probs.size(-1) != kRegBenchVocab)
      throw Error("regbench: the model predicts " + std::to_string(probs.size(-1)) + " tokens; the task has " +
                  std::to_string(kRegBenchVocab) + " (leave model.vocab_size unset)");
    for (size_t k = 0; k < count; ++k) {
      const int64_t n = static_cast<int64_t>(cut[k].size()) - 1;
      auto rows = probs[static_cast<int64_t>(k)].narrow(0, 0, n).contiguous();
      tally += score_regbench(sequences[first + k].automaton, cut[k], rows.data_ptr<float>(), static_cast<size_t>(rows.numel()));
    }
  }
  model.train(was_training);
  return tally;
}

nlohmann::json RegBenchTask::score(SequenceModel& model) const {
  const auto t = evaluate(model, data_.test);
  return {{"test_accuracy", t.accuracy()}, {"test_tvd", t.tvd()},
          {"test_languages", data_.test.size()}, {"test_positions", t.positions}};
}

}  // namespace engram
