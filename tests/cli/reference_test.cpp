// `engram eval` against an implementation that shares no code with engram: a NumPy (float64)
// transformer that reads the checkpoint with its own safetensors parser (tests/reference/gpt_numpy.py).
#include <gtest/gtest.h>

#include "support/shell.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

using testing::run_shell;

class EvalMatchesNumpy : public ::testing::TestWithParam<std::string> {};

TEST_P(EvalMatchesNumpy, SameCrossEntropyOnTheSameIds) {
  testing::TempDir dir;
  const auto corpus = dir.write("c.txt", testing::tiny_corpus(300));
  const std::string bin = ENGRAM_BINARY;
  int code = 0;
  run_shell(bin + " train --quiet --out " + dir.file("run") + " --set data.train=" + corpus + " " + GetParam() +
          " --set data.vocab_size=300 --set model.n_layer=2 --set model.n_embd=32 --set model.n_head=4"
          " --set train.block_size=32 --set train.batch_size=4 --set train.steps=6 --set train.eval_interval=6"
          " --set train.eval_batches=1 2>&1",
      &code);
  ASSERT_EQ(code, 0);
  const auto ids = dir.write("ids.txt", "5 17 42 9 250 3 3 88\n1 2\n7\n100 101 102 103 104 105 106 107 108 109 110 111 12 13\n");
  const std::string ckpt = dir.file("run/checkpoint.safetensors");
  const std::string mine = run_shell(bin + " eval --ckpt " + ckpt + " --tokens " + ids, &code);
  ASSERT_EQ(code, 0) << mine;
  const std::string theirs =
      run_shell("/usr/bin/python3 " ENGRAM_SOURCE_DIR "/tests/reference/gpt_numpy.py " + ckpt + " " + ids + " 2>&1", &code);
  ASSERT_EQ(code, 0) << "NumPy reference failed (python3-numpy is installed by scripts/setup-deps): " << theirs;
  EXPECT_NE(mine.find("over 21 targets in 4 sequences"), std::string::npos) << mine;  // the 1-token line has no target
  EXPECT_NEAR(std::stod(mine), std::stod(theirs), 2e-5) << "engram: " << mine << "numpy: " << theirs;
}

INSTANTIATE_TEST_SUITE_P(Positions, EvalMatchesNumpy,
                         ::testing::Values("--set model.positions=learned",
                                           "--set model.positions=rotary --set model.bias=false"));

}  // namespace
}  // namespace engram
