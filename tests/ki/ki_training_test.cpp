// engram ki pretrain / ki train at toy size: they run through the one loop, resume exactly, report
// what the dashboard needs, refuse the wrong inputs, and their policies run under policy eval.
#include "engram/ki/ki_training.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <torch/torch.h>

#include "engram/core/json.h"
#include "engram/core/safetensors.h"
#include "engram/fast/action_tokenizer.h"
#include "engram/fast/bin_tokenizer.h"
#include "engram/ki/backbone_cka.h"
#include "engram/ki/flow_steps_sweep.h"
#include "engram/policy/delay_harness.h"
#include "engram/policy/policy_trainer.h"
#include "engram/sim/demo_generation.h"
#include "support/error_of.h"
#include "support/slalom_demos.h"
#include "support/temp_dir.h"

namespace engram::ki {
namespace {

using engram::testing::error_of;
using engram::testing::TempDir;

// A shared toy setting: 30 TableWorld episodes and a one-layer backbone pre-trained for 20 steps.
struct Toy {
  TempDir dir;
  std::string demos = dir.file("tw.h5"), backbone;
  Toy() {
    DemoOptions d;
    d.task = "tableworld";
    d.out = demos;
    d.episodes = 30;
    d.workers = 1;
    d.progress = false;
    generate_demos(d);
    PretrainConfig p;
    p.width = 16, p.ffn = 16, p.depth = 1, p.heads = 2, p.head_dim = 8;
    p.steps = 20, p.batch_size = 8, p.eval_interval = 10, p.warmup = 2;
    pretrain_backbone(p, {dir.file("stage0"), false, false});
    backbone = dir.file("stage0/checkpoint.safetensors");
  }
  KiTrainConfig recipe(Recipe r) const {
    KiTrainConfig c;
    c.data = demos, c.backbone = backbone, c.recipe = r;
    c.expert_width = 8, c.expert_ffn = 8;
    c.steps = 12, c.robot_batch = 4, c.lm_batch = 2, c.warmup = 2;
    c.eval_interval = 6, c.eval_episodes = 2, c.eval_chunks = 8, c.flow_steps = 2, c.holdout_every = 5;
    return c;
  }
};

Toy& toy() {
  static Toy t;
  return t;
}

std::vector<nlohmann::json> rows(const std::string& run) {
  std::vector<nlohmann::json> out;
  std::ifstream in(run + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(KiTraining, PretrainRecordsHeldOutNllAndFactAccuracy) {
  std::vector<nlohmann::json> evals;
  for (const auto& r : rows(toy().dir.file("stage0")))
    if (r.contains("fact_acc")) evals.push_back(r);
  ASSERT_EQ(evals.size(), 2u);  // steps 10 and 20
  EXPECT_GE(evals[1]["fact_acc"].get<double>(), 0.0);
  EXPECT_LE(evals[1]["fact_acc"].get<double>(), 1.0);
  EXPECT_LT(evals[1]["val_loss"].get<double>(), evals[0]["val_loss"].get<double>());  // the held-out NLL falls
}

TEST(KiTraining, KiRecipeResumesExactlyWithItsEmaWeights) {
  auto& t = toy();
  const auto c = t.recipe(Recipe::kR5);
  const std::string full = t.dir.file("r5-full"), split = t.dir.file("r5-split");
  train_recipe(c, {full, false, false});
  train_recipe(c, {split, false, false, 7});
  KiRunOptions resume{split, true, false};
  train_recipe(settings_for_run<KiTrainConfig>(nlohmann::json::object(), resume), resume);
  const auto a = load_safetensors(full + "/checkpoint.safetensors"), b = load_safetensors(split + "/checkpoint.safetensors");
  int ema = 0;
  for (const auto& [name, tensor] : a.tensors) {
    if (name.rfind("ema.", 0) == 0) ++ema;
    EXPECT_TRUE(torch::equal(tensor, b.at(name))) << name;
  }
  EXPECT_GT(ema, 10);
  // The evaluation row has every dashboard number.
  const auto last = rows(full).back();
  for (const char* key : {"success_direct", "follow_known", "success_novel", "action_mse", "lm_nll", "delta_nll", "fact_acc",
                          "train_fast_ce", "train_flow", "train_lm"})
    EXPECT_TRUE(last.contains(key)) << key << " missing from " << last.dump();
  // Both clipping groups are logged.
  EXPECT_TRUE(rows(full)[0].contains("grad_norm_expert"));
}

TEST(KiTraining, TheFlowGradientIntoTheBackboneIsZeroOnlyWithTheStopGradient) {
  auto& t = toy();
  auto first_eval = [](const std::string& run) {
    for (const auto& r : rows(run))
      if (r.contains("success_direct")) return r;
    return nlohmann::json();
  };
  const std::string ki = t.dir.file("grad-r6"), joint = t.dir.file("grad-r3");
  auto r6 = t.recipe(Recipe::kR6), r3 = t.recipe(Recipe::kR3);
  r6.diagnostic_steps = r3.diagnostic_steps = {0, 4};
  train_recipe(r6, {ki, false, false});
  train_recipe(r3, {joint, false, false});
  const auto a = first_eval(ki), b = first_eval(joint);
  ASSERT_TRUE(a.contains("flow_grad_norm_backbone_4")) << a.dump();
  EXPECT_EQ(a["flow_grad_norm_backbone_4"].get<double>(), 0.0);
  EXPECT_GT(a["ce_grad_norm_backbone_4"].get<double>(), 0.0);
  // Without the stop-gradient: none at step 0 (the expert's gates start at zero), some once they open.
  EXPECT_EQ(b["flow_grad_norm_backbone_0"].get<double>(), 0.0);
  EXPECT_GT(b["flow_grad_norm_backbone_4"].get<double>(), 0.0);
  EXPECT_LE(std::abs(b["flow_ce_grad_cosine_4"].get<double>()), 1.0);
  EXPECT_GT(b["backbone_drift"].get<double>(), 0.0);
}

TEST(KiTraining, KiPoliciesRunUnderTheDelayHarness) {
  auto& t = toy();
  const std::string run = t.dir.file("r5-eval");
  train_recipe(t.recipe(Recipe::kR5), {run, false, false});
  auto loaded = load_policy(run + "/checkpoint.safetensors");
  EXPECT_EQ(loaded.policy->obs_dim(), 28);
  EXPECT_EQ(loaded.config["env"]["env_name"], "tableworld");
  DelayEvalOptions o;
  o.task = "tableworld-direct";
  o.method = ChunkMethod::kRtc;
  o.delay = 2, o.shift = 4, o.episodes = 3, o.batch = 3, o.steps = 2;
  EXPECT_EQ(evaluate_under_delay(*loaded.policy, o).episodes, 3);
}

// R8 is KI with one bin token per action value: 48 of them a chunk, the FAST cross-entropy's place
// taken by theirs; the run keeps its bins, and resumes from them.
TEST(KiTraining, NaiveTokenRecipeLearnsOneBinTokenPerValue) {
  auto& t = toy();
  const std::string run = t.dir.file("r8");
  auto c = t.recipe(Recipe::kR8);
  c.bins = 16;
  c.diagnostic_steps = {4};
  train_recipe(c, {run, false, false, 6});
  ASSERT_TRUE(std::filesystem::exists(run + "/bins.json"));
  EXPECT_FALSE(std::filesystem::exists(run + "/fast.json"));
  const auto bins = load_action_tokenizer(run + "/bins.json");
  EXPECT_EQ(bins->vocab_size(), 16);
  std::vector<double> chunk(16 * 3, 0.1);
  EXPECT_EQ(bins->encode(chunk.data()).size(), 48u);
  KiRunOptions resume{run, true, false};
  train_recipe(settings_for_run<KiTrainConfig>(nlohmann::json::object(), resume), resume);
  const auto evals = rows(run);
  const auto first = *std::find_if(evals.begin(), evals.end(), [](const auto& r) { return r.contains("success_direct"); });
  EXPECT_EQ(first["flow_grad_norm_backbone_4"].get<double>(), 0.0);  // KI's stop-gradient
  const auto last = evals.back();
  for (const char* key : {"train_fast_ce", "train_flow", "train_lm"}) EXPECT_TRUE(last.contains(key)) << key << ": " << last.dump();
}

// R10 trains the backbone's own weights to denoise: the flow gradient reaches them from step 0 (no
// gates to open), and the run loads as a policy like any other.
TEST(KiTraining, TransfusionLikeRecipeTrainsTheBackboneByFlowAndRunsAsAPolicy) {
  auto& t = toy();
  const std::string run = t.dir.file("r10");
  auto c = t.recipe(Recipe::kR10);
  c.diagnostic_steps = {0};
  train_recipe(c, {run, false, false});
  nlohmann::json first;
  for (const auto& r : rows(run))
    if (r.contains("success_direct")) {
      first = r;
      break;
    }
  ASSERT_TRUE(first.contains("flow_grad_norm_backbone_0")) << first.dump();
  EXPECT_GT(first["flow_grad_norm_backbone_0"].get<double>(), 0.0);
  EXPECT_FALSE(first.contains("train_fast_ce"));
  auto loaded = load_policy(run + "/checkpoint.safetensors");
  EXPECT_TRUE(loaded.config["model"]["shared_weights"].get<bool>());
  DelayEvalOptions o;
  o.task = "tableworld-direct";
  o.method = ChunkMethod::kRtc;
  o.delay = 2, o.shift = 4, o.episodes = 2, o.batch = 2, o.steps = 2;
  EXPECT_EQ(evaluate_under_delay(*loaded.policy, o).episodes, 2);
}

// engram ki flow-steps evaluates a checkpoint as its run's evaluation did: at the run's own N it
// gives the last evaluation's rates exactly (same EMA weights, scenes, noise and shift). The toy
// policy's rates barely depend on the noise, so this pins the wiring (weights, episodes, shift),
// not the noise seed; on the 20,000-step R5 run, N = 10 reproduced all six final rates
// (docs/RESULTS.md, "Success against the number of flow steps").
TEST(KiTraining, FlowStepsSweepAtTheRunsNRepeatsItsLastEvaluation) {
  auto& t = toy();
  const std::string run = t.dir.file("r5-sweep");
  auto c = t.recipe(Recipe::kR5);
  c.eval_episodes = 8, c.shift = 5, c.seed = 3;  // not the defaults, so the sweep must read them from the run
  train_recipe(c, {run, false, false});
  const auto last = rows(run).back();
  const auto sweep = success_vs_flow_steps(run + "/checkpoint.safetensors", {1, c.flow_steps});
  ASSERT_EQ(sweep.size(), 2u);
  EXPECT_EQ(sweep[1].steps, c.flow_steps);
  double sum = 0;
  for (const char* key : {"success_direct", "success_known", "success_novel", "follow_direct", "follow_known", "follow_novel"}) {
    EXPECT_EQ(sweep[1].rates.at(key).get<double>(), last.at(key).get<double>()) << key;
    sum += last.at(key).get<double>();
  }
  EXPECT_GT(sum, 0.0);  // not all zero
  EXPECT_GT(sweep[0].chunk_ms, 0.0);
  EXPECT_NE(error_of([&] { success_vs_flow_steps(run + "/checkpoint.safetensors", {0}); }).find("≥ 1"), std::string::npos);
}

TEST(KiTraining, LinearCkaIsOneUnderRotationAndScalingAndLowForUnrelatedFeatures) {
  torch::manual_seed(3);
  const auto x = torch::randn({200, 6});
  const auto rotation = std::get<0>(torch::linalg_qr(torch::randn({6, 6})));
  EXPECT_NEAR(linear_cka(x, 3 * torch::matmul(x, rotation) + 1), 1.0, 1e-12);
  EXPECT_LT(linear_cka(x, torch::randn({200, 5})), 0.1);
  EXPECT_NE(error_of([&] { linear_cka(x, torch::ones({200, 3})); }).find("constant"), std::string::npos);
}

// A frozen backbone (R7) keeps stage 0's representation exactly; a backbone trained only by the
// flow loss (R1, a high learning rate for the toy's few steps) moves away from it.
TEST(KiTraining, BackboneCkaIsOneForTheFrozenBackboneOnly) {
  auto& t = toy();
  const std::string frozen = t.dir.file("r7-cka"), moved = t.dir.file("r1-cka");
  train_recipe(t.recipe(Recipe::kR7), {frozen, false, false});
  auto r1 = t.recipe(Recipe::kR1);
  r1.lr = 3e-2, r1.min_lr = 3e-2;
  train_recipe(r1, {moved, false, false});
  EXPECT_NEAR(backbone_cka(frozen + "/checkpoint.safetensors", 64), 1.0, 1e-9);
  EXPECT_LT(backbone_cka(moved + "/checkpoint.safetensors", 64), 0.999);
}

// The knob of KI spec §8.5 "a higher learning rate for the backbone group": a factor on that group
// alone. At 0 the flow gradient reaching R1's backbone moves nothing, while the expert learns.
TEST(KiTraining, BackboneLearningRateFactorActsOnTheBackboneOnly) {
  auto& t = toy();
  const std::string run = t.dir.file("r1-still");
  auto c = t.recipe(Recipe::kR1);
  c.backbone_lr_scale = 0;
  c.weight_decay = 0.1;  // decay is scaled with the rate too
  train_recipe(c, {run, false, false});
  const auto before = load_safetensors(t.backbone), after = load_safetensors(run + "/checkpoint.safetensors");
  // The flow gradient did reach the backbone (its Adam moments are not zero), but the weights, and
  // so their EMA, stayed at stage 0's; the expert's zero-initialised adaRMS maps did move.
  int backbone = 0;
  for (const auto& [name, tensor] : after.tensors)
    if (name.rfind("backbone", 0) == 0) {
      ++backbone;
      EXPECT_TRUE(torch::equal(tensor, before.at(name))) << name;
      EXPECT_TRUE(torch::allclose(after.at("ema." + name), before.at(name), 0, 1e-6)) << name;  // d·x + (1 − d)·x rounds
    }
  EXPECT_GT(backbone, 5);
  EXPECT_GT(after.at("optimizer.exp_avg.backbone0_k.weight").abs().sum().item<double>(), 0);
  EXPECT_GT(after.at("expert0_ada_attn.weight").abs().sum().item<double>(), 0);
}

TEST(KiTraining, FastOnlyRecipeDecodesAutoregressively) {
  auto& t = toy();
  const std::string run = t.dir.file("r2");
  train_recipe(t.recipe(Recipe::kR2), {run, false, false});
  const auto last = rows(run).back();
  ASSERT_TRUE(last.contains("decode_failure_rate")) << last.dump();
  EXPECT_GE(last["decode_failure_rate"].get<double>(), 0.0);
  EXPECT_LE(last["decode_failure_rate"].get<double>(), 1.0);
  EXPECT_FALSE(last.contains("train_flow"));
  // No expert: not a flow policy.
  EXPECT_NE(error_of([&] { load_policy(run + "/checkpoint.safetensors"); }).find("no action expert"), std::string::npos);
  EXPECT_NE(error_of([&] { success_vs_flow_steps(run + "/checkpoint.safetensors", {1}); }).find("no action expert"),
            std::string::npos);
}

TEST(KiTraining, WrongInputsAreClearErrorsAndWriteNothing) {
  auto& t = toy();
  auto c = t.recipe(Recipe::kR5);
  c.steps = 2;
  const std::string policy_run = t.dir.file("policy");
  train_recipe(c, {policy_run, false, false});
  c.backbone = policy_run + "/checkpoint.safetensors";  // a policy, not a backbone
  auto e = error_of([&] { train_recipe(c, {t.dir.file("bad1"), false, false}); });
  EXPECT_NE(e.find("is a ki-policy checkpoint, not a ki-backbone one"), std::string::npos) << e;
  c = t.recipe(Recipe::kR5);
  const auto slalom = engram::testing::slalom_demos(t.dir, 2);
  generate_demos(slalom);
  c.data = slalom.out;
  e = error_of([&] { train_recipe(c, {t.dir.file("bad2"), false, false}); });
  EXPECT_NE(e.find("is not a TableWorld dataset"), std::string::npos) << e;
  EXPECT_FALSE(std::filesystem::exists(t.dir.file("bad2")));
  c = t.recipe(Recipe::kR5);
  c.horizon = 8;
  c.fast = policy_run + "/fast.json";  // fitted for H = 16
  e = error_of([&] { train_recipe(c, {t.dir.file("bad3"), false, false}); });
  EXPECT_NE(e.find("the action tokenizer is for 16 × 3 chunks, this run uses 8 × 3"), std::string::npos) << e;
  EXPECT_FALSE(std::filesystem::exists(t.dir.file("bad3")));
  c = t.recipe(Recipe::kR8);
  c.fast = policy_run + "/fast.json";  // FAST, but R8 learns bins
  e = error_of([&] { train_recipe(c, {t.dir.file("bad4"), false, false}); });
  EXPECT_NE(e.find("recipe R8 learns bin tokens, but " + c.fast + " holds FAST tokens"), std::string::npos) << e;
  EXPECT_FALSE(std::filesystem::exists(t.dir.file("bad4")));
  c = t.recipe(Recipe::kR5);
  c.fast = t.dir.file("bins.json");  // bins, but R5 learns FAST
  BinTokenizer::fit(std::vector<double>(16 * 3 * 4, 0.5), 16, 3, 32).save(c.fast);
  e = error_of([&] { train_recipe(c, {t.dir.file("bad5"), false, false}); });
  EXPECT_NE(e.find("recipe R5 learns FAST tokens, but " + c.fast + " holds bin tokens"), std::string::npos) << e;
  EXPECT_FALSE(std::filesystem::exists(t.dir.file("bad5")));
  // A fresh run refuses a directory that holds one, and leaves it as it was.
  const auto before = load_safetensors(policy_run + "/checkpoint.safetensors");
  e = error_of([&] { train_recipe(t.recipe(Recipe::kR5), {policy_run, false, false}); });
  EXPECT_NE(e.find("already holds a run"), std::string::npos) << e;
  const auto after = load_safetensors(policy_run + "/checkpoint.safetensors");
  for (const auto& [name, tensor] : before.tensors) EXPECT_TRUE(torch::equal(tensor, after.at(name))) << name;
}

}  // namespace
}  // namespace engram::ki
