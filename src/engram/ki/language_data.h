// TableWorld's language data as backbone rows (KI spec §8.3): one sentence per row,
// BOS words EOS, padded. A fact question ("question : … ? answer : yellow .") is a prefix-LM row
// whose prompt, through "answer :", is bidirectional and unscored; every other row is plain causal
// text scored from its first word.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

#include "engram/tableworld/vocabulary.h"

namespace engram::ki {

struct LanguageRows {
  torch::Tensor ids;            // [N, L] long
  torch::Tensor valid;          // [N, L] bool
  torch::Tensor prefix_length;  // [N] long: tokens of the bidirectional prompt (1: just BOS)
  int64_t size() const { return ids.defined() ? ids.size(0) : 0; }
};

LanguageRows language_rows(const std::vector<std::string>& sentences, const tableworld::Vocabulary& vocabulary, int64_t length = 0);

// Summed next-token negative log-likelihood and the number of scored tokens of `rows` under
// `logits` [N, L, V]: position i predicts token i+1 when i+1 is past the prompt and not padding.
std::pair<torch::Tensor, int64_t> language_nll(const torch::Tensor& logits, const LanguageRows& rows);

LanguageRows select_rows(const LanguageRows& rows, const torch::Tensor& index);

}  // namespace engram::ki
