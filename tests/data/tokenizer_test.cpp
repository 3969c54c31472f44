// GPT-2 byte-level BPE against third-party vectors (../shared/data/gpt2-tokenizer-tests, see its
// README.md): Hugging Face ids (ggml prompts, llama.cpp edge cases), tiktoken / GPT-3-Encoder
// unit cases and whole-file ids from js-tiktoken. Every case found in a file is tested; some
// files the README describes are held back and may only exist in CI, so none is counted.
#include "engram/data/tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <random>
#include <thread>

#include "engram/core/error.h"
#include "shared_data.h"

namespace engram {
namespace {

using engram::testing::read_bytes;
using engram::testing::shared_data_dir;
namespace fs = std::filesystem;

fs::path tests_dir() { return shared_data_dir() / "gpt2-tokenizer-tests"; }

std::string show_ids(const std::vector<int>& ids) {
  std::string s;
  for (int id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
  return s;
}

// Index of the first difference (or the shorter length), for readable failures on long files.
size_t first_difference(const std::vector<int>& a, const std::vector<int>& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return i;
}

void expect_encodes(const Tokenizer& tok, const std::string& text, const std::vector<int>& ids,
                    bool allow_special) {
  std::vector<int> got = tok.encode(text, allow_special);
  EXPECT_EQ(show_ids(got), show_ids(ids)) << "text: " << ::testing::PrintToString(text);
  EXPECT_EQ(tok.decode(got), text);
}

TEST(TokenizerSharedData, Gpt2BasicFacts) {
  ENGRAM_REQUIRE_GPT2_TOKENIZER(tok);
  EXPECT_EQ(tok->vocab_size(), 50257);
  EXPECT_EQ(tok->merge_count(), 50000);
  EXPECT_EQ(tok->special_id("<|endoftext|>"), 50256);
  EXPECT_EQ(tok->special_id("<|pad|>"), std::nullopt);
  EXPECT_EQ(tok->token_bytes(220), " ");
  EXPECT_EQ(tok->encode(""), std::vector<int>{});
}

// ggml-gpt-2-prompts.txt: `TEXT => id,id,...` per line, split at the LAST " => ".
TEST(TokenizerSharedData, GgmlPromptsMatchHuggingFace) {
  ENGRAM_REQUIRE_GPT2_TOKENIZER(tok);
  const fs::path path = tests_dir() / "ggml-gpt-2-prompts.txt";
  ENGRAM_REQUIRE_SHARED_PATH(path);
  std::istringstream lines(read_bytes(path));
  std::string line;
  int cases = 0;
  for (int line_no = 1; std::getline(lines, line); ++line_no) {
    if (line.empty()) continue;
    SCOPED_TRACE("ggml-gpt-2-prompts.txt line " + std::to_string(line_no));
    size_t sep = line.rfind(" => ");
    ASSERT_NE(sep, std::string::npos) << line;
    std::vector<int> ids;
    std::istringstream id_list(line.substr(sep + 4));
    for (std::string id; std::getline(id_list, id, ',');) ids.push_back(std::stoi(id));
    expect_encodes(*tok, line.substr(0, sep), ids, /*allow_special=*/false);
    ++cases;
  }
  EXPECT_GT(cases, 0) << path << " holds no cases";
}

// unit-cases.json: [{"text", "ids", "source"[, "allowed_special"]}].
TEST(TokenizerSharedData, UnitCases) {
  ENGRAM_REQUIRE_GPT2_TOKENIZER(tok);
  const fs::path path = tests_dir() / "unit-cases.json";
  ENGRAM_REQUIRE_SHARED_PATH(path);
  auto cases = nlohmann::json::parse(read_bytes(path));
  ASSERT_TRUE(cases.is_array());
  EXPECT_FALSE(cases.empty());
  for (const auto& c : cases) {
    SCOPED_TRACE(c.value("source", std::string("?")));
    expect_encodes(*tok, c.at("text").get<std::string>(), c.at("ids").get<std::vector<int>>(),
                   c.value("allowed_special", false));
  }
}

// llamacpp-vocab-gpt2-cases.json: [{"text", "ids"}]; held back here, present in some checkouts.
TEST(TokenizerSharedData, LlamaCppEdgeCases) {
  ENGRAM_REQUIRE_GPT2_TOKENIZER(tok);
  const fs::path path = tests_dir() / "llamacpp-vocab-gpt2-cases.json";
  ENGRAM_REQUIRE_SHARED_PATH(path);
  auto cases = nlohmann::json::parse(read_bytes(path));
  ASSERT_TRUE(cases.is_array());
  EXPECT_FALSE(cases.empty());
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("llama.cpp case " + std::to_string(i));
    expect_encodes(*tok, cases[i].at("text").get<std::string>(),
                   cases[i].at("ids").get<std::vector<int>>(), /*allow_special=*/false);
  }
}

// reference-ids/X.gpt2-ids.txt: ids of the whole file X as one string, <|endoftext|> special.
TEST(TokenizerSharedData, WholeFileReferenceIds) {
  ENGRAM_REQUIRE_GPT2_TOKENIZER(tok);
  const fs::path ids_dir = tests_dir() / "reference-ids";
  ENGRAM_REQUIRE_SHARED_PATH(ids_dir);
  const std::string suffix = ".gpt2-ids.txt";
  int compared = 0;
  for (const auto& entry : fs::directory_iterator(ids_dir)) {
    const std::string name = entry.path().filename().string();
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(),
                                                     suffix) != 0) {
      continue;
    }
    const std::string input_name = name.substr(0, name.size() - suffix.size());
    fs::path input;
    for (const fs::path& dir : {tests_dir() / "cs336-fixtures",
                                shared_data_dir() / "tinystories-samples"}) {
      if (fs::exists(dir / input_name)) input = dir / input_name;
    }
    if (input.empty()) {
      std::cout << "[   NOTE   ] " << name << ": input " << input_name << " not found, not compared\n";
      continue;
    }
    SCOPED_TRACE(input.string());
    std::vector<int> expected;
    std::istringstream numbers(read_bytes(entry.path()));
    for (int id; numbers >> id;) expected.push_back(id);
    ASSERT_FALSE(expected.empty()) << entry.path();

    const std::string text = read_bytes(input);
    std::vector<int> got = tok->encode(text, /*allow_special=*/true);
    size_t at = first_difference(got, expected);
    EXPECT_EQ(got.size(), expected.size());
    EXPECT_EQ(at, std::min(got.size(), expected.size()))
        << "first difference at token " << at << ": got "
        << (at < got.size() ? std::to_string(got[at]) : "end") << ", expected "
        << (at < expected.size() ? std::to_string(expected[at]) : "end");
    EXPECT_EQ(tok->decode(got), text);
    ++compared;
  }
  EXPECT_GT(compared, 0) << "no reference-ids file had its input present";
}

TEST(TokenizerSharedData, SpecialTokensOnlyWhenAllowed) {
  ENGRAM_REQUIRE_GPT2_TOKENIZER(tok);
  const std::string text = "a<|endoftext|><|endoftext|>b<|endoftext";
  std::vector<int> with = tok->encode(text, true);
  EXPECT_EQ(std::count(with.begin(), with.end(), 50256), 2);
  EXPECT_EQ(tok->decode(with), text);
  std::vector<int> without = tok->encode(text, false);
  EXPECT_EQ(std::count(without.begin(), without.end(), 50256), 0);
  EXPECT_EQ(tok->decode(without), text);
  // As plain text, "<|endoftext|>" is split like any punctuation and words.
  EXPECT_EQ(show_ids(tok->encode("<|endoftext|>", false)), "27,91,437,1659,5239,91,29");
}

// Bytes that are not UTF-8 become pieces of their own and round-trip exactly.
TEST(TokenizerSharedData, InvalidUtf8RoundTrips) {
  ENGRAM_REQUIRE_GPT2_TOKENIZER(tok);
  std::vector<std::string> texts = {
      "\xff", "abc\x80" "def", "caf\xc3", "\xe2\x82", "\xc0\xaf", "\xed\xa0\x80 surrogate",
      "hello \xff\xfe world  \xf8\x88\x80\x80\x80!", std::string("nul\0byte", 8),
      "\xf0\x9f\x98", "ok \xf0\x9f\x98\x80 \xf4\x90\x80\x80 end"};
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes.push_back(static_cast<char>(b));
  texts.push_back(all_bytes);
  std::mt19937 rng(7);
  std::string random_bytes;
  for (int i = 0; i < 20000; ++i) random_bytes.push_back(static_cast<char>(rng() & 0xFF));
  texts.push_back(random_bytes);
  for (const std::string& text : texts) {
    std::vector<int> ids = tok->encode(text);
    for (int id : ids) ASSERT_TRUE(id >= 0 && id < 50256) << id;
    EXPECT_EQ(tok->decode(ids), text) << ::testing::PrintToString(text);
  }
}

// A long piece (one pre-token) must not take quadratic time or break the regex engine.
TEST(TokenizerSharedData, LongPiecesRoundTrip) {
  ENGRAM_REQUIRE_GPT2_TOKENIZER(tok);
  for (const std::string& text :
       {std::string(200000, ' '), std::string(200000, 'a'), std::string(100000, '7') + "x",
        std::string(100000, '\n') + "y", std::string(50000, '!') + std::string(50000, '\t')}) {
    EXPECT_EQ(tok->decode(tok->encode(text)), text);
  }
}

TEST(TokenizerSharedData, DecodeRejectsOutOfRangeIds) {
  ENGRAM_REQUIRE_GPT2_TOKENIZER(tok);
  try {
    tok->decode({31373, 50257});
    FAIL() << "decode accepted id 50257";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("50257"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("position 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(tok->decode({-1}), Error);
  EXPECT_THROW(tok->token_bytes(50257), Error);
}

TEST(TokenizerSharedData, ConcurrentEncodesAgree) {
  ENGRAM_REQUIRE_GPT2_TOKENIZER(tok);
  ENGRAM_REQUIRE_SHARED_PATH(tests_dir() / "cs336-fixtures" / "address.txt");
  const std::string text = read_bytes(tests_dir() / "cs336-fixtures" / "address.txt");
  const std::vector<int> expected = tok->encode(text);
  std::vector<std::vector<int>> results(4);
  std::vector<std::thread> threads;
  for (auto& r : results) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) r = tok->encode(text);
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_EQ(r, expected);
}

TEST(TokenizerSharedData, SaveLoadRoundTrip) {
  ENGRAM_REQUIRE_GPT2_TOKENIZER(tok);
  const fs::path path = fs::temp_directory_path() /
                        ("engram_gpt2_tokenizer_" + std::to_string(::testing::UnitTest::GetInstance()
                                                                      ->random_seed()) + ".json");
  tok->save(path.string());
  Tokenizer loaded = Tokenizer::load(path.string());
  fs::remove(path);
  EXPECT_EQ(loaded.vocab_size(), tok->vocab_size());
  EXPECT_EQ(loaded.special_id("<|endoftext|>"), 50256);
  const std::string text = "Hello world <|endoftext|> 12345 \xf0\x9f\x8c\x8d caf\xc3\xa9 \xff";
  EXPECT_EQ(loaded.encode(text), tok->encode(text));
}

TEST(Tokenizer, FromMergesAppliesMergesInRankOrder) {
  std::vector<std::string> vocab;
  for (int b = 0; b < 256; ++b) vocab.emplace_back(1, static_cast<char>(b));
  vocab.push_back("bc");   // 256
  vocab.push_back("ab");   // 257
  vocab.push_back("abc");  // 258: reachable only as "ab"+"c", which "bc" (rank 0) pre-empts
  Tokenizer tok = Tokenizer::from_merges(vocab, {{"b", "c"}, {"a", "b"}, {"ab", "c"}}, {"<s>"});
  EXPECT_EQ(tok.vocab_size(), 260);
  EXPECT_EQ(tok.special_id("<s>"), 259);
  EXPECT_EQ(tok.encode("abc"), (std::vector<int>{'a', 256}));
  EXPECT_EQ(tok.encode("abab"), (std::vector<int>{257, 257}));
  EXPECT_EQ(tok.encode("ab<s>bc"), (std::vector<int>{257, 259, 256}));
  EXPECT_EQ(tok.encode("ab<s>bc", false).size(), 5u);  // ab, <, s, >, bc
}

TEST(Tokenizer, ErrorsNameTheProblem) {
  std::vector<std::string> vocab;
  for (int b = 0; b < 255; ++b) vocab.emplace_back(1, static_cast<char>(b));
  EXPECT_THROW(Tokenizer::from_merges(vocab, {}, {}), Error);  // byte 255 missing
  vocab.emplace_back(1, '\xff');
  EXPECT_THROW(Tokenizer::from_merges(vocab, {{"a", "b"}}, {}), Error);  // "ab" not in vocab
  try {
    Tokenizer::load_gpt2("/nonexistent/encoder.json", "/nonexistent/vocab.bpe");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/encoder.json"), std::string::npos);
  }
  EXPECT_THROW(Tokenizer::load("/nonexistent/tokenizer.json"), Error);
}

}  // namespace
}  // namespace engram
