#include "engram/ki/ki_eval.h"

#include <torch/torch.h>

#include "engram/policy/sampling.h"
#include "engram/tableworld/facts.h"
#include "engram/tableworld/lm_corpus.h"
#include "engram/tableworld/prompt.h"
#include "engram/tableworld/table_env.h"

namespace engram::ki {

ChunkSource flow_chunks(std::shared_ptr<FlowPolicy> policy, int64_t flow_steps, uint64_t seed) {
  return [policy, flow_steps, seed](const torch::Tensor& obs, int64_t call) {
    auto g = at::detail::createCPUGenerator(seed ^ (0xE7A1ull + static_cast<uint64_t>(call)));
    const auto noise = torch::randn({obs.size(0), policy->horizon(), policy->action_dim()}, g, torch::kFloat32);
    return sample_chunk(*policy, obs, noise, static_cast<int>(flow_steps));
  };
}

nlohmann::json split_rates(const ChunkSource& chunks, int64_t episodes, int shift) {
  const std::pair<const char*, tableworld::Split> splits[] = {
      {"direct", tableworld::Split::kDirect}, {"known", tableworld::Split::kKnownEntities}, {"novel", tableworld::Split::kNovelEntities}};
  nlohmann::json r;
  for (const auto& [name, split] : splits) {
    const auto s = rollout(chunks, split, episodes, shift, 77);
    r[std::string("success_") + name] = s.success_rate();
    r[std::string("follow_") + name] = s.follow_rate();
  }
  return r;
}

RolloutStats rollout(const ChunkSource& chunks, tableworld::Split split, int64_t episodes, int shift, uint64_t seed) {
  std::vector<tableworld::TableEnv> envs(static_cast<size_t>(episodes), tableworld::TableEnv(split));
  std::vector<std::vector<double>> obs(envs.size());
  std::vector<bool> success(envs.size(), false);
  for (size_t e = 0; e < envs.size(); ++e) obs[e] = envs[e].reset(seed * 1000003ull + e);
  for (int64_t call = 0;; ++call) {
    std::vector<int64_t> alive;
    for (size_t e = 0; e < envs.size(); ++e)
      if (!envs[e].done()) alive.push_back(static_cast<int64_t>(e));
    if (alive.empty()) break;
    auto batch = torch::empty({static_cast<int64_t>(alive.size()), tableworld::kObsDim});
    auto ba = batch.accessor<float, 2>();
    for (size_t i = 0; i < alive.size(); ++i)
      for (int j = 0; j < tableworld::kObsDim; ++j) ba[static_cast<int64_t>(i)][j] = static_cast<float>(obs[static_cast<size_t>(alive[i])][static_cast<size_t>(j)]);
    const auto chunk = chunks(batch, call).to(torch::kFloat64).contiguous();
    const auto ca = chunk.accessor<double, 3>();
    for (size_t i = 0; i < alive.size(); ++i) {
      auto& env = envs[static_cast<size_t>(alive[i])];
      for (int k = 0; k < shift && k < chunk.size(1) && !env.done(); ++k) {
        const auto r = env.step({ca[static_cast<int64_t>(i)][k][0], ca[static_cast<int64_t>(i)][k][1], ca[static_cast<int64_t>(i)][k][2]});
        if (r.done) success[static_cast<size_t>(alive[i])] = r.success;
      }
      obs[static_cast<size_t>(alive[i])] = env.observe();
    }
  }
  RolloutStats s;
  s.episodes = episodes;
  for (size_t e = 0; e < envs.size(); ++e) {
    s.successes += success[e];
    s.followed += envs[e].followed();
  }
  return s;
}

torch::Tensor decode_fast_chunks(KiModel& model, const ActionTokenizer& fast, const tableworld::Vocabulary& v,
                                 const torch::Tensor& obs, int64_t max_tokens, int64_t* failures) {
  torch::NoGradGuard no_grad;
  const int64_t B = obs.size(0);
  auto cache = model.encode_prefix(tableworld::prompt_prefix(obs, v));
  auto logits = torch::matmul(cache.last_hidden, model.embedding_weight().t());
  std::vector<std::vector<int64_t>> tokens(static_cast<size_t>(B));
  std::vector<bool> finished(static_cast<size_t>(B), false);
  const int64_t first_fast = v.fast(0), bar = v.id("|");
  for (int64_t k = 0; k <= max_tokens; ++k) {
    const auto next = logits.argmax(-1);
    const auto na = next.accessor<int64_t, 1>();
    bool all = true;
    for (int64_t b = 0; b < B; ++b) {
      if (finished[static_cast<size_t>(b)]) continue;
      if (na[b] == bar || na[b] == v.eos()) finished[static_cast<size_t>(b)] = true;
      else tokens[static_cast<size_t>(b)].push_back(na[b]);
      all = all && finished[static_cast<size_t>(b)];
    }
    if (all || k == max_tokens) break;
    logits = model.decode_step(cache, next);
  }
  auto out = torch::empty({B, fast.horizon(), fast.dims()}, torch::kFloat64);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int64_t> codes;
    bool words = false;  // a non-FAST token among the codes is a failure too
    for (int64_t id : tokens[static_cast<size_t>(b)]) {
      if (id < first_fast || id >= first_fast + tableworld::Vocabulary::kFastIds) words = true;
      codes.push_back(id - first_fast);
    }
    auto decoded = fast.decode(words ? std::vector<int64_t>{-1} : codes);
    if (!decoded.ok && failures) ++*failures;
    out[b].copy_(torch::tensor(decoded.chunk, torch::kFloat64).view({fast.horizon(), fast.dims()}));
  }
  return out.to(torch::kFloat32);
}

double fact_accuracy(KiModel& model, const tableworld::Vocabulary& v) {
  torch::NoGradGuard no_grad;
  std::vector<std::string> prompts;
  for (const auto& e : tableworld::entities()) prompts.push_back(tableworld::fact_question(e));
  auto rows = language_rows(prompts, v);
  // The whole question is the prompt; EOS is not part of it (drop it from the rows).
  const auto length = rows.valid.sum(1) - 1;  // without EOS
  rows.valid = torch::arange(rows.ids.size(1)).view({1, -1}) < length.view({-1, 1});
  rows.prefix_length = length;
  const auto logits = model.language_logits(rows.ids, rows.valid, rows.prefix_length);
  std::vector<int64_t> colour_ids;
  for (const auto& c : tableworld::colours()) colour_ids.push_back(v.id(c));
  const auto ids = torch::tensor(colour_ids, torch::kLong);
  int64_t correct = 0;
  for (size_t i = 0; i < tableworld::entities().size(); ++i) {
    const auto last = logits[static_cast<int64_t>(i)][length[static_cast<int64_t>(i)].item<int64_t>() - 1];
    correct += last.index_select(0, ids).argmax().item<int64_t>() == tableworld::entities()[i].colour;
  }
  return static_cast<double>(correct) / static_cast<double>(tableworld::entities().size());
}

double language_nll_of(KiModel& model, const LanguageRows& rows) {
  torch::NoGradGuard no_grad;
  double total = 0;
  int64_t count = 0;
  for (int64_t first = 0; first < rows.size(); first += 256) {
    const auto index = torch::arange(first, std::min(rows.size(), first + 256));
    const auto part = select_rows(rows, index);
    const auto [nll, n] = language_nll(model.language_logits(part.ids, part.valid, part.prefix_length), part);
    total += nll.item<double>();
    count += n;
  }
  return count ? total / static_cast<double>(count) : 0.0;
}

}  // namespace engram::ki
