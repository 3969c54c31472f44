// Sampling text from a SequenceModel and scoring token sequences with it.
#pragma once

#include <cstdint>
#include <vector>

#include "engram/seq/model.h"

namespace engram {

struct SampleOptions {
  int64_t max_new_tokens = 64;
  double temperature = 1.0;  // 0 = greedy
  int64_t top_k = 0;         // 0 = the whole vocabulary
  uint64_t seed = 0;
  bool use_cache = true;     // false: re-run forward() on the whole prefix for every token
  bool use_runtime = true;   // with the cache on CPU: engram's dispatcher-free decoder (runtime/decoder.h)
                             // where the model has one, LibTorch's step() otherwise
  int64_t stop_token = -1;   // stop after emitting this id (e.g. <|endoftext|>); -1 = never
};

// Continues `prompt` (non-empty) and returns only the new ids. With the cache, each token costs
// one step() (or one step of the runtime decoder); without it, a forward() over the last
// max_context() tokens.
std::vector<int64_t> generate(SequenceModel& model, const std::vector<int64_t>& prompt, const SampleOptions& options);

struct SequenceScore {
  double total_nats = 0;  // summed next-token cross-entropy
  int64_t targets = 0;    // number of scored tokens
  double mean() const { return targets ? total_nats / static_cast<double>(targets) : 0.0; }
};

// Scores one sequence on its own: every token after the first is a target. Sequences longer than
// the model's context throw engram::Error naming the length.
SequenceScore score_sequence(SequenceModel& model, const std::vector<int64_t>& ids);

// Every sequence scored on its own, summed (what `engram eval` reports). Errors name the sequence
// (its line, 1-based); a non-finite total (a model that overflows on this input) is an error too.
SequenceScore score_sequences(SequenceModel& model, const std::vector<std::vector<int64_t>>& sequences);

// The loss as a function of position (how much a model gains from context): the text's ids are cut
// into consecutive, non-overlapping windows of window+1 tokens (at most max_windows); entry p is
// the mean cross-entropy of predicting token p+1 from tokens 0..p, over the windows.
std::vector<double> per_position_loss(SequenceModel& model, const std::vector<int64_t>& ids, int64_t window,
                                      int64_t max_windows, int64_t batch = 8);

}  // namespace engram
