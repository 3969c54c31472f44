// The attention mask and RoPE positions of the KI recipe (KI spec §5.2, §5.3) for a sequence of three
// blocks: P (prefix: observation and prompt, backbone weights), F (FAST codes of the chunk, then
// "|" and EOS, backbone weights, teacher-forced) and A (H noisy action tokens, expert weights).
//
//   query \ key |  P    F              A
//   P           |  yes  no             no
//   F           |  yes  causal (j ≤ i) no
//   A           |  yes  no             yes
//
// Padded keys are never attended; a padded query row attends nothing (its output is zero).
// Positions are cumsum(valid) − 1 over P and F; A gets n_P_valid + j, the positions it has at
// inference, where F is absent — F and A sit "in parallel" after P.
#pragma once

#include <torch/types.h>

namespace engram::ki {

struct KiMasks {
  torch::Tensor backbone;         // [B, P+F, P+F] bool: the rows and columns of P then F
  torch::Tensor action;           // [B, H, P+F+H] bool: A's rows over the keys P, F, A
  torch::Tensor backbone_positions;  // [B, P+F] long
  torch::Tensor action_positions;    // [B, H] long
};

// `prefix_valid` [B, P] and `fast_valid` [B, F] (F may be 0) are bool; valid entries come first in
// each block. `action_sees_fast` opens the A×F block (recipe R9, the leakage the mask prevents).
KiMasks ki_masks(const torch::Tensor& prefix_valid, const torch::Tensor& fast_valid, int64_t horizon,
                 bool action_sees_fast = false);

// The backbone-only mask of a language row (stage 0 and co-training): bidirectional over the first
// `prefix_length` tokens (a question's prompt, prefix-LM style), causal after, padding excluded.
// `valid` [B, L] bool, `prefix_length` [B] long; returns [B, L, L] bool.
torch::Tensor prefix_lm_mask(const torch::Tensor& valid, const torch::Tensor& prefix_length);

}  // namespace engram::ki
