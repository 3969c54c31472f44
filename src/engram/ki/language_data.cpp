#include "engram/ki/language_data.h"

#include <algorithm>
#include <iterator>
#include <sstream>

#include <torch/torch.h>

namespace engram::ki {

LanguageRows language_rows(const std::vector<std::string>& sentences, const tableworld::Vocabulary& v, int64_t length) {
  std::vector<std::vector<int64_t>> encoded;
  std::vector<int64_t> prompts;
  int64_t longest = 0;
  for (const auto& s : sentences) {
    auto ids = v.encode(s, "sentence '" + s + "'");
    ids.insert(ids.begin(), v.bos());
    ids.push_back(v.eos());
    int64_t prompt = 1;
    const auto answer = s.find("answer :");
    if (s.rfind("question :", 0) == 0 && answer != std::string::npos) {
      std::istringstream words(s.substr(0, answer + 8));
      prompt = 1 + std::distance(std::istream_iterator<std::string>(words), std::istream_iterator<std::string>());
    }
    longest = std::max<int64_t>(longest, static_cast<int64_t>(ids.size()));
    encoded.push_back(std::move(ids));
    prompts.push_back(prompt);
  }
  const int64_t L = std::max(length, longest), N = static_cast<int64_t>(encoded.size());
  LanguageRows rows;
  rows.ids = torch::full({N, L}, v.pad(), torch::kLong);
  rows.valid = torch::zeros({N, L}, torch::kBool);
  rows.prefix_length = torch::tensor(prompts, torch::kLong);
  auto ia = rows.ids.accessor<int64_t, 2>();
  auto va = rows.valid.accessor<bool, 2>();
  for (int64_t n = 0; n < N; ++n)
    for (size_t i = 0; i < encoded[static_cast<size_t>(n)].size(); ++i)
      ia[n][static_cast<int64_t>(i)] = encoded[static_cast<size_t>(n)][i], va[n][static_cast<int64_t>(i)] = true;
  return rows;
}

std::pair<torch::Tensor, int64_t> language_nll(const torch::Tensor& logits, const LanguageRows& rows) {
  const int64_t L = rows.ids.size(1);
  const auto target = rows.ids.slice(1, 1);
  const auto position = torch::arange(1, L).view({1, -1});
  const auto scored = rows.valid.slice(1, 1) & (position >= rows.prefix_length.view({-1, 1}));
  const auto logp = torch::log_softmax(logits.slice(1, 0, L - 1), -1).gather(-1, target.unsqueeze(-1)).squeeze(-1);
  return {-(logp * scored.to(logp.dtype())).sum(), scored.sum().item<int64_t>()};
}

LanguageRows select_rows(const LanguageRows& rows, const torch::Tensor& index) {
  return {rows.ids.index_select(0, index), rows.valid.index_select(0, index), rows.prefix_length.index_select(0, index)};
}

}  // namespace engram::ki
