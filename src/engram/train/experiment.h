// A whole training experiment from one JSON config: {"model": {...}, "train": {...}, "data": {...}},
// or with "task": {...} (a synthetic task, tasks/task.h) in place of "data".
// This is what `engram train` runs; the run directory it fills holds config.json (resolved, every
// default written out), tokenizer.json, train.tok/valid.tok, metrics.jsonl,
// checkpoint.safetensors and loss.png.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engram/data/corpus.h"
#include "engram/train/sequence_job.h"
#include "engram/train/trainer.h"

namespace engram {

struct ExperimentConfig {
  nlohmann::json model;  // validated by make_model
  TrainConfig train;
  DataConfig data;      // text corpora, when there is no task
  nlohmann::json task;  // a synthetic task ({"name": ...}), or null

  // Rejects unknown top-level keys and validates train and data.
  static ExperimentConfig from_json(const nlohmann::json& j);
  nlohmann::json to_json() const;
};

// A config file (or {} when `path` is empty) with `--set` overrides applied in order.
nlohmann::json load_config(const std::string& path, const std::vector<std::string>& overrides);

struct RunOptions {
  bool resume = false;
  bool verbose = true;  // progress bar and status lines on stderr
  int64_t stop_after = -1;  // stop (with a checkpoint) after this step; resume later
};

// Trains as configured into run_dir (created if needed). A fresh run refuses a folder that already
// holds a checkpoint; a resumed run reads run_dir/config.json, applies `config` on top of it (only
// keys that leave the model's shapes alone can change) and continues from the checkpoint.
TrainSummary run_experiment(const nlohmann::json& config, const std::string& run_dir, const RunOptions& options);

}  // namespace engram
