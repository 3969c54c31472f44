#include "engram/seq/mosaic.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "engram/core/error.h"
#include "engram/seq/leaky_average.h"
#include "engram/train/experiment.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

std::shared_ptr<SequenceModel> tiny(nlohmann::json extra = nlohmann::json::object()) {
  torch::manual_seed(0);
  nlohmann::json c = {{"type", "mosaic"}, {"vocab_size", 40}, {"n_layer", 2}, {"n_head", 2}, {"n_embd", 16},
                      {"block_size", 32}, {"pmem_size", 24}};
  for (const auto& item : extra.items()) c[item.key()] = item.value();
  return make_model(c);
}

TEST(LeakyAverage, ScanEqualsMatrixFormAndItsGradients) {
  torch::manual_seed(1);
  auto x1 = torch::randn({3, 17, 4, 5}, torch::kDouble).requires_grad_();
  auto l1 = torch::rand({4}, torch::kDouble).mul(0.9).add(0.05).requires_grad_();
  auto x2 = x1.detach().clone().requires_grad_(), l2 = l1.detach().clone().requires_grad_();
  auto a = leaky_average_scan(x1, l1), b = leaky_average_matrix(x2, l2);
  EXPECT_TRUE(torch::allclose(a, b, 1e-12, 1e-12));
  auto w = torch::randn_like(a);
  (a * w).sum().backward();
  (b * w).sum().backward();
  EXPECT_TRUE(torch::allclose(x1.grad(), x2.grad(), 1e-12, 1e-12));
  EXPECT_TRUE(torch::allclose(l1.grad(), l2.grad(), 1e-10, 1e-10)) << l1.grad() << l2.grad();
}

TEST(LeakyAverage, LambdaGradientMatchesFiniteDifferences) {
  torch::manual_seed(2);
  auto x = torch::randn({2, 9, 3, 4}, torch::kDouble);
  auto w = torch::randn({2, 9, 3, 4}, torch::kDouble);
  auto lam = torch::tensor({0.3, 0.6, 0.9}, torch::kDouble).requires_grad_();
  (leaky_average_scan(x, lam) * w).sum().backward();
  for (int h = 0; h < 3; ++h) {
    const double eps = 1e-6;
    auto up = lam.detach().clone(), down = lam.detach().clone();
    up[h] += eps;
    down[h] -= eps;
    const double fd = ((leaky_average_scan(x, up) * w).sum() - (leaky_average_scan(x, down) * w).sum()).item<double>() / (2 * eps);
    EXPECT_NEAR(lam.grad()[h].item<double>(), fd, 1e-6) << "head " << h;
  }
}

TEST(LeakyAverage, IsTheRecurrence) {
  auto x = torch::tensor({1.0, 2.0, 4.0}, torch::kDouble).view({1, 3, 1, 1});
  auto y = leaky_average_scan(x, torch::tensor({0.5}, torch::kDouble)).flatten();
  EXPECT_DOUBLE_EQ(y[0].item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(y[1].item<double>(), 2.5);   // 2 + 0.5·1
  EXPECT_DOUBLE_EQ(y[2].item<double>(), 5.25);  // 4 + 0.5·2.5
}

class MosaicVariants : public ::testing::TestWithParam<nlohmann::json> {};

TEST_P(MosaicVariants, NoPositionSeesItsFuture) {
  auto model = tiny(GetParam());
  model->eval();
  torch::NoGradGuard no_grad;
  auto a = torch::randint(40, {2, 12}, torch::kLong);
  for (int64_t t : {0, 5, 10}) {
    auto b = a.clone();
    b.index_put_({torch::indexing::Slice(), t + 1}, (a.index({torch::indexing::Slice(), t + 1}) + 7) % 40);
    auto la = model->forward(a), lb = model->forward(b);
    EXPECT_TRUE(torch::equal(la.narrow(1, 0, t + 1), lb.narrow(1, 0, t + 1))) << "position ≤ " << t << " changed";
    EXPECT_FALSE(torch::allclose(la.narrow(1, t + 1, 1), lb.narrow(1, t + 1, 1)));
  }
}

TEST_P(MosaicVariants, StepEqualsForward) {
  auto model = tiny(GetParam());
  model->eval();
  torch::NoGradGuard no_grad;
  auto tokens = torch::randint(40, {3, 70}, torch::kLong);  // past the initial cache of 64
  auto full = model->forward(tokens);
  auto state = model->init_state(3);
  for (int64_t t = 0; t < 70; ++t) {
    auto logits = model->step(*state, tokens.select(1, t));
    ASSERT_TRUE(torch::allclose(logits, full.select(1, t), 1e-4, 1e-5)) << "position " << t;
  }
}

TEST_P(MosaicVariants, SingleTokenIsFinite) {
  auto model = tiny(GetParam());
  auto logits = model->forward(torch::zeros({1, 1}, torch::kLong));
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
  logits.sum().backward();
  for (const auto& p : model->parameters())
    if (p.grad().defined()) {
      EXPECT_TRUE(torch::isfinite(p.grad()).all().item<bool>());
    }
}

INSTANTIATE_TEST_SUITE_P(Variants, MosaicVariants,
                         ::testing::Values(nlohmann::json::object(), nlohmann::json{{"ffn", "mlp"}},
                                           nlohmann::json{{"ffn", "none"}, {"value_mix", "shift"}},
                                           nlohmann::json{{"variant", "nano"}, {"bias", true}, {"pmem_count", 2}},
                                           nlohmann::json{{"leaky_average", "matrix"}}));

// The contextual memory written out from the spec (§2) in plain operations, in double precision,
// for a 1-block mosaic without FFN: keys from a leaky average, values that mix the next and the
// current token by γ, strictly causal Nadaraya–Watson retrieval. It pins the value mix at γ ≠ 0
// without PyTorch (the import tests pin it against nanoMosaics).
TEST(Mosaic, ContextMemoryMatchesTheSpecAtGammaAwayFromZero) {
  torch::manual_seed(4);
  const int64_t B = 2, T = 7, d = 8, H = 2, dh = d / H;
  auto model = make_model({{"type", "mosaic"}, {"vocab_size", 10}, {"n_layer", 1}, {"n_head", H}, {"n_embd", d},
                           {"block_size", 16}, {"ffn", "none"}, {"attn_dropout", 0.0}, {"resid_dropout", 0.0}});
  model->to(torch::kFloat64);
  model->eval();
  auto p = model->named_parameters();
  const auto gamma = torch::tensor({0.3, 0.8}, torch::kFloat64);
  const double leak = 0.1, rho = 0.02, value_log_scale = 0.03;  // λ = e^{−1}, s = e^{0.2}, a = e^{0.3}
  {
    torch::NoGradGuard no_grad;
    p["blocks.0.cmem.value_mix"].copy_(gamma);
    p["blocks.0.cmem.keys.leak"].fill_(leak);
    p["blocks.0.cmem.keys.key_scale"].fill_(rho);
    p["blocks.0.cmem.value_scale"].fill_(value_log_scale);
  }
  const auto x = torch::randn({B, T, d}, torch::kFloat64);
  const auto got = model->hidden(x);

  auto layer_norm = [](const torch::Tensor& v) {
    auto mu = v.mean(-1, true);
    auto var = (v - mu).pow(2).mean(-1, true);
    return (v - mu) / torch::sqrt(var + 1e-5);
  };
  const auto u = layer_norm(x);
  const auto k_raw = torch::matmul(u, p["blocks.0.cmem.keys.W_k.weight"].t()).view({B, T, H, dh});
  const auto v_raw = torch::matmul(u, p["blocks.0.cmem.W_v.weight"].t()).view({B, T, H, dh});
  const double lambda = std::exp(-10 * leak), key_scale = std::exp(10 * rho), value_scale = std::exp(10 * value_log_scale);
  auto keys = torch::zeros_like(k_raw), values = torch::zeros_like(v_raw), read = torch::zeros_like(v_raw);
  auto kbar = torch::zeros({B, H, dh}, torch::kFloat64);
  for (int64_t t = 0; t < T; ++t) {
    kbar = k_raw.select(1, t) + lambda * kbar;
    keys.select(1, t).copy_(key_scale * kbar / (kbar.norm(2, -1, true) + 1e-6));
    // v̄_t = (1 − γ) ṽ_{t+1} + γ ṽ_t, with ṽ_T = 0
    auto next = t + 1 < T ? v_raw.select(1, t + 1) : torch::zeros({B, H, dh}, torch::kFloat64);
    auto vbar = (1 - gamma).view({H, 1}) * next + gamma.view({H, 1}) * v_raw.select(1, t);
    values.select(1, t).copy_(value_scale * vbar / (vbar.norm(2, -1, true) + 1e-6));
  }
  for (int64_t t = 1; t < T; ++t) {  // query t reads the pairs j < t
    auto scores = (keys.narrow(1, 0, t) * keys.select(1, t).unsqueeze(1)).sum(-1);  // [B, t, H]
    auto w = torch::softmax(scores, 1).unsqueeze(-1);
    read.select(1, t).copy_((w * values.narrow(1, 0, t)).sum(1));
  }
  const auto y = torch::matmul(read.reshape({B, T, d}), p["blocks.0.cmem.c_proj.weight"].t());
  const auto expected = layer_norm(x + y);
  EXPECT_LT((got - expected).abs().max().item<double>(), 1e-10);
}

TEST(Mosaic, ScanAndMatrixModelsAgree) {
  auto a = tiny({{"leaky_average", "scan"}}), b = tiny({{"leaky_average", "matrix"}});
  a->eval();
  b->eval();
  auto tokens = torch::randint(40, {2, 30}, torch::kLong);
  EXPECT_TRUE(torch::allclose(a->forward(tokens), b->forward(tokens), 1e-5, 1e-5));
}

TEST(Mosaic, PmemAtThreePointFiveDHasTwelveDSquaredMatrixWeights) {
  // Spec §3: 3d² (C-mem) + 2d² (P-mem) + 2·P·d (slots) = 12d² when P = 3.5d.
  auto model = tiny({{"n_layer", 1}, {"n_embd", 32}, {"pmem_size", 0}});
  int64_t matrix = 0;
  for (const auto& p : model->named_parameters())
    if (p.key().rfind("blocks.0.", 0) == 0 && p.value().dim() >= 2) matrix += p.value().numel();
  EXPECT_EQ(matrix, 12 * 32 * 32);
}

TEST(Mosaic, InitialScalesFollowTheSpec) {
  auto model = tiny();
  auto p = model->named_parameters();
  auto leak = p["blocks.0.cmem.keys.leak"];
  EXPECT_NEAR((10 * leak.abs()).min().item<double>(), 0.5, 1e-6);  // b_h from 0.5 …
  EXPECT_NEAR((10 * leak.abs()).max().item<double>(), 5.0, 1e-6);  // … to 5
  EXPECT_NEAR(std::exp(10 * p["blocks.0.cmem.keys.key_scale"][0].item<double>()), std::exp(1.0), 1e-5);      // s = e
  EXPECT_NEAR(std::exp(10 * p["blocks.0.cmem.value_scale"][0].item<double>()), std::exp(-0.5), 1e-6);       // a = e^{-1/2}
  EXPECT_NEAR(std::exp(2 * 10 * p["blocks.0.pmem.queries.key_scale"][0].item<double>()), std::exp(2.0), 1e-4);  // s² = e²
  const double g = p["blocks.0.cmem.value_mix"].min().item<double>();
  EXPECT_GE(g, 0.0);
  EXPECT_LE(p["blocks.0.cmem.value_mix"].max().item<double>(), 1.0);
}

TEST(Mosaic, IsSelectableAndRejectsBadKeys) {
  EXPECT_EQ(tiny()->describe().type, "mosaic");
  EXPECT_THROW(tiny({{"ffn", "moe"}}), Error);
  EXPECT_THROW(tiny({{"bias", true}}), Error);  // library has no biases
  EXPECT_THROW(tiny({{"n_embd", 15}}), Error);
  EXPECT_THROW(tiny({{"pmem", 3}}), Error);
}

// The paper's structural claim at test scale (spec §13.1): one C-mem block learns in-context recall.
TEST(MosaicLearns, InductionWithOneBlock) {
  testing::TempDir dir;
  nlohmann::json cfg = {
      {"model", {{"type", "mosaic"}, {"n_layer", 1}, {"n_head", 2}, {"n_embd", 64}, {"ffn", "none"},
                 {"attn_dropout", 0.0}, {"resid_dropout", 0.0}}},
      {"train", {{"steps", 500}, {"batch_size", 32}, {"lr", 3e-3}, {"min_lr", 3e-4}, {"warmup", 50},
                 {"eval_interval", 500}, {"eval_batches", 8}, {"log_interval", 100}, {"seed", 1}}},
      {"task", {{"name", "induction"}}}};
  auto s = run_experiment(cfg, dir.file("run"), {false, false});
  EXPECT_GE(s.val_accuracy, 0.9) << "a 1-block memory mosaic should solve in-context recall within 500 steps";
}

}  // namespace
}  // namespace engram
