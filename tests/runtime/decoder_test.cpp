#include "engram/runtime/decoder.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/seq/model.h"

namespace engram {
namespace {

// Feeds the same 200 tokens to the model's LibTorch step() in double precision and to its decoder.
// Every step's logits must agree to 1e-5 plus four times the float LibTorch path's own error at
// that step: the ATLAS family's inner loop amplifies rounding (over a hundred steps LibTorch's float
// path itself drifts 1e-5 from its double), a wrong operation shows as far more. `gain` multiplies
// every matrix but the embedding, so that each layer's contribution to the logits is large enough
// for a small error inside it to show.
void expect_same_logits(const nlohmann::json& config, int64_t tokens = 200, double gain = 1) {
  SCOPED_TRACE(config.dump());
  torch::manual_seed(11);
  auto model = make_model(config);
  {  // move every per-head scalar off its initial value, so that each one matters
    torch::NoGradGuard no_grad;
    for (auto& p : model->named_parameters()) {
      const auto& name = p.key();
      auto ends_with = [&](const std::string& tail) {
        return name.size() >= tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0;
      };
      // ATLAS's convolution starts as the identity (every history tap 0) and its memory gain at 0
      if (p.value().dim() == 1 || ends_with(".conv") || ends_with(".memory_gain"))
        p.value().add_(torch::rand_like(p.value()) * 0.2 - 0.1);
      else if (p.value().dim() == 2 && name != "wte.weight")
        p.value().mul_(gain);
    }
  }
  model->eval();
  torch::NoGradGuard no_grad;
  auto decoder = make_decoder(*model);
  auto ids = torch::randint(model->vocab_size(), {tokens}, torch::kLong);
  auto state32 = model->init_state(1);
  std::vector<torch::Tensor> float_logits;
  for (int64_t t = 0; t < tokens; ++t)
    float_logits.push_back(model->step(*state32, ids.narrow(0, t, 1)).squeeze(0).to(torch::kDouble));
  model->to(torch::kDouble);
  auto state = model->init_state(1);
  for (int64_t t = 0; t < tokens; ++t) {
    auto ref = model->step(*state, ids.narrow(0, t, 1)).squeeze(0);
    const float* got = decoder->step(ids[t].item<int64_t>());
    auto fast = torch::from_blob(const_cast<float*>(got), {decoder->vocab_size()}, torch::kFloat).to(torch::kDouble);
    const double error = (fast - ref).abs().max().item<double>();
    const double float_error = (float_logits[t] - ref).abs().max().item<double>();
    ASSERT_LE(error, 1e-5 + 4 * float_error) << "position " << t << " (LibTorch in float: " << float_error << ")";
  }
  EXPECT_EQ(decoder->position(), tokens);
  // reset() starts a new sequence: the first logits come back exactly
  auto first = model->step(*model->init_state(1), ids.narrow(0, 0, 1)).squeeze(0);
  decoder->reset();
  auto again = torch::from_blob(const_cast<float*>(decoder->step(ids[0].item<int64_t>())), {decoder->vocab_size()})
                   .to(torch::kDouble);
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

TEST(Decoder, AtlasMatchesStep) {
  // the default: MLP memory, polynomial features, muon, mode B (one step per block of 16)
  expect_same_logits({{"type", "atlas"}, {"vocab_size", 61}, {"n_layer", 2}, {"n_head", 2}, {"n_embd", 16}}, 200, 8);
}

TEST(Decoder, AtlasFamilyMatchesStep) {
  const nlohmann::json base = {{"type", "atlas"}, {"vocab_size", 40}, {"n_layer", 2}, {"n_head", 2}, {"n_embd", 12}};
  auto check = [&](const nlohmann::json& changes, double gain = 3) {
    auto c = base;
    c.update(changes);
    expect_same_logits(c, 120, gain);
  };
  // ATLAS paper-faithful: a step per token, chunk 4, window 3, degree 3, no retention gate
  check({{"mode", "P"}, {"chunk", 4}, {"window", 3}, {"degree", 3}, {"retention", "none"}});
  // OmegaNet (gd, dual form in training) and Titans (momentum, identity features, window 1, no conv).
  // OmegaNet at gain 1: at 3 its memory's LayerNorm sees predictions of nearly equal entries, and
  // both paths' rounding is amplified past the tolerance (the float LibTorch path's by 10× when it
  // materialises the weights as the decoder does).
  check({{"mode", "P"}, {"optimizer", "gd"}, {"window", 2}, {"chunk", 5}}, 1);
  check({{"mode", "P"}, {"optimizer", "momentum"}, {"feature_map", "identity"}, {"window", 1},
                           {"conv", 0}});
  // DeltaNet and gated linear attention: linear memory, no LayerNorm; conv of width 1
  check({{"memory", "linear"}, {"feature_map", "identity"}, {"optimizer", "gd"}, {"mode", "P"},
                           {"window", 1}, {"retention", "none"}, {"memory_norm", false}, {"conv", 1}});
  check({{"memory", "linear"}, {"feature_map", "identity"}, {"optimizer", "gd"}, {"mode", "P"},
                           {"window", 1}, {"objective", "dot"}, {"memory_norm", false}});
  // mode B with a window longer than the block, muon on a tall matrix (identity features: W2 is 12 × 6)
  check({{"chunk", 3}, {"window", 5}, {"feature_map", "identity"}, {"memory_expansion", 2}});
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
