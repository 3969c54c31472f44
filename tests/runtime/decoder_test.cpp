#include "engram/runtime/decoder.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/seq/model.h"

namespace engram {
namespace {

// Feeds the same 200 tokens to the model's LibTorch step() and to its decoder; every step's logits
// must agree to 1e-5.
void expect_same_logits(const nlohmann::json& config, int64_t tokens = 200) {
  SCOPED_TRACE(config.dump());
  torch::manual_seed(11);
  auto model = make_model(config);
  {  // move every per-head scalar off its initial value, so that each one matters
    torch::NoGradGuard no_grad;
    for (auto& p : model->named_parameters())
      if (p.value().dim() == 1) p.value().add_(torch::rand_like(p.value()) * 0.2 - 0.1);
  }
  model->eval();
  torch::NoGradGuard no_grad;
  auto decoder = make_decoder(*model);
  auto state = model->init_state(1);
  auto ids = torch::randint(model->vocab_size(), {tokens}, torch::kLong);
  double worst = 0;
  for (int64_t t = 0; t < tokens; ++t) {
    auto ref = model->step(*state, ids.narrow(0, t, 1)).squeeze(0);
    const float* got = decoder->step(ids[t].item<int64_t>());
    auto fast = torch::from_blob(const_cast<float*>(got), {decoder->vocab_size()}, torch::kFloat);
    ASSERT_TRUE(torch::allclose(fast, ref, 1e-5, 1e-5))
        << "position " << t << ": max difference " << (fast - ref).abs().max().item<double>();
    worst = std::max(worst, (fast - ref).abs().max().item<double>());
  }
  EXPECT_EQ(decoder->position(), tokens);
  // reset() starts a new sequence: the first logits come back exactly
  auto first = model->step(*model->init_state(1), ids.narrow(0, 0, 1)).squeeze(0);
  decoder->reset();
  auto again = torch::from_blob(const_cast<float*>(decoder->step(ids[0].item<int64_t>())), {decoder->vocab_size()});
  EXPECT_TRUE(torch::allclose(again, first, 1e-5, 1e-5));
}

TEST(Decoder, TransformerLearnedPositionsMatchesStep) {
  expect_same_logits({{"type", "transformer"}, {"vocab_size", 97}, {"n_layer", 2}, {"n_head", 4}, {"n_embd", 32},
                      {"block_size", 256}});
}

TEST(Decoder, TransformerRotaryAttentionOnlyNoBiasMatchesStep) {
  expect_same_logits({{"type", "transformer"}, {"vocab_size", 61}, {"n_layer", 3}, {"n_head", 2}, {"n_embd", 24},
                      {"block_size", 64}, {"positions", "rotary"}, {"mlp_ratio", 0}, {"bias", false}});
}

TEST(Decoder, MosaicWithPersistentMemoryMatchesStep) {
  expect_same_logits({{"type", "mosaic"}, {"vocab_size", 97}, {"n_layer", 2}, {"n_head", 4}, {"n_embd", 32}});
}

TEST(Decoder, MosaicVariantsMatchStep) {
  // two slot banks, no learned value mix; the nano variant with biases and the MLP; C-mem only
  expect_same_logits({{"type", "mosaic"}, {"vocab_size", 50}, {"n_layer", 2}, {"n_head", 2}, {"n_embd", 20},
                      {"pmem_count", 2}, {"pmem_size", 37}, {"value_mix", "shift"}}, 120);
  expect_same_logits({{"type", "mosaic"}, {"vocab_size", 50}, {"n_layer", 2}, {"n_head", 2}, {"n_embd", 16},
                      {"variant", "nano"}, {"bias", true}, {"ffn", "mlp"}}, 120);
  expect_same_logits({{"type", "mosaic"}, {"vocab_size", 50}, {"n_layer", 1}, {"n_head", 1}, {"n_embd", 12},
                      {"ffn", "none"}}, 120);
}

TEST(Decoder, RefusesWhatItCannotRun) {
  auto lstm = make_model({{"type", "lstm"}, {"vocab_size", 20}, {"n_layer", 1}, {"n_embd", 8}});
  EXPECT_THROW(make_decoder(*lstm), Error);
  auto model = make_model({{"type", "transformer"}, {"vocab_size", 20}, {"n_layer", 1}, {"n_head", 1}, {"n_embd", 8},
                           {"block_size", 4}});
  auto decoder = make_decoder(*model);
  EXPECT_THROW(decoder->step(20), Error);
  EXPECT_THROW(decoder->step(-1), Error);
  for (int i = 0; i < 4; ++i) decoder->step(1);
  EXPECT_THROW(decoder->step(1), Error);  // past the learned positions, like step()
}

}  // namespace
}  // namespace engram
