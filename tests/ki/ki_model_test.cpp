// The tests that pin the KI recipe down (KI spec §7.3): 1 mask, 2 stop-gradient, 3 no leakage,
// 4 positions, 5 KV cache, 7 flow sanity, 8 adaRMS init (6, the FAST round trip, is in tests/fast),
// plus the AR decoder's cache and the FlowPolicy adapter.
#include "engram/ki/ki_model.h"

#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "engram/ki/flow_matching.h"
#include "engram/ki/ki_mask.h"
#include "engram/ki/ki_policy.h"
#include "engram/policy/sampling.h"
#include "engram/tableworld/prompt.h"
#include "engram/tableworld/scene.h"

namespace engram::ki {
namespace {

using tableworld::Vocabulary;

KiModelConfig tiny() {
  KiModelConfig c;
  c.vocab = Vocabulary().size();
  c.width = 32, c.ffn = 48, c.expert_width = 16, c.expert_ffn = 24, c.depth = 2, c.heads = 2, c.head_dim = 8;
  c.horizon = 4, c.action_dim = 3;
  return c;
}

// Three scenes' observations, FAST blocks of 3, 5 and 1 codes, noisy actions and times.
struct Batch {
  torch::Tensor obs;
  PrefixInput prefix;
  torch::Tensor fast, fast_valid, x, t;
};

Batch batch(int64_t H = 4) {
  const Vocabulary v;
  std::vector<torch::Tensor> rows;
  for (uint64_t s : {1, 2, 3}) {
    const auto scene = tableworld::sample_scene(s, tableworld::Split::kTraining);
    const auto o = tableworld::observation(scene, 0.1 * s, -0.2, 0.05, 0.0);
    rows.push_back(torch::tensor(std::vector<float>(o.begin(), o.end())));
  }
  Batch b;
  b.obs = torch::stack(rows);
  b.prefix = tableworld::prompt_prefix(b.obs, v);
  std::tie(b.fast, b.fast_valid) = tableworld::fast_block({{4, 9, 1}, {7, 7, 2, 0, 5}, {3}}, 8, v);
  torch::manual_seed(0);
  b.x = torch::randn({3, H, 3});
  b.t = torch::tensor({0.3f, 0.7f, 0.95f});
  return b;
}

// Makes every expert gate non-zero, so that the tests see the expert actually reading the backbone.
void open_gates(KiModel& m) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.named_parameters())
    if (p.key().find("ada") != std::string::npos) p.value().normal_(0.0, 0.3);
}

TEST(KiMask, EveryBlockIsAsSpecifiedWithPadding) {
  // Row 0: P has 3 valid of 4, F has 2 valid of 3; row 1: P 4 of 4, F 0 of 3. H = 2.
  const auto pv = torch::tensor({1, 1, 1, 0, 1, 1, 1, 1}, torch::kBool).view({2, 4});
  const auto fv = torch::tensor({1, 1, 0, 0, 0, 0}, torch::kBool).view({2, 3});
  const auto m = ki_masks(pv, fv, 2);
  const auto bb = m.backbone.accessor<bool, 3>();
  const auto aa = m.action.accessor<bool, 3>();
  const int64_t P = 4, F = 3, H = 2;
  for (int64_t b = 0; b < 2; ++b) {
    auto valid = [&](int64_t j) { return j < P ? pv[b][j].item<bool>() : fv[b][j - P].item<bool>(); };
    for (int64_t i = 0; i < P + F; ++i)
      for (int64_t j = 0; j < P + F; ++j) {
        bool expect = valid(i) && valid(j);
        if (i < P) expect = expect && j < P;           // P sees P only
        else expect = expect && (j < P || j <= i);     // F: P and causal F
        EXPECT_EQ(bb[b][i][j], expect) << b << " " << i << " " << j;
      }
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < P + F + H; ++j) {
        const bool expect = j < P ? valid(j) : j >= P + F;  // A sees valid P and all of A, never F
        EXPECT_EQ(aa[b][i][j], expect) << b << " " << i << " " << j;
      }
  }
  // R9 opens exactly the A×F block (valid F keys).
  const auto leak = ki_masks(pv, fv, 2, true).action;
  EXPECT_TRUE(leak[0][0][4].item<bool>());
  EXPECT_TRUE(leak[0][1][5].item<bool>());
  EXPECT_FALSE(leak[0][0][6].item<bool>());
  // Positions: cumsum(valid) − 1 over P and F; A continues after the valid prefix.
  EXPECT_EQ(m.backbone_positions[0][4].item<int64_t>(), 3);  // F_1 right after the 3 valid P tokens
  EXPECT_EQ(m.action_positions[0][0].item<int64_t>(), 3);
  EXPECT_EQ(m.action_positions[1][1].item<int64_t>(), 5);
}

TEST(KiMask, PrefixLmIsBidirectionalOverThePromptAndCausalAfter) {
  const auto valid = torch::tensor({1, 1, 1, 1, 0}, torch::kBool).view({1, 5});
  const auto m = prefix_lm_mask(valid, torch::tensor({2}, torch::kLong));
  EXPECT_TRUE(m[0][0][1].item<bool>());   // prompt token sees the later prompt token
  EXPECT_FALSE(m[0][1][2].item<bool>());  // but not the answer
  EXPECT_TRUE(m[0][3][2].item<bool>());
  EXPECT_FALSE(m[0][2][3].item<bool>());  // causal after the prompt
  EXPECT_FALSE(m[0][3][4].item<bool>());  // padding
}

TEST(KiModel, StopGradientZeroesEveryBackboneGradientOfTheFlowLossAndChangesNoOutput) {
  torch::manual_seed(1);
  KiModel m(tiny());
  open_gates(m);
  const auto b = batch();
  const auto target = torch::randn_like(b.x);
  auto flow_loss = [&](bool sg) {
    m.zero_grad();
    ForwardOptions o;
    o.stop_gradient = sg;
    const auto out = m.forward(b.prefix, b.fast, b.fast_valid, b.x, b.t, o);
    (out.velocity - target).pow(2).mean().backward();
    return out;
  };
  const auto with_sg = flow_loss(true);
  for (const auto& p : m.backbone_parameters()) {
    if (p.grad().defined()) {
      EXPECT_EQ(p.grad().abs().max().item<float>(), 0.0f);
    }
  }
  double expert_grad = 0;
  for (const auto& p : m.expert_parameters())
    if (p.grad().defined()) expert_grad += p.grad().abs().sum().item<double>();
  EXPECT_GT(expert_grad, 0);
  const auto without = flow_loss(false);
  double backbone_grad = 0;
  for (const auto& p : m.backbone_parameters())
    if (p.grad().defined()) backbone_grad += p.grad().abs().sum().item<double>();
  EXPECT_GT(backbone_grad, 0);
  EXPECT_TRUE(torch::equal(with_sg.velocity, without.velocity));
  EXPECT_TRUE(torch::equal(with_sg.logits, without.logits));
}

TEST(KiModel, NoLeakageEitherWay) {
  torch::manual_seed(2);
  KiModel m(tiny());
  open_gates(m);
  torch::NoGradGuard no_grad;
  const auto b = batch();
  const auto base = m.forward(b.prefix, b.fast, b.fast_valid, b.x, b.t);
  // Other FAST ids: the expert's output does not move.
  const auto other_fast = torch::where(b.fast_valid, (b.fast + 7) % m.config().vocab, b.fast);
  const auto f = m.forward(b.prefix, other_fast, b.fast_valid, b.x, b.t);
  EXPECT_TRUE(torch::equal(base.velocity, f.velocity));
  EXPECT_FALSE(torch::equal(base.logits, f.logits));
  // Other noisy actions: the backbone's valid P and F rows do not move.
  const auto a = m.forward(b.prefix, b.fast, b.fast_valid, b.x + 1.0, b.t);
  const auto rows = torch::cat({b.prefix.valid, b.fast_valid}, 1).unsqueeze(-1);
  EXPECT_TRUE(torch::equal(base.logits * rows, a.logits * rows));
  EXPECT_FALSE(torch::equal(base.velocity, a.velocity));
  // With R9's leak the expert does read F.
  ForwardOptions leak;
  leak.action_sees_fast = true;
  EXPECT_FALSE(torch::equal(m.forward(b.prefix, b.fast, b.fast_valid, b.x, b.t, leak).velocity,
                            m.forward(b.prefix, other_fast, b.fast_valid, b.x, b.t, leak).velocity));
}

TEST(KiModel, ActionPositionsAndOutputsAreTheSameWithAndWithoutTheFastBlock) {
  torch::manual_seed(3);
  KiModel m(tiny());
  open_gates(m);
  torch::NoGradGuard no_grad;
  const auto b = batch();
  const auto with_f = ki_masks(b.prefix.valid, b.fast_valid, 4), without = ki_masks(b.prefix.valid, torch::zeros({3, 0}, torch::kBool), 4);
  EXPECT_TRUE(torch::equal(with_f.action_positions, without.action_positions));
  // Training (F present) and inference (cached prefix, no F) give the same velocity.
  const auto train = m.forward(b.prefix, b.fast, b.fast_valid, b.x, b.t).velocity;
  const auto infer = m.velocity(m.encode_prefix(b.prefix), b.x, b.t);
  EXPECT_LT((train - infer).abs().max().item<float>(), 1e-5);
}

TEST(KiModel, CachedTenStepSamplingEqualsFullRecomputation) {
  torch::manual_seed(4);
  KiModel m(tiny());
  open_gates(m);
  torch::NoGradGuard no_grad;
  const auto b = batch();
  const auto cache = m.encode_prefix(b.prefix);
  const auto empty_ids = torch::zeros({3, 0}, torch::kLong);
  const auto empty = torch::zeros({3, 0}, torch::kBool);
  const auto cached = euler_sample([&](const torch::Tensor& x, const torch::Tensor& t) { return m.velocity(cache, x, t); }, b.x, 10);
  const auto full = euler_sample(
      [&](const torch::Tensor& x, const torch::Tensor& t) { return m.forward(b.prefix, empty_ids, empty, x, t).velocity; }, b.x, 10);
  EXPECT_LT((cached - full).abs().max().item<float>(), 1e-5);
  EXPECT_GT((cached - b.x).abs().max().item<float>(), 1e-3);  // the integration did something
}

TEST(KiModel, CachedFastDecodingEqualsTeacherForcedLogits) {
  torch::manual_seed(5);
  KiModel m(tiny());
  torch::NoGradGuard no_grad;
  const auto b = batch();
  const auto full = m.forward(b.prefix, b.fast, b.fast_valid, torch::Tensor(), torch::Tensor()).logits;
  auto cache = m.encode_prefix(b.prefix);
  const int64_t P = b.prefix.ids.size(1);
  const auto n_prefix = b.prefix.valid.sum(1);
  // The first code is predicted at the last valid prefix position, code k+1 at F_k.
  const auto first = torch::matmul(cache.last_hidden, m.embedding_weight().t());
  for (int64_t r = 0; r < 3; ++r)
    EXPECT_LT((first[r] - full[r][n_prefix[r].item<int64_t>() - 1]).abs().max().item<float>(), 1e-4);
  for (int64_t k = 0; k < 3; ++k) {  // every row has at least 3 valid F tokens (codes + | + EOS)
    const auto step = m.decode_step(cache, b.fast.select(1, k));
    EXPECT_LT((step - full.select(1, P + k)).abs().max().item<float>(), 1e-4) << k;
  }
}

// Recipe R10: no expert; the action tokens go through the backbone's own layers, so the flow loss
// trains backbone weights directly, and the mask, the cache and the positions hold as for KI.
TEST(KiModel, TransfusionLikeModelDenoisesWithTheBackbonesOwnWeights) {
  torch::manual_seed(6);
  auto c = tiny();
  c.shared_weights = true;
  KiModel m(c);
  for (const auto& p : m.named_parameters()) EXPECT_EQ(p.key().rfind("expert0", 0), std::string::npos) << p.key();
  EXPECT_EQ(m.expert_parameters().size(), 8u);  // in, out and the two time layers, weight and bias each
  EXPECT_TRUE(m.expert_gates(torch::zeros({1})).empty());
  const auto b = batch();
  const auto target = torch::randn_like(b.x);
  // Even with the backbone's keys and values detached, the flow loss reaches every projection and
  // feed-forward of every backbone layer, through the action tokens' own pass, and the time MLP.
  const auto out = m.forward(b.prefix, b.fast, b.fast_valid, b.x, b.t);
  (out.velocity - target).pow(2).mean().backward();
  for (const auto& p : m.named_parameters()) {
    const auto& k = p.key();
    const bool layer_weight = k.rfind("backbone", 0) == 0 && k.find("_embed") == std::string::npos &&
                              k.find("object_xy") == std::string::npos;
    if (layer_weight || k.rfind("expert_time", 0) == 0) {
      EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0) << k << " gets no flow gradient";
    }
  }

  torch::NoGradGuard no_grad;
  // Cached inference (no F) = the training pass; other F ids leave the velocity alone; other actions
  // leave the backbone's rows alone.
  const auto cached = m.velocity(m.encode_prefix(b.prefix), b.x, b.t);
  EXPECT_LT((out.velocity - cached).abs().max().item<float>(), 1e-5);
  EXPECT_GT((cached - m.velocity(m.encode_prefix(b.prefix), b.x, b.t * 0.5)).abs().max().item<float>(), 1e-4);
  const auto other_fast = torch::where(b.fast_valid, (b.fast + 7) % c.vocab, b.fast);
  EXPECT_TRUE(torch::equal(out.velocity, m.forward(b.prefix, other_fast, b.fast_valid, b.x, b.t).velocity));
  const auto rows = torch::cat({b.prefix.valid, b.fast_valid}, 1).unsqueeze(-1);
  EXPECT_TRUE(torch::equal(out.logits * rows, m.forward(b.prefix, b.fast, b.fast_valid, b.x + 1, b.t).logits * rows));
  // The weights are shared: changing the backbone's last feed-forward changes the velocity.
  for (auto& p : m.named_parameters())
    if (p.key() == "backbone1_down.weight") p.value().add_(0.5);
  EXPECT_FALSE(torch::equal(out.velocity, m.forward(b.prefix, b.fast, b.fast_valid, b.x, b.t).velocity));
}

TEST(KiFlow, EulerLandsOnAPointMassAndTheTimeSamplerHasTheStatedLaw) {
  // The exact velocity towards a single data point a: u(x, t) = (x − a)/t.
  const auto a = torch::tensor({0.5f, -1.25f, 2.0f}).view({1, 1, 3});
  torch::manual_seed(6);
  const auto noise = torch::randn({4, 1, 3});
  const auto x = euler_sample([&](const torch::Tensor& xt, const torch::Tensor& t) { return (xt - a) / t.view({-1, 1, 1}); }, noise, 10);
  EXPECT_LT((x - a).abs().max().item<float>(), 1e-5);
  auto gen = at::detail::createCPUGenerator(7);
  const auto t = sample_flow_time(200000, gen);
  EXPECT_NEAR(t.mean().item<double>(), 0.600, 0.01);
  EXPECT_GE(t.min().item<float>(), 0.001f);
  EXPECT_LE(t.max().item<float>(), 1.0f);
}

TEST(KiModel, EveryExpertBlockStartsSwitchedOff) {
  torch::manual_seed(8);
  KiModel m(tiny());
  torch::NoGradGuard no_grad;
  for (const auto& g : m.expert_gates(torch::tensor({0.1f, 0.9f}))) EXPECT_EQ(g.abs().max().item<float>(), 0.0f);
  // So at initialisation the velocity cannot depend on the observation.
  const auto b = batch();
  auto other = b.prefix;
  other.object_xy = other.object_xy + 0.5;
  EXPECT_TRUE(torch::equal(m.velocity(m.encode_prefix(b.prefix), b.x, b.t), m.velocity(m.encode_prefix(other), b.x, b.t)));
}

TEST(KiPolicy, IsAFlowPolicyThatEncodesEachObservationOnce) {
  torch::manual_seed(9);
  auto model = std::make_shared<KiModel>(tiny());
  open_gates(*model);
  KiPolicy policy(model);
  torch::NoGradGuard no_grad;
  const auto b = batch();
  const auto chunk = sample_chunk(policy, b.obs, b.x, 5);
  EXPECT_EQ(policy.prefix_encodings(), 1);
  // Against the network's own convention: τ = 1 − t and the velocity's sign.
  const auto direct = euler_sample([&](const torch::Tensor& x, const torch::Tensor& t) {
    return model->velocity(model->encode_prefix(b.prefix), x, t);
  }, b.x, 5);
  EXPECT_LT((chunk - direct).abs().max().item<float>(), 1e-5);
  KiPolicy uncached(model, false);
  EXPECT_LT((sample_chunk(uncached, b.obs, b.x, 5) - chunk).abs().max().item<float>(), 1e-5);
  // RTC's guidance differentiates through the cached path.
  RtcOptions rtc;
  const auto guided = rtc_sample_chunk(policy, b.obs, b.x, chunk.slice(1, 1), 1, 1, rtc);
  EXPECT_EQ(guided.sizes(), chunk.sizes());
  EXPECT_TRUE(torch::isfinite(guided).all().item<bool>());
}

}  // namespace
}  // namespace engram::ki

namespace engram::ki {
namespace {

// The expert sees the observation only through the backbone's keys and values: trained on chunks
// that repeat the first object's position, it must learn to read that position from the prefix.
TEST(KiModel, TheExpertLearnsToReadTheObservationThroughTheBackbone) {
  torch::manual_seed(10);
  auto c = tiny();
  KiModel m(c);
  torch::optim::Adam adam(m.parameters(), torch::optim::AdamOptions(3e-3));
  const Vocabulary v;
  auto batch_of = [&](uint64_t seed, int64_t B) {
    std::vector<torch::Tensor> rows;
    for (int64_t b = 0; b < B; ++b) {
      const auto scene = tableworld::sample_scene(seed * 1000 + static_cast<uint64_t>(b), tableworld::Split::kDirect);
      const auto o = tableworld::observation(scene, scene.start_x, scene.start_y, 0, 0);
      rows.push_back(torch::tensor(std::vector<float>(o.begin(), o.end())));
    }
    const auto obs = torch::stack(rows);
    const auto target = torch::stack({obs.select(1, 6), obs.select(1, 7), torch::zeros({B})}, 1).unsqueeze(1).expand({B, c.horizon, 3});
    return std::make_pair(obs, target.contiguous());
  };
  auto gen = at::detail::createCPUGenerator(11);
  const auto empty_ids = torch::zeros({64, 0}, torch::kLong);
  const auto empty = torch::zeros({64, 0}, torch::kBool);
  for (int step = 0; step < 300; ++step) {
    const auto [obs, a] = batch_of(static_cast<uint64_t>(step), 64);
    const auto eps = torch::randn(a.sizes(), gen, torch::kFloat32);
    const auto t = sample_flow_time(64, gen).view({-1, 1, 1});
    ForwardOptions o;
    o.stop_gradient = false;
    const auto out = m.forward(tableworld::prompt_prefix(obs, v), empty_ids, empty, t * eps + (1 - t) * a, t.view({-1}), o);
    const auto loss = (out.velocity - (eps - a)).pow(2).mean();
    adam.zero_grad();
    loss.backward();
    adam.step();
  }
  torch::NoGradGuard no_grad;
  const auto [obs, a] = batch_of(999, 64);
  const auto cache = m.encode_prefix(tableworld::prompt_prefix(obs, v));
  const auto x = euler_sample([&](const torch::Tensor& xt, const torch::Tensor& t) { return m.velocity(cache, xt, t); },
                              torch::randn(a.sizes(), gen, torch::kFloat32), 10);
  const double mse = (x - a).pow(2).mean().item<double>();
  const double blind = 2 * a.var(0).mean().item<double>();  // what sampling the marginal would give
  EXPECT_LT(mse, 0.25 * blind) << "mse " << mse << ", an observation-blind sampler ≈ " << blind;
}

}  // namespace
}  // namespace engram::ki
