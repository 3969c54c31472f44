#include "engram/train/sequence_job.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/core/metrics.h"
#include "engram/core/safetensors.h"
#include "engram/train/experiment.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

nlohmann::json tiny_experiment(const std::string& corpus, int64_t steps) {
  return {{"model", {{"type", "transformer"}, {"n_layer", 1}, {"n_head", 2}, {"n_embd", 32}, {"dropout", 0.1}}},
          {"train", {{"steps", steps}, {"batch_size", 4}, {"block_size", 16}, {"lr", 3e-3}, {"min_lr", 3e-4},
                     {"warmup", 3}, {"eval_interval", 4}, {"eval_batches", 2}, {"log_interval", 1}, {"seed", 5}}},
          {"data", {{"train", corpus}, {"tokenizer", "bpe"}, {"vocab_size", 300}}}};
}

std::vector<double> losses(const std::string& run_dir, const char* key) {
  std::vector<double> out;
  for (const auto& r : read_metrics(run_dir + "/metrics.jsonl"))
    if (r.contains(key)) out.push_back(r[key].get<double>());
  return out;
}

TEST(Trainer, LossFallsOnASmallCorpus) {
  testing::TempDir dir;
  const auto corpus = dir.write("corpus.txt", testing::tiny_corpus());
  auto s = run_experiment(tiny_experiment(corpus, 40), dir.file("run"), {false, false});
  auto train = losses(dir.file("run"), "train_loss");
  ASSERT_EQ(train.size(), 40u);
  EXPECT_LT(s.val_loss, train.front() - 1.0) << "first " << train.front() << ", final validation " << s.val_loss;
  for (const char* f : {"config.json", "metrics.jsonl", "checkpoint.safetensors", "tokenizer.json", "train.tok", "valid.tok"})
    EXPECT_TRUE(std::filesystem::exists(dir.file(std::string("run/") + f))) << f;
}

TEST(Trainer, ResumeIsBitIdenticalToAnUninterruptedRun) {
  testing::TempDir dir;
  const auto corpus = dir.write("corpus.txt", testing::tiny_corpus());
  const auto cfg = tiny_experiment(corpus, 12);  // dropout on: the RNG state must travel too
  run_experiment(cfg, dir.file("full"), {false, false});
  // Interrupted after step 6 (between checkpoints at 4 and 8), then resumed in a fresh model.
  RunOptions stop{false, false, 6};
  auto first = run_experiment(cfg, dir.file("split"), stop);
  EXPECT_EQ(first.steps, 6);
  EXPECT_EQ(losses(dir.file("split"), "train_loss").size(), 6u);
  run_experiment(nlohmann::json::object(), dir.file("split"), {true, false});

  const auto a = losses(dir.file("full"), "train_loss"), b = losses(dir.file("split"), "train_loss");
  ASSERT_EQ(a.size(), 12u);
  ASSERT_EQ(b.size(), 12u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "step " << i;  // exact, not approximate
  EXPECT_EQ(losses(dir.file("full"), "val_loss"), losses(dir.file("split"), "val_loss"));

  auto wa = load_safetensors(dir.file("full/checkpoint.safetensors"));
  auto wb = load_safetensors(dir.file("split/checkpoint.safetensors"));
  ASSERT_EQ(wa.tensors.size(), wb.tensors.size());
  for (size_t i = 0; i < wa.tensors.size(); ++i)
    EXPECT_TRUE(torch::equal(wa.tensors[i].second, wb.tensors[i].second)) << wa.tensors[i].first;
}

TEST(Trainer, NonFiniteLossStopsAndKeepsTheLastGoodCheckpoint) {
  testing::TempDir dir;
  const auto corpus = dir.write("corpus.txt", testing::tiny_corpus());
  auto cfg = tiny_experiment(corpus, 8);
  run_experiment(cfg, dir.file("run"), {false, false, 4});
  const std::string good = testing::read_file(dir.file("run/checkpoint.safetensors"));
  // An absurd learning rate without clipping blows the weights up within a few steps.
  nlohmann::json bad = {{"train", {{"steps", 200}, {"lr", 1e3}, {"min_lr", 1e3}, {"grad_clip", 0.0}, {"eval_interval", 1000}}}};
  try {
    run_experiment(bad, dir.file("run"), {true, false});
    FAIL() << "training should have stopped";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_TRUE(msg.find("loss is") != std::string::npos || msg.find("gradient norm is") != std::string::npos) << msg;
    EXPECT_NE(msg.find("last good checkpoint"), std::string::npos) << msg;
  }
  EXPECT_EQ(testing::read_file(dir.file("run/checkpoint.safetensors")), good);

  // Without any checkpoint yet, the message says so instead of pointing at a file that is not there.
  auto fresh = tiny_experiment(corpus, 200);
  fresh["train"].update(bad["train"]);
  try {
    run_experiment(fresh, dir.file("fresh"), {false, false});
    FAIL() << "training should have stopped";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no checkpoint had been written yet"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("fresh/checkpoint.safetensors")));
}

TEST(Trainer, StopsEarlyOnceTheTaskAccuracyIsReached) {
  testing::TempDir dir;
  auto cfg = [](double stop) {
    return nlohmann::json{{"model", {{"type", "transformer"}, {"n_layer", 1}, {"n_head", 2}, {"n_embd", 16}}},
                          {"train", {{"steps", 12}, {"batch_size", 4}, {"lr", 3e-3}, {"min_lr", 3e-4}, {"warmup", 2},
                                     {"eval_interval", 4}, {"eval_batches", 2}, {"log_interval", 1}, {"seed", 5}, {"stop_accuracy", stop}}},
                          {"task", {{"name", "induction"}, {"length", 32}, {"vocab", 16}, {"min_copy", 4}, {"max_copy", 8}}}};
  };
  // Chance accuracy on 16 symbols is far above 1e-6 and far below 1: the first stops at the first
  // evaluation, the second runs to the end.
  const auto early = run_experiment(cfg(1e-6), dir.file("early"), {false, false});
  EXPECT_EQ(early.steps, 4);
  EXPECT_GE(early.val_accuracy, 1e-6);
  EXPECT_EQ(losses(dir.file("early"), "train_loss").size(), 4u);
  EXPECT_TRUE(std::filesystem::exists(dir.file("early/checkpoint.safetensors")));
  EXPECT_EQ(run_experiment(cfg(1.0), dir.file("full"), {false, false}).steps, 12);
}

TEST(Trainer, RefusesToOverwriteARunAndToResumeAnotherArchitecture) {
  testing::TempDir dir;
  const auto corpus = dir.write("corpus.txt", testing::tiny_corpus());
  run_experiment(tiny_experiment(corpus, 4), dir.file("run"), {false, false});
  EXPECT_THROW(run_experiment(tiny_experiment(corpus, 4), dir.file("run"), {false, false}), Error);
  try {
    run_experiment({{"model", {{"n_embd", 64}}}, {"train", {{"steps", 8}}}}, dir.file("run"), {true, false});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has shape"), std::string::npos) << e.what();
  }
}

// An outside reference: LibTorch's own AdamW, same hyper-parameters, same gradients, one LibTorch
// optimiser per parameter at 1e-2 × that parameter's factor (w decayed, b not).
void expect_adamw_matches_libtorch(double w_factor, double b_factor, const std::vector<double>& lr_scale) {
  torch::manual_seed(3);
  auto w1 = torch::randn({5, 4}, torch::requires_grad()), b1 = torch::randn({4}, torch::requires_grad());
  auto w2 = w1.detach().clone().requires_grad_(), b2 = b1.detach().clone().requires_grad_();
  AdamW mine({{"w", w1}, {"b", b1}}, {0.9, 0.95, 1e-8, 0.1}, lr_scale);
  torch::optim::AdamW theirs_w({w2}, torch::optim::AdamWOptions(1e-2 * w_factor).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.1));
  torch::optim::AdamW theirs_b({b2}, torch::optim::AdamWOptions(1e-2 * b_factor).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.0));
  auto x = torch::randn({8, 5});
  for (int step = 0; step < 5; ++step) {
    mine.zero_grad();
    theirs_w.zero_grad();
    theirs_b.zero_grad();
    (torch::matmul(x, w1) + b1).pow(2).sum().backward();
    (torch::matmul(x, w2) + b2).pow(2).sum().backward();
    mine.step(1e-2);
    theirs_w.step();
    theirs_b.step();
    EXPECT_TRUE(torch::allclose(w1, w2, 1e-6, 1e-6)) << "step " << step;
    EXPECT_TRUE(torch::allclose(b1, b2, 1e-6, 1e-6)) << "step " << step;
  }
}

TEST(AdamW, MatchesLibTorchsAdamW) { expect_adamw_matches_libtorch(1.0, 1.0, {}); }

TEST(AdamW, LearningRateFactorsMatchLibTorchAtThoseRates) {
  expect_adamw_matches_libtorch(3.0, 0.5, {3.0, 0.5});
  auto w = torch::zeros({2}, torch::requires_grad());
  EXPECT_THROW(AdamW({{"w", w}}, {}, {1.0, 2.0}), Error);
}

TEST(Schedule, WarmupThenCosine) {
  EXPECT_DOUBLE_EQ(cosine_lr(0, 10, 100, 1.0, 0.1), 0.1);
  EXPECT_DOUBLE_EQ(cosine_lr(9, 10, 100, 1.0, 0.1), 1.0);
  EXPECT_NEAR(cosine_lr(55, 10, 100, 1.0, 0.1), 0.55, 1e-12);  // halfway down
  EXPECT_DOUBLE_EQ(cosine_lr(100, 10, 100, 1.0, 0.1), 0.1);
}

TEST(ClipGradNorm, ScalesToTheLimit) {
  auto p = torch::zeros({2}, torch::requires_grad());
  (p * torch::tensor({3.0, 4.0})).sum().backward();
  EXPECT_NEAR(clip_grad_norm({p}, 1.0), 5.0, 1e-9);
  EXPECT_NEAR(p.grad().norm().item<double>(), 1.0, 1e-5);
}

}  // namespace
}  // namespace engram
