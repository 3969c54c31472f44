#include "engram/seq/transformer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engram/core/error.h"

namespace engram {
namespace {

std::shared_ptr<SequenceModel> tiny(const std::string& positions, int64_t block = 32) {
  torch::manual_seed(0);
  return make_model({{"type", "transformer"}, {"vocab_size", 50}, {"n_layer", 2}, {"n_head", 2},
                     {"n_embd", 16}, {"block_size", block}, {"positions", positions}});
}

class TransformerPositions : public ::testing::TestWithParam<std::string> {};

TEST_P(TransformerPositions, StepEqualsForward) {
  auto model = tiny(GetParam());
  model->eval();
  torch::NoGradGuard no_grad;
  auto tokens = torch::randint(50, {3, 20}, torch::kLong);
  auto full = model->forward(tokens);
  auto state = model->init_state(3);
  for (int64_t t = 0; t < 20; ++t) {
    auto logits = model->step(*state, tokens.select(1, t));
    EXPECT_TRUE(torch::allclose(logits, full.select(1, t), 1e-5, 1e-5)) << "position " << t;
  }
  EXPECT_EQ(state->position, 20);
}

TEST_P(TransformerPositions, IsCausal) {
  auto model = tiny(GetParam());
  model->eval();
  torch::NoGradGuard no_grad;
  auto a = torch::randint(50, {1, 16}, torch::kLong);
  auto b = a.clone();
  b.index_put_({0, 10}, (a.index({0, 10}) + 1) % 50);
  auto la = model->forward(a), lb = model->forward(b);
  EXPECT_TRUE(torch::allclose(la.narrow(1, 0, 10), lb.narrow(1, 0, 10), 1e-6, 1e-6)) << "the past ignores the future";
  EXPECT_FALSE(torch::allclose(la.narrow(1, 10, 6), lb.narrow(1, 10, 6))) << "the change is seen from position 10 on";
}

INSTANTIATE_TEST_SUITE_P(Positions, TransformerPositions, ::testing::Values("learned", "rotary"));

TEST(Transformer, CacheGrowsPastItsInitialCapacityWithRotary) {
  auto model = tiny("rotary", 8);  // trained context 8; rotary runs past it
  model->eval();
  torch::NoGradGuard no_grad;
  auto tokens = torch::randint(50, {1, 300}, torch::kLong);  // > the initial cache of min(block, 256)
  auto full = model->forward(tokens);
  auto state = model->init_state(1);
  torch::Tensor logits;
  for (int64_t t = 0; t < 300; ++t) logits = model->step(*state, tokens.select(1, t));
  EXPECT_TRUE(torch::allclose(logits, full.select(1, 299), 1e-4, 1e-4));
}

TEST(Transformer, LearnedPositionsRefuseLongerInputs) {
  auto model = tiny("learned", 8);
  EXPECT_THROW(model->forward(torch::zeros({1, 9}, torch::kLong)), Error);
}

TEST(Transformer, ParameterCountAndTiedHead) {
  auto model = tiny("learned", 32);
  const int64_t d = 16, V = 50, L = 2, T = 32;
  const int64_t per_block = 2 * 2 * d /*ln*/ + (d * 3 * d + 3 * d) + (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d);
  EXPECT_EQ(model->describe().parameters, V * d + T * d + L * per_block + 2 * d);
  // Tied: the output head is the token embedding.
  auto h = torch::randn({1, 1, d});
  auto wte = model->named_parameters()["wte.weight"];
  EXPECT_TRUE(torch::allclose(model->logits(h), torch::matmul(h, wte.t())));
}

TEST(Transformer, ConfigErrorsNameTheKey) {
  try {
    make_model({{"type", "transformer"}, {"n_embd", 30}, {"n_head", 4}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.n_embd"), std::string::npos) << e.what();
  }
  EXPECT_THROW(make_model({{"type", "transformr"}}), Error);
  EXPECT_THROW(make_model({{"type", "transformer"}, {"n_layers", 2}}), Error);
}

}  // namespace
}  // namespace engram
