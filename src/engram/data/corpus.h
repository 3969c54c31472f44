// Text corpora → tokenizer + token shards, the data a language-model run trains on.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "engram/core/config.h"
#include "engram/data/tokenizer.h"

namespace engram {

struct DataConfig {
  std::string train;              // a UTF-8 text file, or an engram token shard (.tok)
  std::string valid;              // same; empty = the last valid_fraction of train
  double valid_fraction = 0.05;
  std::string tokenizer = "bpe";  // "gpt2", "bpe" (trained on `train`), or a tokenizer .json file
  int64_t vocab_size = 1024;      // for "bpe"

  template <class F>
  void fields(F& f) {
    f.field("train", train);
    f.field("valid", valid);
    f.field("valid_fraction", valid_fraction, 0.001, 0.5);
    f.field("tokenizer", tokenizer);
    f.field("vocab_size", vocab_size, 257, 1 << 20);
  }

  static DataConfig from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

// The folder holding OpenAI's GPT-2 files: $ENGRAM_GPT2_DIR, else <source>/data/gpt2 (fetched by
// scripts/setup-deps). Throws engram::Error saying how to get them when absent.
std::string gpt2_dir();
Tokenizer load_gpt2_tokenizer();

// A tokenizer from its checkpoint form: "gpt2" or engram tokenizer JSON text.
Tokenizer tokenizer_from_spec(const std::string& spec, const std::string& where);

struct PreparedData {
  std::string train_shard, valid_shard;  // paths of token shards
  std::string tokenizer_spec;            // "gpt2" or tokenizer JSON (for checkpoints)
  int64_t vocab_size = 0;
};

// Throws engram::Error naming the key unless every input file the config names exists and is a
// non-empty file: run before anything is written, so a bad config leaves nothing behind.
void check_data_sources(const DataConfig& config);

// Tokenizes (training a BPE first when asked) into run_dir/{tokenizer.json,train.tok,valid.tok}
// and records what they were made from (paths, sizes and modification times of the inputs, the
// tokenizer settings) in run_dir/data-source.json. Files already there are reused only when that
// record matches; otherwise a new run rebuilds them, and a resumed run (`resuming`) refuses to go
// on, since its checkpoint was trained on the old data.
PreparedData prepare_data(const DataConfig& config, const std::string& run_dir, bool verbose, bool resuming);

}  // namespace engram
