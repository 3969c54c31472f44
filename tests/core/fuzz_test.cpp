// Seeded random-mutation fuzzing of every parser that reads outside input: JSON configs,
// safetensors headers, torch.save pickles and tokenizer files. Each mutated input must either
// load or throw engram::Error — no crash, no hang, no other exception type. The seeds are fixed,
// so a failure reproduces; ENGRAM_FUZZ_ITERATIONS raises the count for a longer hunt (run it
// under AddressSanitizer with scripts/sanitize).
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cstdlib>
#include <functional>
#include <random>
#include <stdexcept>

#include "engram/core/error.h"
#include "engram/core/json.h"
#include "engram/core/process.h"
#include "engram/core/safetensors.h"
#include "engram/core/torch_file.h"
#include "engram/data/bpe_trainer.h"
#include "engram/data/tokenizer.h"
#include "engram/train/experiment.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

int iterations(int fallback) {
  const char* env = std::getenv("ENGRAM_FUZZ_ITERATIONS");
  return env ? std::max(1, std::atoi(env)) : fallback;
}

// One to four edits: flip a bit, overwrite, insert or delete a byte, duplicate or drop a span,
// or splice in a token that parsers treat specially.
std::string mutate(std::string s, std::mt19937_64& rng) {
  static const char* tokens[] = {"{", "}", "[", "]", "\"", ":", ",", "-", "1e999", "null", "\\u0000", "\xff", "\x80", "\n"};
  std::uniform_int_distribution<int> edits(1, 4), kind(0, 6);
  for (int e = edits(rng); e > 0; --e) {
    const size_t n = s.size();
    auto at = [&](size_t end) { return end == 0 ? 0 : std::uniform_int_distribution<size_t>(0, end - 1)(rng); };
    switch (kind(rng)) {
      case 0:
        if (n) s[at(n)] ^= static_cast<char>(1 << at(8));
        break;
      case 1:
        if (n) s[at(n)] = static_cast<char>(rng());
        break;
      case 2:
        s.insert(at(n + 1), 1, static_cast<char>(rng()));
        break;
      case 3:
        if (n) s.erase(at(n), 1);
        break;
      case 4: {
        const size_t a = at(n + 1), len = std::min<size_t>(n - a, at(64) + 1);
        s.insert(at(n + 1), s.substr(a, len));
        break;
      }
      case 5: {
        const size_t a = at(n + 1);
        s.erase(a, std::min<size_t>(n - a, at(64) + 1));
        break;
      }
      case 6:
        s.insert(at(n + 1), tokens[at(sizeof tokens / sizeof *tokens)]);
        break;
    }
  }
  return s;
}

// Runs `load` on `count` mutations of `seed`; fails on any exception but engram::Error.
void fuzz(const std::string& seed, int count, uint64_t rng_seed, const std::function<void(const std::string&)>& load) {
  std::mt19937_64 rng(rng_seed);
  int accepted = 0;
  for (int i = 0; i < count; ++i) {
    const std::string input = mutate(seed, rng);
    try {
      load(input);
      ++accepted;
    } catch (const Error&) {
    } catch (const std::exception& e) {
      ADD_FAILURE() << "mutation " << i << " (seed " << rng_seed << ") threw a non-engram exception: " << e.what();
      return;
    }
  }
  load(seed);  // the unmutated input still loads
  ::testing::Test::RecordProperty("accepted", accepted);
}

TEST(Fuzz, ExperimentConfigs) {
  const std::string seed = R"({"model": {"type": "mosaic", "n_layer": 2, "n_head": 2, "n_embd": 32, "ffn": "pmem"},
    "train": {"steps": 10, "batch_size": 4, "lr": 0.003, "warmup": 2, "eval_interval": 5, "seed": 1},
    "task": {"name": "induction", "length": 32, "vocab": 16, "min_copy": 4, "max_copy": 8}})";
  fuzz(seed, iterations(3000), 1, [](const std::string& text) {
    const auto config = ExperimentConfig::from_json(parse_json(text, "config"));
    auto model = config.model;
    if (!model.contains("vocab_size")) model["vocab_size"] = 16;
    resolve_model_config(model, "model");
  });
}

TEST(Fuzz, SafetensorsFiles) {
  testing::TempDir dir;
  const std::string path = dir.file("seed.safetensors");
  save_safetensors(path, {{"a", torch::arange(6, torch::kFloat32).reshape({2, 3})}, {"b", torch::ones({4}, torch::kInt64)}},
                   {{"engram.note", "{\"x\": [1, 2]}"}});
  const std::string seed = testing::read_file(path);
  fuzz(seed, iterations(1500), 2, [&](const std::string& bytes) {
    dir.write("m.safetensors", bytes);
    load_safetensors(dir.file("m.safetensors"));
  });
}

TEST(Fuzz, TorchPickles) {
  testing::TempDir dir;
  const std::string path = dir.file("seed.pt");
  const auto r = run_process({"/usr/bin/python3", "-c",
                              "import sys, torch, collections\n"
                              "sd = collections.OrderedDict(w=torch.arange(6.).reshape(2, 3), b=torch.ones(2, dtype=torch.int64))\n"
                              "sd._metadata = {'': {'version': 1}}\n"
                              "torch.save({'model': sd, 'iter_num': 7, 'config': {'n_layer': 2}}, sys.argv[1])\n",
                              path});
  ASSERT_EQ(r.exit_code, 0) << "python3-torch (scripts/setup-deps) could not write the seed: " << r.err;
  const std::string seed = testing::read_file(path);
  fuzz(seed, iterations(1500), 3, [&](const std::string& bytes) {
    dir.write("m.pt", bytes);
    const auto v = read_torch_file(dir.file("m.pt"));
    if (auto model = v->get("model")) tensor_dict(*model, "model");
  });
}

TEST(Fuzz, TokenizerFilesAndInputs) {
  const Tokenizer trained = to_tokenizer(train_bpe(testing::tiny_corpus(200), 300, {"<|endoftext|>"}));
  const std::string text = "the cat sees a little house.<|endoftext|> caf\xc3\xa9 \xff\xfe 123  \n\t";
  fuzz(trained.to_json(), iterations(400), 4, [&](const std::string& json_text) {
    const Tokenizer t = Tokenizer::from_json(json_text, "tokenizer");
    EXPECT_EQ(t.decode(t.encode(text)), text) << "a tokenizer that loads must round-trip";
  });
  // Any bytes encode, and decode back exactly.
  fuzz(text, iterations(3000), 5, [&](const std::string& bytes) {
    if (trained.decode(trained.encode(bytes)) != bytes) throw std::runtime_error("round trip failed");
  });
}

}  // namespace
}  // namespace engram
