// The KI policy's token blocks for TableWorld-2D (KI spec §8.1, §5.1): the prefix P built from an
// observation vector (scene.h's layout),
//   BOS obj1 obj2 obj3 task : <instruction> , state : s.. s.. s.. s.. ; action :
// with the text state as four of 32 uniform bins of (p_x, p_y, v_x/0.6, v_y/0.6) over [−1, 1], and
// the FAST block F: the chunk's FAST codes as vocabulary ids, then "|" and EOS, padded.
#pragma once

#include <cstdint>
#include <vector>

#include "engram/ki/ki_model.h"
#include "engram/tableworld/vocabulary.h"

namespace engram::tableworld {

constexpr int64_t kPrefixLength = 4 + 2 + 12 + 3 + 4 + 3;  // the longest prefix; shorter ones are padded

// Observations [B, kObsDim] (float) → the prefix of each row. Throws engram::Error for an
// observation of the wrong width or with a word id outside the vocabulary.
ki::PrefixInput prompt_prefix(const torch::Tensor& obs, const Vocabulary& vocabulary);

// The bin (0 … 31) of a value in [−1, 1]; values outside land in the end bins.
int state_bin(double x);

// FAST codes (0 … 255) of each row → [B, length] ids (codes, "|", EOS, then <pad>) and validity.
// Throws when a row does not fit in `length`.
std::pair<torch::Tensor, torch::Tensor> fast_block(const std::vector<std::vector<int64_t>>& codes, int64_t length,
                                                   const Vocabulary& vocabulary);

}  // namespace engram::tableworld
