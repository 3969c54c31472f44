// Policy training end to end on a tiny dataset: the flow-matching loss falls, an interrupted run
// resumes to the same numbers, and the checkpoint loads into a policy that samples chunks.
#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/policy/chunk_dataset.h"
#include "engram/policy/policy_trainer.h"
#include "engram/policy/sampling.h"
#include "engram/sim/demo_file.h"
#include "engram/sim/demo_generation.h"
#include "support/slalom_demos.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

using engram::testing::TempDir;

std::string tiny_dataset(const TempDir& dir) {
  const auto o = testing::slalom_demos(dir, 2);
  generate_demos(o);
  return o.out;
}

nlohmann::json tiny_config(const std::string& data, int steps) {
  return {{"model", {{"channels", 16}, {"channel_hidden", 32}, {"token_hidden", 8}, {"blocks", 1}}},
          {"train", {{"data", data}, {"steps", steps}, {"batch_size", 32}, {"warmup", 5}, {"lr", 3e-3}, {"eval_interval", 20},
                     {"log_interval", 10}, {"weak_step", 20}, {"holdout_every", 0}}}};
}

std::vector<std::string> lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(ChunkDataset, WindowsZeroEverythingFromTheTerminalStep) {
  TempDir dir;
  const auto path = tiny_dataset(dir);
  ChunkDataset train, valid;
  load_chunk_dataset(path, 8, 0, train, valid);
  const auto demos = read_demos(path);
  const auto& ep = demos.episodes[0];
  const int64_t T = ep.length();
  EXPECT_EQ(train.obs.size(0), T + demos.episodes[1].length());
  EXPECT_EQ(valid.obs.size(0), 0);
  // Window at j = T − 3: actions T−3, T−2 kept, T−1 (terminal) and beyond zero.
  const auto w = train.chunks[T - 3];
  EXPECT_FLOAT_EQ(w[0][0].item<float>(), ep.actions[static_cast<size_t>((T - 3) * 2)]);
  EXPECT_FLOAT_EQ(w[1][1].item<float>(), ep.actions[static_cast<size_t>((T - 2) * 2 + 1)]);
  EXPECT_EQ(w.slice(0, 2).abs().sum().item<float>(), 0.0f);
}

TEST(PolicyTrainer, LossFallsResumeIsExactAndTheCheckpointSamples) {
  TempDir dir;
  const auto data = tiny_dataset(dir);
  PolicyRunOptions full{dir.file("full"), false, false};
  const auto s = train_policy(tiny_config(data, 60), full);
  const auto rows = lines(dir.file("full/metrics.jsonl"));
  ASSERT_EQ(rows.size(), 6u);
  const double first = nlohmann::json::parse(rows.front())["train_loss_mean"], last = nlohmann::json::parse(rows.back())["train_loss_mean"];
  EXPECT_LT(last, 0.7 * first) << first << " → " << last;
  EXPECT_TRUE(std::filesystem::exists(dir.file("full/weak.safetensors")));

  // 40 steps, then resume to 60: the same metrics as the uninterrupted run.
  PolicyRunOptions part{dir.file("part"), false, false};
  train_policy(tiny_config(data, 40), part);
  auto config = tiny_config(data, 60);
  PolicyRunOptions resume{dir.file("part"), true, false};
  train_policy(config, resume);
  EXPECT_EQ(lines(dir.file("part/metrics.jsonl")), rows);

  auto loaded = load_policy(dir.file("full/checkpoint.safetensors"));
  EXPECT_EQ(loaded.step, 60);
  EXPECT_EQ(loaded.policy->obs_dim(), 4);
  torch::NoGradGuard ng;
  const auto chunk = sample_chunk(*loaded.policy, torch::zeros({2, 4}), torch::randn({2, 8, 2}), 5);
  EXPECT_EQ(chunk.sizes(), (std::vector<int64_t>{2, 8, 2}));
  EXPECT_TRUE(torch::isfinite(chunk).all().item<bool>());
  (void)s;
}

TEST(PolicyTrainer, BadConfigsAreNamed) {
  TempDir dir;
  PolicyRunOptions o{dir.file("run"), false, false};
  try {
    train_policy({{"train", {{"steps", 10}}}}, o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train.data is required"), std::string::npos) << e.what();
  }
  auto config = tiny_config(dir.file("missing.h5"), 10);
  EXPECT_THROW(train_policy(config, o), Error);
  config = tiny_config(tiny_dataset(dir), 10);
  config["model"]["chanels"] = 8;
  try {
    train_policy(config, o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("chanels"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace engram
