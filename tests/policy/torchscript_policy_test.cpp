// A TorchScript velocity network with the documented signature (built here with the TorchScript
// compiler, as torch.jit.script would export it) runs under engram's samplers exactly like the same
// network written in C++; malformed modules are refused with the file named.
#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/policy/delay_harness.h"
#include "engram/policy/sampling.h"
#include "engram/policy/torchscript_policy.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

using engram::testing::TempDir;

const char* kForward = R"(
def forward(self, noisy_chunk, obs, tau):
    drive = torch.tanh(torch.matmul(obs, self.w)).unsqueeze(1)
    return drive - noisy_chunk * torch.sigmoid(self.gain) * tau.view(-1, 1, 1)
)";

// The same velocity field in C++.
class ReferencePolicy : public FlowPolicy {
 public:
  ReferencePolicy(torch::Tensor w, torch::Tensor gain) : w_(std::move(w)), gain_(std::move(gain)) {}
  torch::Tensor velocity(const torch::Tensor& x, const torch::Tensor& obs, const torch::Tensor& tau) override {
    return torch::tanh(torch::matmul(obs, w_)).unsqueeze(1) - x * torch::sigmoid(gain_) * tau.view({-1, 1, 1});
  }
  int64_t horizon() const override { return 8; }
  int64_t action_dim() const override { return 2; }
  int64_t obs_dim() const override { return 4; }

 private:
  torch::Tensor w_, gain_;
};

std::string export_module(const TempDir& dir, const torch::Tensor& w, const torch::Tensor& gain, bool with_attributes = true) {
  torch::jit::Module m("Policy");
  if (with_attributes) {
    m.register_attribute("horizon", c10::IntType::get(), 8);
    m.register_attribute("action_dim", c10::IntType::get(), 2);
    m.register_attribute("obs_dim", c10::IntType::get(), 4);
  }
  m.register_parameter("w", w, false);
  m.register_parameter("gain", gain, false);
  m.define(kForward);
  const auto path = dir.file(with_attributes ? "policy.pt" : "bare.pt");
  m.save(path);
  return path;
}

TEST(TorchScriptPolicy, SamplesAndRtcMatchTheSameNetworkInCpp) {
  TempDir dir;
  torch::manual_seed(0);
  const auto w = torch::randn({4, 2}), gain = torch::randn({8, 2});
  TorchScriptPolicy scripted(export_module(dir, w, gain));
  ReferencePolicy reference(w, gain);
  EXPECT_EQ(scripted.horizon(), 8);
  EXPECT_EQ(scripted.obs_dim(), 4);
  torch::NoGradGuard no_grad;
  const auto obs = torch::randn({3, 4}), noise = torch::randn({3, 8, 2}), previous = torch::randn({3, 6, 2});
  EXPECT_TRUE(torch::allclose(sample_chunk(scripted, obs, noise, 5), sample_chunk(reference, obs, noise, 5), 1e-6, 1e-6));
  // RTC's guidance differentiates through the scripted module.
  RtcOptions rtc;
  const auto a = rtc_sample_chunk(scripted, obs, noise, previous, 2, 2, rtc), b = rtc_sample_chunk(reference, obs, noise, previous, 2, 2, rtc);
  EXPECT_TRUE(torch::allclose(a, b, 1e-5, 1e-5));
  EXPECT_FALSE(torch::allclose(a, sample_chunk(reference, obs, noise, 5), 1e-3, 1e-3));  // the guidance did something
  // And the delay harness runs on it.
  DelayEvalOptions o;
  o.task = "slalom";
  o.method = ChunkMethod::kRtc;
  o.delay = 1;
  o.episodes = 2;
  EXPECT_EQ(evaluate_under_delay(scripted, o).episodes, 2);
}

TEST(TorchScriptPolicy, MalformedModulesAreRefusedWithTheFileNamed) {
  TempDir dir;
  const auto bare = export_module(dir, torch::randn({4, 2}), torch::randn({8, 2}), false);
  try {
    TorchScriptPolicy p(bare);
    FAIL() << "a module without the shape attributes was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bare.pt"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("horizon"), std::string::npos) << e.what();
  }
  // Velocity of the wrong shape: gain [8, 3] does not broadcast against [B, 8, 2].
  try {
    TorchScriptPolicy p(export_module(dir, torch::randn({4, 2}), torch::randn({8, 3})));
    FAIL() << "a module whose forward fails was accepted";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;  // one line
    EXPECT_NE(what.find("must match the size"), std::string::npos) << what;
  }
  try {
    TorchScriptPolicy p(dir.write("junk.pt", "not a zip archive"));
    FAIL() << "a file that is no TorchScript archive was accepted";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    EXPECT_EQ(what.find("frame #"), std::string::npos) << what;  // no C++ backtrace
    EXPECT_NE(what.find("junk.pt"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace engram
