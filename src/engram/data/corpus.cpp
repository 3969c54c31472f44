#include "engram/data/corpus.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "engram/core/atomic_file.h"
#include "engram/core/config.h"
#include "engram/core/error.h"
#include "engram/data/bpe_trainer.h"
#include "engram/data/shards.h"

namespace engram {
namespace fs = std::filesystem;

DataConfig DataConfig::from_json(const nlohmann::json& j, const std::string& where) {
  ConfigReader c(j, where);
  DataConfig d;
  d.fields(c);
  c.finish();
  if (d.train.empty()) throw Error("config " + c.path("train") + " is required: a text file or token shard to train on");
  return d;
}

nlohmann::json DataConfig::to_json() const { return write_config(*this); }

std::string gpt2_dir() {
  std::string dir;
  if (const char* env = std::getenv("ENGRAM_GPT2_DIR")) dir = env;
  else dir = std::string(ENGRAM_SOURCE_DIR) + "/data/gpt2";
  if (!fs::exists(dir + "/encoder.json") || !fs::exists(dir + "/vocab.bpe"))
    throw Error("GPT-2 tokenizer files not found in " + dir +
                " (run scripts/setup-deps, or set ENGRAM_GPT2_DIR to a folder with encoder.json and vocab.bpe)");
  return dir;
}

Tokenizer load_gpt2_tokenizer() {
  const std::string dir = gpt2_dir();
  return Tokenizer::load_gpt2(dir + "/encoder.json", dir + "/vocab.bpe");
}

Tokenizer tokenizer_from_spec(const std::string& spec, const std::string& where) {
  if (spec.empty())
    throw Error(where + " carries no tokenizer (trained on a synthetic task, or imported without --tokenizer): "
                "give token ids instead (eval --tokens FILE), or import it again with --tokenizer gpt2|FILE.json");
  if (spec == "gpt2") return load_gpt2_tokenizer();
  return Tokenizer::from_json(spec, where);
}

namespace {
bool is_shard(const std::string& path) { return fs::path(path).extension() == ".tok"; }

void log(bool verbose, const std::string& line) {
  if (verbose) std::fprintf(stderr, "%s\n", line.c_str());
}
}  // namespace

void check_data_sources(const DataConfig& config) {
  if (is_shard(config.train) && config.valid.empty())
    throw Error("config data.valid is required when data.train is a token shard (" + config.train + ")");
  auto check = [](const std::string& key, const std::string& path) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (!fs::exists(status)) throw Error("config " + key + " = " + path + ": no such file");
    if (fs::is_directory(status)) throw Error("config " + key + " = " + path + ": is a directory; give a text file");
    if (fs::file_size(path, ec) == 0) throw Error("config " + key + " = " + path + ": the file is empty");
  };
  check("data.train", config.train);
  if (!config.valid.empty()) check("data.valid", config.valid);
  if (config.tokenizer != "gpt2" && config.tokenizer != "bpe") check("data.tokenizer", config.tokenizer);
}

namespace {
nlohmann::json file_identity(const std::string& path) {
  if (path.empty()) return nullptr;
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  const auto mtime = fs::last_write_time(path, ec);
  return {{"path", fs::absolute(path).lexically_normal().string()},
          {"size", static_cast<uint64_t>(size)},
          {"mtime_ns", static_cast<int64_t>(mtime.time_since_epoch().count())}};
}

// What a run's tokenizer and shards are derived from.
nlohmann::json data_source(const DataConfig& config) {
  const bool tokenizer_file = config.tokenizer != "gpt2" && config.tokenizer != "bpe";
  return {{"train", file_identity(config.train)},
          {"valid", file_identity(config.valid)},
          {"valid_fraction", config.valid.empty() ? nlohmann::json(config.valid_fraction) : nlohmann::json()},
          {"tokenizer", tokenizer_file ? file_identity(config.tokenizer) : nlohmann::json(config.tokenizer)},
          {"vocab_size", config.tokenizer == "bpe" ? nlohmann::json(config.vocab_size) : nlohmann::json()}};
}

// The first field in which two data-source records differ, for the message.
std::string first_difference(const nlohmann::json& was, const nlohmann::json& now) {
  for (const auto& item : now.items())
    if (!was.contains(item.key()) || was[item.key()] != item.value()) return "data." + item.key();
  return "the record";
}
}  // namespace

PreparedData prepare_data(const DataConfig& config, const std::string& run_dir, bool verbose, bool resuming) {
  check_data_sources(config);
  PreparedData out;
  const std::string tok_path = run_dir + "/tokenizer.json";
  out.train_shard = is_shard(config.train) ? config.train : run_dir + "/train.tok";
  out.valid_shard = is_shard(config.valid) ? config.valid : run_dir + "/valid.tok";

  // 0. Derived files of other inputs (a failed run, another config) are never reused. Only what
  // this function makes counts as derived: a tokenizer or shard the user gives is an input, even
  // inside the run directory, and is never removed.
  const std::string source_path = run_dir + "/data-source.json";
  const nlohmann::json source = data_source(config);
  std::vector<std::string> derived;
  if (config.tokenizer == "bpe") derived.push_back(tok_path);
  if (!is_shard(config.train)) derived.push_back(out.train_shard);
  if (!is_shard(config.valid)) derived.push_back(out.valid_shard);
  const bool have_derived = std::any_of(derived.begin(), derived.end(), [](const auto& p) { return fs::exists(p); });
  const bool recorded = fs::exists(source_path);
  const nlohmann::json was = recorded ? read_json_file(source_path, "data-source record") : nlohmann::json();
  if (have_derived && resuming && recorded && was != source)
    throw Error("the data of run " + run_dir + " changed since it started (" + first_difference(was, source) +
                "); a resumed run must see the data its checkpoint was trained on: restore it, or start a new run");
  // A resumed run from before data-source.json keeps its files (nothing to compare them with).
  if (have_derived && !resuming && was != source) {
    log(verbose, "the data changed since " + run_dir + "'s tokenizer and shards were made: rebuilding them");
    fs::remove(source_path);  // first: a crash while rebuilding must not leave the old record beside new files
    for (const auto& p : derived) fs::remove(p);
  }
  bool built = false;

  // 1. The tokenizer.
  Tokenizer tokenizer = [&] {
    if (config.tokenizer == "gpt2") return load_gpt2_tokenizer();
    if (config.tokenizer != "bpe") return Tokenizer::load(config.tokenizer);
    if (fs::exists(tok_path)) return Tokenizer::load(tok_path);
    if (is_shard(config.train))
      throw Error("config data.tokenizer = \"bpe\" trains on text, but data.train is a token shard; "
                  "give the tokenizer file that made the shard");
    const std::string text = read_corpus(config.train);
    log(verbose, "training a " + std::to_string(config.vocab_size) + "-token BPE on " + config.train);
    Tokenizer t = to_tokenizer(train_bpe(text, static_cast<int>(config.vocab_size), {"<|endoftext|>"}));
    t.save(tok_path);
    built = true;
    return t;
  }();
  out.tokenizer_spec = config.tokenizer == "gpt2" ? "gpt2" : tokenizer.to_json();
  out.vocab_size = tokenizer.vocab_size();

  // 2. The shards.
  const bool need_train = !fs::exists(out.train_shard), need_valid = !fs::exists(out.valid_shard);
  if (need_train || need_valid) {
    std::vector<int> train_ids = tokenizer.encode(read_corpus(config.train));
    std::vector<int> valid_ids;
    if (!config.valid.empty()) {
      valid_ids = tokenizer.encode(read_corpus(config.valid));
    } else {
      const auto cut = static_cast<std::size_t>(train_ids.size() * (1.0 - config.valid_fraction));
      valid_ids.assign(train_ids.begin() + static_cast<std::ptrdiff_t>(cut), train_ids.end());
      train_ids.resize(cut);
    }
    log(verbose, "tokenized: " + std::to_string(train_ids.size()) + " train and " + std::to_string(valid_ids.size()) +
                     " validation tokens (vocabulary " + std::to_string(out.vocab_size) + ")");
    if (need_train) write_token_shard(out.train_shard, train_ids, out.vocab_size);
    if (need_valid) write_token_shard(out.valid_shard, valid_ids, out.vocab_size);
    built = true;
  }
  if (built || (!resuming && was != source)) write_text_atomically(source_path, source.dump(2) + "\n");
  return out;
}

}  // namespace engram
