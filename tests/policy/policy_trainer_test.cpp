// Policy training end to end on a tiny dataset: the flow-matching loss falls, an interrupted run
// resumes to the same numbers, and the checkpoint loads into a policy that samples chunks.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/core/metrics.h"
#include "engram/core/safetensors.h"
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

// The metrics rows without wall-clock speed, which no two runs share.
std::vector<std::string> rows_without_speed(const std::string& path) {
  std::vector<std::string> out;
  for (auto row : read_metrics(path)) {
    row.erase("samples_per_s");
    out.push_back(row.dump());
  }
  return out;
}

std::vector<double> means(const std::string& path) {
  std::vector<double> out;
  for (const auto& row : read_metrics(path))
    if (row.contains("train_loss_mean")) out.push_back(row["train_loss_mean"].get<double>());
  return out;
}

TEST(PolicyTrainer, LossFallsResumeIsExactAndTheCheckpointSamples) {
  TempDir dir;
  const auto data = tiny_dataset(dir);
  PolicyRunOptions full{dir.file("full"), false, false};
  const auto s = train_policy(tiny_config(data, 60), full);
  const auto m = means(dir.file("full/metrics.jsonl"));
  ASSERT_EQ(m.size(), 3u);  // evaluations at 20, 40, 60
  EXPECT_LT(m.back(), 0.7 * m.front()) << m.front() << " → " << m.back();
  EXPECT_EQ(s.steps, 60);
  EXPECT_TRUE(std::filesystem::exists(dir.file("full/weak.safetensors")));
  EXPECT_EQ(load_policy(dir.file("full/weak.safetensors")).step, 20);

  // 30 steps (between evaluations), then resume to 60: the same metrics as the uninterrupted run.
  PolicyRunOptions part{dir.file("part"), false, false, 30};
  EXPECT_EQ(train_policy(tiny_config(data, 60), part).steps, 30);
  PolicyRunOptions resume{dir.file("part"), true, false};
  train_policy(tiny_config(data, 60), resume);
  EXPECT_EQ(rows_without_speed(dir.file("part/metrics.jsonl")), rows_without_speed(dir.file("full/metrics.jsonl")));
  EXPECT_EQ(testing::read_file(dir.file("part/config.json")), testing::read_file(dir.file("full/config.json")));

  auto loaded = load_policy(dir.file("full/checkpoint.safetensors"));
  EXPECT_EQ(loaded.step, 60);
  EXPECT_EQ(loaded.policy->obs_dim(), 4);
  torch::NoGradGuard ng;
  const auto chunk = sample_chunk(*loaded.policy, torch::zeros({2, 4}), torch::randn({2, 8, 2}), 5);
  EXPECT_EQ(chunk.sizes(), (std::vector<int64_t>{2, 8, 2}));
  EXPECT_TRUE(torch::isfinite(chunk).all().item<bool>());
  // A fresh run does not overwrite a finished one.
  EXPECT_THROW(train_policy(tiny_config(data, 60), full), Error);
}

// Checkpoints of the former policy trainer ("model.*", "optim.*", "engram.step") load and resume.
TEST(PolicyTrainer, CheckpointsOfTheFormerLayoutLoadAndResume) {
  TempDir dir;
  const auto data = tiny_dataset(dir);
  train_policy(tiny_config(data, 40), {dir.file("new"), false, false});
  const auto file = load_safetensors(dir.file("new/checkpoint.safetensors"));
  std::vector<std::pair<std::string, torch::Tensor>> old;
  for (const auto& [name, t] : file.tensors) {
    if (name.rfind("optimizer.", 0) == 0) old.emplace_back("optim." + name.substr(10), t);
    else if (name.rfind("rng.", 0) != 0) old.emplace_back("model." + name, t);
  }
  std::filesystem::create_directories(dir.file("old"));
  save_safetensors(dir.file("old/checkpoint.safetensors"), old,
                   {{"engram.policy_config", file.metadata.at("engram.policy_config")}, {"engram.step", "40"}});
  std::filesystem::copy_file(dir.file("new/config.json"), dir.file("old/config.json"));
  std::filesystem::copy_file(dir.file("new/metrics.jsonl"), dir.file("old/metrics.jsonl"));

  const auto a = load_policy(dir.file("new/checkpoint.safetensors")), b = load_policy(dir.file("old/checkpoint.safetensors"));
  EXPECT_EQ(b.step, 40);
  EXPECT_EQ(a.config, b.config);
  for (const auto& p : a.module->named_parameters())
    EXPECT_TRUE(torch::equal(p.value(), b.module->named_parameters()[p.key()])) << p.key();
  // Resuming the old file continues from step 40 with its optimizer moments: the same weights as
  // resuming the new one (the torch generator state, absent from old files, is not used by policies).
  train_policy(tiny_config(data, 60), {dir.file("new"), true, false});
  train_policy(tiny_config(data, 60), {dir.file("old"), true, false});
  const auto c = load_policy(dir.file("new/checkpoint.safetensors")), d = load_policy(dir.file("old/checkpoint.safetensors"));
  EXPECT_EQ(d.step, 60);
  for (const auto& p : c.module->named_parameters())
    EXPECT_TRUE(torch::equal(p.value(), d.module->named_parameters()[p.key()])) << p.key();
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
