// The ATLAS model (spec §9) behind SequenceModel: incremental decoding equals the full forward at
// the training chunk size, causality, and outer gradients through the inner loop (gate tests 7, 8).
#include <gtest/gtest.h>

#include "engram/core/error.h"
#include "engram/seq/model.h"

namespace engram {
namespace {

nlohmann::json tiny(nlohmann::json overrides) {
  nlohmann::json c = {{"type", "atlas"}, {"vocab_size", 23}, {"n_layer", 2}, {"n_head", 2}, {"n_embd", 8},
                      {"window", 3}, {"chunk", 4}, {"ns_steps", 2}, {"mode", "P"}};
  if (overrides.is_object()) c.update(overrides);
  return c;
}

const std::vector<nlohmann::json> kVariants = {
    nlohmann::json::object(),                                             // ATLAS: mlp, poly-2, muon, mode P
    {{"mode", "B"}},                                                      // block steps
    {{"optimizer", "momentum"}, {"feature_map", "identity"}, {"window", 1}},  // Titans-like
    {{"memory", "linear"}, {"optimizer", "gd"}, {"objective", "dot"}, {"feature_map", "identity"}, {"window", 1},
     {"memory_norm", false}},                                             // gated linear attention
    {{"memory", "linear"}, {"optimizer", "gd"}, {"retention", "none"}, {"feature_map", "identity"}, {"window", 1},
     {"memory_norm", false}, {"conv", 0}},                                // DeltaNet
};

TEST(Atlas, StepEqualsForwardAndIsCausal) {
  for (const auto& v : kVariants) {
    torch::manual_seed(5);
    auto model = make_model(tiny(v));
    model->eval();
    torch::NoGradGuard no_grad;
    auto tokens = torch::randint(0, 23, {2, 13});
    auto full = model->forward(tokens);
    auto state = model->init_state(2);
    for (int64_t t = 0; t < 13; ++t)
      ASSERT_TRUE(torch::allclose(model->step(*state, tokens.select(1, t)), full.select(1, t), 1e-4, 1e-4))
          << v.dump() << " t " << t;
    auto changed = tokens.clone();
    changed[0][9] = (tokens[0][9].item<int64_t>() + 1) % 23;
    auto other = model->forward(changed);
    EXPECT_TRUE(torch::allclose(other.narrow(1, 0, 9), full.narrow(1, 0, 9), 1e-6, 1e-6)) << v.dump();
    EXPECT_FALSE(torch::allclose(other.select(1, 9)[0], full.select(1, 9)[0], 1e-6, 1e-6)) << v.dump();
  }
}

TEST(Atlas, OuterGradientsReachEveryParameter) {
  for (const auto& v : {kVariants[0], kVariants[1]}) {
    torch::manual_seed(6);
    auto model = make_model(tiny(v));
    auto tokens = torch::randint(0, 23, {2, 10});
    model->forward(tokens).logsumexp(-1).mean().backward();
    for (const auto& p : model->named_parameters())
      EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << p.key() << " gets no gradient in " << v.dump();
  }
}

TEST(Atlas, OuterGradientsMatchFiniteDifferences) {
  torch::manual_seed(7);
  auto model = make_model(tiny({{"n_embd", 4}, {"n_head", 1}, {"n_layer", 1}, {"chunk", 2}}));
  model->to(torch::kFloat64);
  auto tokens = torch::tensor({{3, 17, 5}}, torch::kInt64);
  auto loss_of = [&] { return model->forward(tokens).logsumexp(-1).sum(); };
  model->zero_grad();
  loss_of().backward();
  torch::NoGradGuard no_grad;
  for (const auto& p : model->named_parameters()) {
    auto flat = p.value().view({-1});
    auto grad = p.value().grad().view({-1});
    for (int64_t i = 0; i < std::min<int64_t>(flat.numel(), 3); ++i) {
      const double h = 1e-6, keep = flat[i].item<double>();
      flat[i] = keep + h;
      const double up = loss_of().item<double>();
      flat[i] = keep - h;
      const double down = loss_of().item<double>();
      flat[i] = keep;
      EXPECT_NEAR(grad[i].item<double>(), (up - down) / (2 * h), 1e-6 + 1e-4 * std::abs(grad[i].item<double>()))
          << p.key() << "[" << i << "]";
    }
  }
}

TEST(Atlas, ADivergingMemoryIsReportedByLayerHeadAndPosition) {
  torch::manual_seed(8);
  // One layer: with two, step() can meet layer 1's divergence at an earlier token than forward(),
  // which finishes layer 0 over the whole sequence first.
  auto model = make_model(tiny({{"memory", "linear"}, {"optimizer", "gd"}, {"feature_map", "identity"}, {"window", 1},
                                {"memory_norm", false}, {"retention", "none"}, {"eta_max", 100.0}, {"n_layer", 1}}));
  model->eval();
  torch::NoGradGuard no_grad;
  const auto tokens = torch::randint(0, 23, {2, 200});
  std::string whole, stepped;
  try {
    model->forward(tokens);
  } catch (const Error& e) {
    whole = e.what();
  }
  ASSERT_FALSE(whole.empty()) << "a step size of 100 did not diverge";
  EXPECT_NE(whole.find("atlas: the memory of layer 0, head"), std::string::npos) << whole;
  EXPECT_NE(whole.find("diverged at position "), std::string::npos) << whole;
  EXPECT_NE(whole.find("eta_max"), std::string::npos) << whole;
  // Token by token (one-token calls), the position still counts from the start of the stream. Near
  // overflow the chunked and per-token arithmetic part ways, so the token that first reaches inf may
  // differ by a few.
  auto state = model->init_state(2);
  try {
    for (int64_t t = 0; t < 200; ++t) model->step(*state, tokens.select(1, t));
  } catch (const Error& e) {
    stepped = e.what();
  }
  auto position = [](const std::string& message) {
    const auto at = message.find("diverged at position ");
    return at == std::string::npos ? -1 : std::stol(message.substr(at + 21));
  };
  ASSERT_GT(position(whole), 4) << whole;
  EXPECT_NEAR(position(stepped), position(whole), 4) << stepped << "\n" << whole;
}

TEST(Atlas, RefusesUnknownKeysAndChoices) {
  EXPECT_THROW(make_model(tiny({{"optimiser", "muon"}})), std::exception);
  EXPECT_THROW(make_model(tiny({{"optimizer", "adam"}})), std::exception);
  EXPECT_THROW(make_model(tiny({{"theta_init", 1.0}})), std::exception);  // the gate is a sigmoid
}

TEST(Atlas, ThetaInitSetsTheMomentumGate) {
  auto model = make_model(tiny({{"theta_init", 0.2}}));
  const auto bias = model->named_parameters()["blocks.0.gates.bias"];  // [γ, η, α, θ] × heads
  const auto theta = torch::sigmoid(bias.view({4, -1})[3]);
  EXPECT_TRUE(torch::allclose(theta, torch::full_like(theta, 0.2), 1e-6, 1e-6)) << theta;
}

}  // namespace
}  // namespace engram
