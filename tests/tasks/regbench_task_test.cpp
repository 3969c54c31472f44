// RegBench as a training task: batches, held-out splits and the final score through a model.
#include <gtest/gtest.h>

#include <set>

#include "engram/core/error.h"
#include "engram/seq/model.h"
#include "engram/tasks/regbench_task.h"

namespace engram {
namespace {

RegBenchTaskConfig small(int64_t length) {
  RegBenchTaskConfig c;
  c.data.train_languages = 20;
  c.data.test_languages = 10;
  c.length = length;
  return c;
}

TEST(RegBenchTask, BatchesMaskSeparatorsAndPadding) {
  RegBenchTask task(small(1000));  // longer than any sequence: the rows end in padding
  std::mt19937_64 rng(1);
  auto b = task.sample(8, rng);
  ASSERT_EQ(b.inputs.sizes(), (std::vector<int64_t>{8, 999}));
  auto sep = b.targets.eq(kRegBenchSeparator), pad = b.targets.eq(kRegBenchPad);
  EXPECT_GT(sep.sum().item<int64_t>(), 0);
  EXPECT_GT(pad.sum().item<int64_t>(), 0);
  // Trained exactly where the target is a letter.
  EXPECT_TRUE(torch::equal(b.mask.gt(0), b.targets.lt(kRegBenchSeparator)));
  // Targets are the inputs shifted by one, wherever the next input is real.
  auto real = b.inputs.narrow(1, 1, 998).ne(kRegBenchPad);
  EXPECT_TRUE(torch::equal(b.inputs.narrow(1, 1, 998).masked_select(real), b.targets.narrow(1, 0, 998).masked_select(real)));
}

TEST(RegBenchTask, ValidationComesFromHeldOutLanguages) {
  RegBenchTask task(small(64));
  std::set<std::vector<int64_t>> train;
  for (const auto& s : task.data().train) train.insert({s.tokens.begin(), s.tokens.begin() + 64});
  std::mt19937_64 rng(2);
  auto v = task.sample_valid(16, rng);
  for (int64_t b = 0; b < 16; ++b) {
    auto row = v.inputs[b].contiguous();
    std::vector<int64_t> prefix(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + 63);
    bool seen = false;
    for (const auto& t : train) seen |= std::equal(prefix.begin(), prefix.end(), t.begin());
    EXPECT_FALSE(seen) << "validation row " << b << " is a training sequence";
  }
}

TEST(RegBenchTask, ScoreOfAnUntrainedModelIsInRange) {
  RegBenchTask task(small(128));
  torch::manual_seed(0);
  auto model = make_model({{"type", "mosaic"}, {"vocab_size", 20}, {"n_layer", 1}, {"n_head", 2}, {"n_embd", 16}});
  auto s = task.score(*model);
  EXPECT_EQ(s["test_languages"].get<int64_t>(), 5);
  EXPECT_GT(s["test_positions"].get<int64_t>(), 5 * 100);
  EXPECT_GE(s["test_accuracy"].get<double>(), 0.0);
  EXPECT_LE(s["test_accuracy"].get<double>(), 1.0);
  // Near-uniform predictions over 20 tokens are far from the legal-letter distributions.
  EXPECT_GT(s["test_tvd"].get<double>(), 1.0);
  EXPECT_LE(s["test_tvd"].get<double>(), 2.0);
}

TEST(RegBenchTask, RefusesAModelWithAnotherVocabulary) {
  RegBenchTask task(small(32));
  auto model = make_model({{"type", "lstm"}, {"vocab_size", 25}, {"n_layer", 1}, {"n_embd", 8}});
  EXPECT_THROW(task.score(*model), Error);
}

}  // namespace
}  // namespace engram
