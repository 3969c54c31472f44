// Checkpoints refuse what would poison a model: non-finite weights are named, not loaded.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/train/checkpoint.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

TEST(Checkpoint, NonFiniteWeightsAreRefusedByName) {
  testing::TempDir dir;
  auto model = make_model({{"type", "transformer"}, {"vocab_size", 16}, {"block_size", 8}, {"n_layer", 1}, {"n_head", 2},
                           {"n_embd", 8}},
                          "model");
  save_checkpoint(dir.file("good.safetensors"), *model, {});
  EXPECT_NO_THROW(load_checkpoint(dir.file("good.safetensors")));
  {
    torch::NoGradGuard no_grad;
    model->named_parameters()["wte.weight"][3][1] = std::numeric_limits<float>::infinity();
  }
  save_checkpoint(dir.file("inf.safetensors"), *model, {});
  try {
    load_checkpoint(dir.file("inf.safetensors"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tensor 'wte.weight' holds non-finite values"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace engram
