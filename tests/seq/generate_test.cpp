#include "engram/seq/generate.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/runtime/decoder.h"

namespace engram {
namespace {

TEST(PerPositionLoss, AveragesTheLossOfEachWindowPosition) {
  torch::manual_seed(0);
  auto model = make_model({{"type", "mosaic"}, {"vocab_size", 30}, {"n_layer", 1}, {"n_head", 2}, {"n_embd", 8}});
  std::vector<int64_t> ids;
  for (int i = 0; i < 3 * 9 + 4; ++i) ids.push_back((i * 7) % 30);
  const auto curve = per_position_loss(*model, ids, 8, 3, 2);  // 3 windows of 9 tokens; the tail is unused
  ASSERT_EQ(curve.size(), 8u);
  double total = 0;
  for (double c : curve) total += c;
  double expected = 0;
  for (int w = 0; w < 3; ++w)
    expected += score_sequence(*model, std::vector<int64_t>(ids.begin() + 9 * w, ids.begin() + 9 * (w + 1))).total_nats;
  EXPECT_NEAR(total, expected / 3, 1e-5);  // float32 model, batched vs one by one
  EXPECT_THROW(per_position_loss(*model, ids, 40, 3), Error);  // no whole window
}

// The runtime decoder, LibTorch's step() and the full forward per token give the same greedy text,
// and the runtime's sampling at a temperature is the same draw as step()'s.
TEST(Generate, RuntimeStepAndNoCacheAgree) {
  torch::manual_seed(0);
  for (const char* type : {"transformer", "mosaic", "atlas"}) {
    auto model = make_model({{"type", type}, {"vocab_size", 30}, {"n_layer", 2}, {"n_head", 2}, {"n_embd", 16}, {"block_size", 64}});
    ASSERT_TRUE(has_decoder(*model)) << type;  // so the first path is the runtime's
    SampleOptions o;
    o.max_new_tokens = 20;
    o.temperature = 0;
    auto runtime = generate(*model, {1, 2, 3}, o);
    o.use_runtime = false;
    EXPECT_EQ(runtime, generate(*model, {1, 2, 3}, o)) << type;
    o.use_cache = false;
    EXPECT_EQ(runtime, generate(*model, {1, 2, 3}, o)) << type;
    o.use_cache = true;
    o.temperature = 1;
    o.top_k = 10;
    o.seed = 5;
    auto drawn = generate(*model, {1, 2, 3}, o);
    o.use_runtime = true;
    EXPECT_EQ(drawn, generate(*model, {1, 2, 3}, o)) << type;
  }
}

}  // namespace
}  // namespace engram
