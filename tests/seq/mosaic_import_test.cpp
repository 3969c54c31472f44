// `engram import` against PyTorch itself: tests/reference/nano_mosaic.py (the nanoGPT-style mosaic
// written from papers/memory-mosaics-import.md) saves a randomised model with torch.save and the
// logits PyTorch computes; the imported engram model must give the same logits.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "engram/core/error.h"
#include "engram/seq/mosaic_import.h"
#include "support/shell.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

const std::string kPython = "/usr/bin/python3";  // Debian's, which has python3-torch (scripts/setup-deps)
const std::string kReference = ENGRAM_SOURCE_DIR "/tests/reference/nano_mosaic.py";

// Writes model.pt, tokens.txt and logits.f32 into `dir` with the reference script.
void write_reference(const testing::TempDir& dir, const std::string& flags) {
  int code = 0;
  const auto out = testing::run_shell(kPython + " " + kReference + " " + dir.path().string() + " " + flags + " 2>&1", &code);
  ASSERT_EQ(code, 0) << "the PyTorch reference failed (python3-torch is installed by scripts/setup-deps): " << out;
}

std::vector<int64_t> read_tokens(const std::string& path) {
  std::ifstream in(path);
  std::vector<int64_t> ids;
  for (int64_t id; in >> id;) ids.push_back(id);
  return ids;
}

torch::Tensor read_logits(const std::string& path, int64_t T, int64_t V) {
  const std::string bytes = testing::read_file(path);
  EXPECT_EQ(bytes.size(), static_cast<size_t>(T * V) * sizeof(float));
  return torch::from_blob(const_cast<char*>(bytes.data()), {T, V}, torch::kFloat32).clone();
}

class ImportMatchesPyTorch : public ::testing::TestWithParam<std::string> {};

TEST_P(ImportMatchesPyTorch, SameLogits) {
  testing::TempDir dir;
  write_reference(dir, GetParam());
  auto imported = import_nano_mosaic(dir.file("model.pt"));
  imported.model->eval();
  const auto ids = read_tokens(dir.file("tokens.txt"));
  ASSERT_FALSE(ids.empty());
  const auto expected = read_logits(dir.file("logits.f32"), static_cast<int64_t>(ids.size()), imported.config.vocab_size);

  torch::NoGradGuard no_grad;
  auto tokens = torch::tensor(ids, torch::kInt64).unsqueeze(0);
  auto logits = imported.model->forward(tokens)[0];
  const double scale = expected.abs().max().item<double>();
  const double err = (logits - expected).abs().max().item<double>();
  EXPECT_LT(err, 2e-5 * std::max(1.0, scale)) << "max |logit| " << scale;
  EXPECT_EQ(imported.config.variant, MosaicVariant::kNano);
  EXPECT_EQ(imported.config.bias, GetParam().find("--bias") != std::string::npos);

  // Incremental decoding of the imported model agrees with its full forward.
  auto state = imported.model->init_state(1);
  for (size_t t = 0; t < ids.size(); ++t) {
    auto step = imported.model->step(*state, tokens.select(1, static_cast<int64_t>(t)))[0];
    EXPECT_LT((step - logits[static_cast<int64_t>(t)]).abs().max().item<double>(), 2e-5 * std::max(1.0, scale)) << "t " << t;
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, ImportMatchesPyTorch,
                         ::testing::Values("",                                   // state dict, 2 blocks, no biases
                                           "--bias --layers 1",                  // biases everywhere the format has them
                                           "--bias --layers 3 --checkpoint"));  // train.py checkpoint, compiled-model keys

// The command line: import, then `engram eval` scores the tokens with the cross-entropy PyTorch's
// logits give.
TEST(ImportCommand, EvalOfTheImportedCheckpointMatchesPyTorch) {
  testing::TempDir dir;
  write_reference(dir, "--bias --checkpoint");
  int code = 0;
  const std::string bin = ENGRAM_BINARY, ckpt = dir.file("imported.safetensors");
  auto out = testing::run_shell(bin + " import " + dir.file("model.pt") + " --out " + ckpt + " 2>&1", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("imported 56 tensors"), std::string::npos) << out;
  out = testing::run_shell(bin + " eval --ckpt " + ckpt + " --tokens " + dir.file("tokens.txt") + " 2>&1", &code);
  ASSERT_EQ(code, 0) << out;

  const auto ids = read_tokens(dir.file("tokens.txt"));
  const int64_t T = static_cast<int64_t>(ids.size());
  const auto logits = read_logits(dir.file("logits.f32"), T, 97).to(torch::kFloat64);
  auto targets = torch::tensor(std::vector<int64_t>(ids.begin() + 1, ids.end()), torch::kInt64);
  const double expected = torch::nll_loss(torch::log_softmax(logits.narrow(0, 0, T - 1), -1), targets).item<double>();
  EXPECT_NEAR(std::stod(out), expected, 1e-5) << out;

  out = testing::run_shell(bin + " import " + dir.file("absent.pt") + " --out " + dir.file("x.safetensors") + " 2>&1", &code);
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("absent.pt"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.safetensors")));
}

// Edits the reference state dict with a line of Python, then expects import to name the key.
void expect_refused(const std::string& edit, const std::string& needle) {
  testing::TempDir dir;
  write_reference(dir, "");
  int code = 0;
  const std::string script = "import torch; p='" + dir.file("model.pt") + "'; sd=torch.load(p); " + edit + "; torch.save(sd, p)";
  const auto out = testing::run_shell(kPython + " -c \"" + script + "\" 2>&1", &code);
  ASSERT_EQ(code, 0) << out;
  try {
    import_nano_mosaic(dir.file("model.pt"));
    FAIL() << "import accepted a state dict edited with: " << edit;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(ImportRefuses, UnknownKey) { expect_refused("sd['mosaic.h.0.attn.extra'] = torch.zeros(3)", "unknown key 'mosaic.h.0.attn.extra'"); }
TEST(ImportRefuses, MissingKey) { expect_refused("del sd['mosaic.h.1.mlp.out_scale']", "'mosaic.h.1.mlp.out_scale' is missing"); }
TEST(ImportRefuses, WrongShape) {
  expect_refused("sd['mosaic.h.0.attn.c_proj.weight'] = torch.zeros(48, 47)", "'mosaic.h.0.attn.c_proj.weight' has shape [48, 47]");
}
TEST(ImportRefuses, UntiedHead) { expect_refused("sd['lm_head.weight'] = sd['lm_head.weight'] + 1", "lm_head.weight"); }
TEST(ImportRefuses, WrongMask) { expect_refused("sd['mosaic.h.0.attn.bias'] = torch.ones_like(sd['mosaic.h.0.attn.bias']).tril()", "causal mask"); }

TEST(ImportRefuses, NonFiniteWeights) {
  expect_refused("sd['mosaic.h.1.mlp.P_v'].view(-1)[5] = float('nan')", "'mosaic.h.1.mlp.P_v' holds non-finite values");
}

TEST(ImportRefuses, TruncatedFile) {
  testing::TempDir dir;
  write_reference(dir, "");
  const std::string path = dir.file("model.pt");
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
  try {
    import_nano_mosaic(path);
    FAIL() << "import accepted a truncated file";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace engram
