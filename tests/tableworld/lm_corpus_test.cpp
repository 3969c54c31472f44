// TableWorld's language: the facts, the generated corpus and the word-level vocabulary (KI spec §8.1).
#include "engram/tableworld/lm_corpus.h"

#include <gtest/gtest.h>

#include <set>

#include "engram/core/error.h"
#include "engram/tableworld/vocabulary.h"
#include "support/error_of.h"

namespace engram::tableworld {
namespace {

TEST(TableWorldFacts, TwentyFourEntitiesThreePerColourEightHeldOut) {
  ASSERT_EQ(entities().size(), 24u);
  int test = 0;
  std::vector<int> per_colour(colours().size(), 0);
  for (const auto& e : entities()) test += e.test, ++per_colour[static_cast<size_t>(e.colour)];
  EXPECT_EQ(test, 8);
  for (int n : per_colour) EXPECT_EQ(n, 3);
}

TEST(TableWorldCorpus, HeldOutIsDisjointAndEveryFactQuestionIsTrained) {
  const Corpus c = generate_corpus({});
  size_t words = 0;
  for (const auto& s : c.train) words += static_cast<size_t>(std::count(s.begin(), s.end(), ' ')) + 1;
  EXPECT_GE(words, 150000u);
  const std::set<std::string> train(c.train.begin(), c.train.end());
  for (const auto& s : c.held_out) EXPECT_EQ(train.count(s), 0u) << s;
  EXPECT_GT(c.held_out.size(), 400u);  // 10 % of ~4,600 distinct sentences
  for (const auto& e : entities()) {
    const std::string qa = fact_question(e) + " " + colours()[static_cast<size_t>(e.colour)] + " .";
    EXPECT_EQ(train.count(qa), 1u) << qa;
  }
  bool bridging = false;
  for (const auto& s : c.train) bridging = bridging || s.rfind("the thing with", 0) == 0;
  EXPECT_FALSE(bridging);
  CorpusOptions o;
  o.bridging = true;
  const Corpus b = generate_corpus(o);
  for (const auto& s : b.train) bridging = bridging || s.rfind("the thing with", 0) == 0;
  EXPECT_TRUE(bridging);
  EXPECT_EQ(generate_corpus({}).train, c.train);  // a function of the seed
  o = {};
  o.seed = 1;
  EXPECT_NE(generate_corpus(o).train, c.train);
}

TEST(TableWorldVocabulary, EncodesEverySentenceAndInstructionAndNamesUnknownWords) {
  const Vocabulary v;
  const Corpus c = generate_corpus({});
  for (const auto* part : {&c.train, &c.held_out})
    for (const auto& s : *part) ASSERT_EQ(v.decode(v.encode(s)), s);
  for (const auto& e : entities()) EXPECT_NO_THROW(v.encode(knowledge_instruction(e)));
  for (int colour = 0; colour < 8; ++colour)
    for (int shape = 0; shape < 4; ++shape)
      for (bool name_shape : {false, true}) EXPECT_NO_THROW(v.encode(direct_instruction(colour, shape, name_shape)));
  EXPECT_EQ(testing::error_of([&] { v.encode("go to the mauve cube", "instruction 3"); }),
            "instruction 3: unknown word 'mauve' (not in the TableWorld vocabulary)");
  // 256 FAST ids at the end, after the 32 state bins; none of them in the language.
  EXPECT_EQ(v.fast(255), v.size() - 1);
  EXPECT_EQ(v.fast(0), v.state_bin(31) + 1);
  EXPECT_LT(v.size(), 500);
  for (const auto& s : c.train)
    for (int64_t id : v.encode(s)) ASSERT_LT(id, v.state_bin(0));
  EXPECT_THROW(v.fast(256), Error);
}

}  // namespace
}  // namespace engram::tableworld
