// Tokenizer speed: GPT-2 encode throughput (bytes/s) and BPE training time.
//
//   ENGRAM_GPT2_DIR          folder with encoder.json + vocab.bpe (default: <repo>/data/gpt2, then
//                            the shared data folder's gpt2-tokenizer/)
//   ENGRAM_SHARED_DATA       shared data folder (default: <repo>/../shared/data)
//   ENGRAM_BENCH_TEXT        text to encode (default: tinystories_train_prefix.txt from shared
//                            data, else a generated text)
//   ENGRAM_BENCH_TRAIN_TEXT  optional corpus for one timed train_bpe run, with
//   ENGRAM_BENCH_TRAIN_VOCAB its vocabulary size (default 4096), special token <|endoftext|>
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <random>

#include "engram/data/bpe_trainer.h"
#include "engram/data/tokenizer.h"

namespace fs = std::filesystem;
using namespace engram;

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

fs::path repo_root() {
#ifdef ENGRAM_SOURCE_DIR
  return ENGRAM_SOURCE_DIR;
#else
  return fs::current_path();
#endif
}

fs::path shared_data_dir() {
  return env_or("ENGRAM_SHARED_DATA", (repo_root() / ".." / "shared" / "data").string());
}

fs::path gpt2_dir() {
  if (const char* dir = std::getenv("ENGRAM_GPT2_DIR"); dir != nullptr && *dir != '\0') return dir;
  fs::path local = repo_root() / "data" / "gpt2";
  if (fs::exists(local / "encoder.json")) return local;
  return shared_data_dir() / "gpt2-tokenizer";
}

const Tokenizer& gpt2() {
  static const Tokenizer tokenizer = [] {
    fs::path dir = gpt2_dir();
    return Tokenizer::load_gpt2((dir / "encoder.json").string(), (dir / "vocab.bpe").string());
  }();
  return tokenizer;
}

// Deterministic stand-in for prose when no text file is available.
std::string generated_text(size_t bytes) {
  const char* words[] = {"the", "little", "girl", "named", "Lily", "found", "a", "big", "red",
                         "ball", "in", "park", "and", "she", "was", "very", "happy", "to",
                         "play", "with", "her", "friend", "Tom", "said", "\"Let's", "go!\"",
                         "It's", "1234", "time.", "\n\n"};
  std::mt19937 rng(1);
  std::string text;
  while (text.size() < bytes) {
    text += words[rng() % (sizeof(words) / sizeof(words[0]))];
    text += ' ';
  }
  return text;
}

const std::string& bench_text() {
  static const std::string text = [] {
    fs::path path = env_or(
        "ENGRAM_BENCH_TEXT",
        (shared_data_dir() / "tinystories-samples" / "tinystories_train_prefix.txt").string());
    if (fs::exists(path)) return read_corpus(path.string());
    std::cerr << "tokenizer_bench: " << path << " not found, encoding generated text\n";
    return generated_text(1 << 20);
  }();
  return text;
}

// Steady state: the piece cache is warm after the first iteration.
void BM_Gpt2Encode(benchmark::State& state) {
  const Tokenizer& tok = gpt2();
  const std::string& text = bench_text();
  size_t tokens = 0;
  for (auto _ : state) {
    std::vector<int> ids = tok.encode(text);
    tokens = ids.size();
    benchmark::DoNotOptimize(ids.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["tokens"] = static_cast<double>(tokens);
}
BENCHMARK(BM_Gpt2Encode)->Unit(benchmark::kMillisecond);

// A fresh tokenizer each time: every distinct pre-token runs BPE once.
void BM_Gpt2EncodeColdCache(benchmark::State& state) {
  const std::string& text = bench_text();
  for (auto _ : state) {
    state.PauseTiming();
    Tokenizer tok = gpt2().copy_with_own_cache();
    state.ResumeTiming();
    benchmark::DoNotOptimize(tok.encode(text).data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_Gpt2EncodeColdCache)->Unit(benchmark::kMillisecond);

void BM_Gpt2Decode(benchmark::State& state) {
  const std::string& text = bench_text();
  const std::vector<int> ids = gpt2().encode(text);
  for (auto _ : state) benchmark::DoNotOptimize(gpt2().decode(ids).data());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_Gpt2Decode)->Unit(benchmark::kMillisecond);

// CS336's training fixture: vocab 500 on corpus.en (133 kB).
void BM_TrainBpeCorpusEn(benchmark::State& state) {
  fs::path corpus = shared_data_dir() / "gpt2-tokenizer-tests" / "cs336-fixtures" / "corpus.en";
  if (!fs::exists(corpus)) {
    state.SkipWithError(("corpus.en not found under " + shared_data_dir().string()).c_str());
    return;
  }
  const std::string text = read_corpus(corpus.string());
  for (auto _ : state) {
    benchmark::DoNotOptimize(train_bpe(text, 500, {"<|endoftext|>"}).merges.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_TrainBpeCorpusEn)->Unit(benchmark::kMillisecond);

void BM_TrainBpeFile(benchmark::State& state, std::string path, int vocab_size) {
  const std::string text = read_corpus(path);
  for (auto _ : state) {
    benchmark::DoNotOptimize(train_bpe(text, vocab_size, {"<|endoftext|>"}).merges.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

}  // namespace

int main(int argc, char** argv) {
  if (const char* path = std::getenv("ENGRAM_BENCH_TRAIN_TEXT"); path != nullptr && *path) {
    int vocab_size = std::stoi(env_or("ENGRAM_BENCH_TRAIN_VOCAB", "4096"));
    benchmark::RegisterBenchmark("BM_TrainBpeFile", BM_TrainBpeFile, std::string(path), vocab_size)
        ->Unit(benchmark::kSecond)
        ->Iterations(1);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
