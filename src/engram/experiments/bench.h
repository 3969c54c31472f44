// Speed measurements behind `engram bench`: the machine's matrix-multiply rate, training
// throughput and model FLOP utilisation, generation with and without the cache, tokenizer speed,
// and the thread-policy comparison. All ratios are taken within one run (machines here are noisy).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engram/core/table.h"

namespace engram {

struct BenchOptions {
  nlohmann::json model = nlohmann::json::object();  // overrides of the benchmark transformer
  int64_t batch_size = 16;
  int64_t block_size = 128;
  double seconds = 3.0;        // time budget per measurement
  int64_t generate_tokens = 128;
  bool threads = false;        // also compare thread policies
  bool compare_kernels = false;  // also train on the LibTorch composition instead of the blocked kernels
};

// Reads a benchmark file {"model": {...}, "batch": B, "block": T} (configs/bench-*.json) into `options`.
void read_bench_config(const std::string& path, BenchOptions& options);

struct TrainSpeed {
  double tokens_per_second = 0;
  double flops_per_token = 0;  // forward + backward, ≈ 3× forward
  double peak_rss_mb = 0;      // the process's peak resident memory while training
};

class SequenceModel;
class Decoder;

// Full training steps (forward, cross-entropy, backward, clip, AdamW) on random tokens: one warm-up
// step (two when min_steps > 1), then at least min_steps and at least `seconds` of timed steps;
// tokens/s from the median step.
TrainSpeed measure_training(SequenceModel& model, int64_t batch, int64_t block, double seconds, int64_t min_steps = 3);

// Batch-1 decoding, milliseconds per token of `reps` steps after a prefix of context − 1 tokens fed
// one by one (ids: at least context − 1 + reps tokens, random_ids makes them): by the model's
// LibTorch step(), and by engram's dispatcher-free decoder, which decoder_if_any makes (null when
// the model has none).
std::vector<int64_t> random_ids(const SequenceModel& model, int64_t n);
double step_ms(SequenceModel& model, const std::vector<int64_t>& ids, int64_t context, int64_t reps);
std::unique_ptr<Decoder> decoder_if_any(const SequenceModel& model);
double decoder_ms(Decoder& decoder, const std::vector<int64_t>& ids, int64_t context, int64_t reps);

// Runs the measurements and returns rows for a table; `record` receives the raw numbers.
std::vector<TableRow> run_bench(const BenchOptions& options, nlohmann::json& record);

}  // namespace engram
