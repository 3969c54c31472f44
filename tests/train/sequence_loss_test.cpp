// Training's loss through the output head equals the loss of the model's logits.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engram/seq/model.h"
#include "engram/train/sequence_job.h"

namespace engram {
namespace {

// Both ways, for a model whose head scales its logits (the library mosaic: 1/√d) and one whose head
// does not, with and without a mask: the loss and every parameter's gradient.
TEST(SequenceLoss, ThroughTheHeadEqualsThroughTheLogits) {
  const nlohmann::json configs[] = {
      {{"type", "mosaic"}, {"variant", "library"}, {"n_layer", 1}, {"n_head", 2}, {"n_embd", 16}, {"vocab_size", 50},
       {"block_size", 24}, {"pmem_size", 8}},
      {{"type", "transformer"}, {"n_layer", 1}, {"n_head", 2}, {"n_embd", 16}, {"vocab_size", 50}, {"block_size", 24}}};
  for (const auto& config : configs) {
    torch::manual_seed(3);
    auto model = make_model(config);
    model->eval();  // no dropout: the two ways must see the same network
    ASSERT_EQ(model->head().scale == 1.0, config["type"] == "transformer") << config;
    auto x = torch::randint(50, {3, 25}, torch::kLong);
    auto inputs = x.narrow(1, 0, 24), targets = x.narrow(1, 1, 24);
    for (const bool masked : {false, true}) {
      const auto mask = masked ? (torch::rand({3, 24}) < 0.5).to(torch::kFloat) : torch::Tensor();
      const auto grads = [&](const torch::Tensor& loss) {
        model->zero_grad();
        loss.backward();
        std::vector<torch::Tensor> g;
        for (const auto& p : model->parameters()) g.push_back(p.grad().clone());
        return g;
      };
      auto want = sequence_loss(model->forward(inputs), targets, mask);
      const auto want_grads = grads(want);
      auto got = sequence_loss(*model, inputs, targets, mask);
      const auto got_grads = grads(got);
      EXPECT_NEAR(got.item<double>(), want.item<double>(), 1e-5) << config << " masked " << masked;
      for (size_t i = 0; i < got_grads.size(); ++i)
        EXPECT_TRUE(torch::allclose(got_grads[i], want_grads[i], 1e-4, 1e-6)) << config << " parameter " << i;
    }
  }
}

}  // namespace
}  // namespace engram
