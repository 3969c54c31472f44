// Locating the third-party test vectors in ../shared/data for the data/ tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "engram/data/tokenizer.h"

namespace engram::testing {

namespace fs = std::filesystem;

// $ENGRAM_SHARED_DATA if set, else the folder CMake compiled in (ENGRAM_SHARED_DATA_DIR).
inline fs::path shared_data_dir() {
  if (const char* env = std::getenv("ENGRAM_SHARED_DATA"); env != nullptr && *env != '\0') {
    return env;
  }
#ifdef ENGRAM_SHARED_DATA_DIR
  return ENGRAM_SHARED_DATA_DIR;
#else
  return "../shared/data";
#endif
}

inline std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The GPT-2 tokenizer from shared data, loaded once for the whole test binary; nullptr if absent.
inline const Tokenizer* shared_gpt2_tokenizer() {
  static const std::optional<Tokenizer> tokenizer = []() -> std::optional<Tokenizer> {
    fs::path dir = shared_data_dir() / "gpt2-tokenizer";
    if (!fs::exists(dir / "encoder.json") || !fs::exists(dir / "vocab.bpe")) return std::nullopt;
    return Tokenizer::load_gpt2((dir / "encoder.json").string(), (dir / "vocab.bpe").string());
  }();
  return tokenizer ? &*tokenizer : nullptr;
}

}  // namespace engram::testing

// Skips the current test with a visible reason when a shared-data path is missing.
#define ENGRAM_REQUIRE_SHARED_PATH(path)                                                   \
  do {                                                                                     \
    if (!std::filesystem::exists(path)) {                                                  \
      GTEST_SKIP() << "../shared/data absent: " << (path)                                  \
                   << " not found (set ENGRAM_SHARED_DATA to the shared data folder)";     \
    }                                                                                      \
  } while (0)

#define ENGRAM_REQUIRE_GPT2_TOKENIZER(tok)                                                 \
  const engram::Tokenizer* tok = engram::testing::shared_gpt2_tokenizer();                 \
  if (tok == nullptr) {                                                                    \
    GTEST_SKIP() << "../shared/data absent: "                                              \
                 << (engram::testing::shared_data_dir() / "gpt2-tokenizer")                \
                 << " has no encoder.json + vocab.bpe (set ENGRAM_SHARED_DATA)";           \
  }
