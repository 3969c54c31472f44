// BPE training against the Stanford CS336 assignment-1 reference (vocab 500 on corpus.en), against
// a naive full-recount trainer written here, and on small cases whose merges are worked by hand.
#include "engram/data/bpe_trainer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <set>

#include "engram/core/error.h"
#include "engram/data/pretokenizer.h"
#include "shared_data.h"

namespace engram {
namespace {

using engram::testing::read_bytes;
using engram::testing::shared_data_dir;
namespace fs = std::filesystem;
using Merges = std::vector<std::pair<std::string, std::string>>;

fs::path fixtures_dir() { return shared_data_dir() / "gpt2-tokenizer-tests" / "cs336-fixtures"; }

fs::path temp_path(const std::string& name) {
  return fs::temp_directory_path() /
         ("engram_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
          name);
}

// The definition, computed the slow way: recount every pair before every merge.
Merges naive_train(std::string_view text, int n_merges, const std::vector<std::string>& specials) {
  std::map<std::vector<std::string>, long> words;
  split_on_specials(
      text, specials,
      [&](std::string_view part) {
        gpt2_pretokenize(part, [&](std::string_view piece) {
          std::vector<std::string> symbols;
          for (char c : piece) symbols.emplace_back(1, c);
          ++words[symbols];
        });
      },
      [](size_t) {});
  Merges merges;
  for (int m = 0; m < n_merges; ++m) {
    std::map<std::pair<std::string, std::string>, long> counts;
    for (const auto& [symbols, count] : words) {
      for (size_t i = 0; i + 1 < symbols.size(); ++i) counts[{symbols[i], symbols[i + 1]}] += count;
    }
    if (counts.empty()) break;
    auto best = counts.begin();  // max count; the map's order makes the last max the greatest pair
    for (auto it = counts.begin(); it != counts.end(); ++it) {
      if (it->second >= best->second) best = it;
    }
    merges.push_back(best->first);
    std::map<std::vector<std::string>, long> merged_words;
    for (const auto& [symbols, count] : words) {
      std::vector<std::string> out;
      for (size_t i = 0; i < symbols.size();) {
        if (i + 1 < symbols.size() && symbols[i] == best->first.first &&
            symbols[i + 1] == best->first.second) {
          out.push_back(symbols[i] + symbols[i + 1]);
          i += 2;
        } else {
          out.push_back(symbols[i++]);
        }
      }
      merged_words[out] += count;
    }
    words = std::move(merged_words);
  }
  return merges;
}

TEST(BpeTrainerSharedData, ReproducesCs336Reference) {
  const fs::path corpus = fixtures_dir() / "corpus.en";
  const fs::path merges_path = fixtures_dir() / "train-bpe-reference-merges.txt";
  const fs::path vocab_path = fixtures_dir() / "train-bpe-reference-vocab.json";
  ENGRAM_REQUIRE_SHARED_PATH(corpus);
  ENGRAM_REQUIRE_SHARED_PATH(merges_path);
  ENGRAM_REQUIRE_SHARED_PATH(vocab_path);

  BpeTrainResult result = train_bpe_file(corpus.string(), 500, {"<|endoftext|>"});

  // Merges file: one "A B" per line, tokens in GPT-2 byte-to-unicode form (no spaces inside).
  Merges expected_merges;
  std::istringstream lines(read_bytes(merges_path));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    size_t space = line.find(' ');
    ASSERT_NE(space, std::string::npos) << line;
    expected_merges.emplace_back(gpt2_unicode_to_bytes(line.substr(0, space), "merges"),
                                 gpt2_unicode_to_bytes(line.substr(space + 1), "merges"));
  }
  ASSERT_EQ(result.merges.size(), expected_merges.size());
  for (size_t i = 0; i < expected_merges.size(); ++i) {
    ASSERT_EQ(result.merges[i], expected_merges[i])
        << "merge #" << i << ": got '" << bytes_to_gpt2_unicode(result.merges[i].first) << " "
        << bytes_to_gpt2_unicode(result.merges[i].second) << "', expected '"
        << bytes_to_gpt2_unicode(expected_merges[i].first) << " "
        << bytes_to_gpt2_unicode(expected_merges[i].second) << "'";
  }

  // Vocab file: {token: id}. CS336 compares the sets of ids and of tokens.
  auto vocab_json = nlohmann::json::parse(read_bytes(vocab_path));
  std::set<int> expected_ids, ids;
  std::set<std::string> expected_tokens, tokens;
  for (const auto& [token, id] : vocab_json.items()) {
    expected_tokens.insert(gpt2_unicode_to_bytes(token, "vocab"));
    expected_ids.insert(id.get<int>());
  }
  for (size_t id = 0; id < result.vocab.size(); ++id) {
    ids.insert(static_cast<int>(id));
    tokens.insert(result.vocab[id]);
  }
  EXPECT_EQ(ids, expected_ids);
  EXPECT_EQ(tokens, expected_tokens);
  EXPECT_EQ(result.vocab[0], "<|endoftext|>");
}

TEST(BpeTrainerSharedData, AgreesWithNaiveRecount) {
  ENGRAM_REQUIRE_SHARED_PATH(fixtures_dir() / "tinystories_sample.txt");
  const std::string text = read_bytes(fixtures_dir() / "tinystories_sample.txt") +
                           read_bytes(fixtures_dir() / "german.txt");
  const std::vector<std::string> specials = {"<|endoftext|>"};
  BpeTrainResult result = train_bpe(text, 257 + 150, specials);
  EXPECT_EQ(result.merges, naive_train(text, 150, specials));
}

TEST(BpeTrainer, TiesGoToTheGreaterPairAsUnsignedBytes) {
  // One pre-token "zaé": pairs (z,a), (a,0xC3), (0xC3,0xA9), each once. As unsigned bytes 0xC3
  // is the greatest first element, so é's two bytes merge first.
  BpeTrainResult r = train_bpe("za\xc3\xa9", 256 + 1, {});
  ASSERT_EQ(r.merges.size(), 1u);
  EXPECT_EQ(r.merges[0], std::make_pair(std::string("\xc3"), std::string("\xa9")));
  // "abcd": (c,d) wins the three-way tie, then (b,cd) beats (a,b), then (a,bcd).
  r = train_bpe("abcd", 256 + 3, {});
  EXPECT_EQ(r.merges, (Merges{{"c", "d"}, {"b", "cd"}, {"a", "bcd"}}));
  EXPECT_EQ(r.vocab.back(), "abcd");
}

TEST(BpeTrainer, SpecialTokensComeFirstAndNeverMerge) {
  // Without splitting, "<|" and "|>" would be the most frequent pairs.
  BpeTrainResult r = train_bpe("<|s|><|s|><|s|>xy", 256 + 2 + 10, {"<|s|>", "<|t|>"});
  EXPECT_EQ(r.vocab[0], "<|s|>");
  EXPECT_EQ(r.vocab[1], "<|t|>");
  EXPECT_EQ(r.vocab[2 + 'x'], "x");
  EXPECT_EQ(r.merges, (Merges{{"x", "y"}}));  // then nothing is left to merge
  EXPECT_EQ(r.vocab.size(), 256u + 2 + 1);
}

TEST(BpeTrainer, PairsAreCountedWithinPreTokensOnly) {
  // Pre-tokens "a", " b", " b": the only pair is (" ", "b"); "a"+" " straddles two pre-tokens.
  BpeTrainResult r = train_bpe("a b b", 400, {});
  EXPECT_EQ(r.merges, (Merges{{" ", "b"}}));
}

TEST(BpeTrainer, EmptyCorpusAndBadArgumentsThrow) {
  EXPECT_THROW(train_bpe("", 300, {}), Error);
  EXPECT_THROW(train_bpe("<|endoftext|><|endoftext|>", 300, {"<|endoftext|>"}), Error);
  EXPECT_THROW(train_bpe("hello", 255, {}), Error);
  EXPECT_THROW(train_bpe("hello", 256, {"<s>"}), Error);
  EXPECT_THROW(train_bpe("hello", 300, {"<s>", "<s>"}), Error);
  EXPECT_THROW(train_bpe("hello", 300, {""}), Error);

  const fs::path empty = temp_path("empty_corpus.txt");
  { std::ofstream(empty.string()); }
  try {
    train_bpe_file(empty.string(), 300, {});
    FAIL() << "an empty corpus file was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(empty.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("empty"), std::string::npos) << e.what();
  }
  fs::remove(empty);
  EXPECT_THROW(read_corpus("/nonexistent/corpus.txt"), Error);
}

TEST(BpeTrainerSharedData, TrainedTokenizerEncodesAndSurvivesSaveLoad) {
  ENGRAM_REQUIRE_SHARED_PATH(fixtures_dir() / "corpus.en");
  ENGRAM_REQUIRE_SHARED_PATH(fixtures_dir() / "tinystories_sample.txt");
  BpeTrainResult result =
      train_bpe_file((fixtures_dir() / "corpus.en").string(), 500, {"<|endoftext|>"});
  Tokenizer tok = to_tokenizer(result);
  EXPECT_EQ(tok.vocab_size(), 500);
  EXPECT_EQ(tok.special_id("<|endoftext|>"), 0);

  const std::string text = read_bytes(fixtures_dir() / "tinystories_sample.txt") + "\xff\xfe";
  std::vector<int> ids = tok.encode(text);
  EXPECT_EQ(tok.decode(ids), text);
  EXPECT_LT(ids.size(), text.size() * 3 / 5) << "the merges should compress English text";
  EXPECT_GT(std::count(ids.begin(), ids.end(), 0), 0);

  // Every merge is a token the tokenizer produces from its own bytes.
  for (size_t m = 0; m < result.merges.size(); ++m) {
    const std::string& token = result.vocab[257 + m];
    EXPECT_EQ(tok.encode(token, false), std::vector<int>{static_cast<int>(257 + m)})
        << bytes_to_gpt2_unicode(token);
  }

  const fs::path path = temp_path("trained_tokenizer.json");
  tok.save(path.string());
  Tokenizer loaded = Tokenizer::load(path.string());
  fs::remove(path);
  EXPECT_EQ(loaded.vocab_size(), tok.vocab_size());
  EXPECT_EQ(loaded.special_id("<|endoftext|>"), 0);
  EXPECT_EQ(loaded.encode(text), ids);
  for (int id = 0; id < tok.vocab_size(); ++id) EXPECT_EQ(loaded.token_bytes(id), tok.token_bytes(id));
}

}  // namespace
}  // namespace engram
