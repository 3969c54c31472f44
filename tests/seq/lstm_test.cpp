#include <gtest/gtest.h>

#include "engram/core/error.h"
#include "engram/seq/model.h"

namespace engram {
namespace {

std::shared_ptr<SequenceModel> tiny_lstm() {
  torch::manual_seed(3);
  return make_model({{"type", "lstm"}, {"vocab_size", 30}, {"n_layer", 2}, {"n_embd", 24}});
}

TEST(Lstm, StepEqualsForward) {
  auto model = tiny_lstm();
  model->eval();
  torch::NoGradGuard no_grad;
  auto tokens = torch::randint(0, 30, {3, 17});
  auto full = model->forward(tokens);
  auto state = model->init_state(3);
  for (int64_t t = 0; t < 17; ++t)
    EXPECT_TRUE(torch::allclose(model->step(*state, tokens.select(1, t)), full.select(1, t), 1e-5, 1e-5)) << "t " << t;
}

TEST(Lstm, IsCausal) {
  auto model = tiny_lstm();
  model->eval();
  torch::NoGradGuard no_grad;
  auto a = torch::randint(0, 30, {1, 12});
  auto b = a.clone();
  b[0][8] = (a[0][8].item<int64_t>() + 1) % 30;
  auto la = model->forward(a), lb = model->forward(b);
  EXPECT_TRUE(torch::equal(la.narrow(1, 0, 8), lb.narrow(1, 0, 8)));
  EXPECT_FALSE(torch::equal(la.narrow(1, 8, 1), lb.narrow(1, 8, 1)));
}

TEST(Lstm, RefusesUnknownKeys) {
  EXPECT_THROW(make_model({{"type", "lstm"}, {"n_head", 4}}), Error);
}

}  // namespace
}  // namespace engram
