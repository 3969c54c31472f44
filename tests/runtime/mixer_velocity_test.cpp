#include "engram/runtime/mixer_velocity.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/policy/realtime_runner.h"
#include "engram/policy/sampling.h"

namespace engram {
namespace {

// Odd sizes: H not a multiple of 4, C, the hidden widths and D_o + M not multiples of 16; the
// AdaLN maps (zero at initialisation) and the observation statistics perturbed so they count.
std::shared_ptr<MixerPolicy> odd_policy(int64_t horizon = 7, int64_t channels = 18, int64_t blocks = 2) {
  torch::manual_seed(5);
  MixerPolicyConfig c;
  c.obs_dim = 5;
  c.action_dim = 3;
  c.horizon = horizon;
  c.channels = channels;
  c.channel_hidden = 23;
  c.token_hidden = 5;
  c.blocks = blocks;
  auto p = std::make_shared<MixerPolicy>(c);
  torch::NoGradGuard g;
  for (auto& param : p->parameters()) param.add_(0.1 * torch::randn_like(param));
  p->set_observation_stats(torch::randn({5}), torch::rand({5}) + 0.5);
  return p;
}

void expect_close(const torch::Tensor& fast, const torch::Tensor& reference, const char* what) {
  ASSERT_EQ(fast.sizes(), reference.sizes()) << what;
  const double scale = std::max(1.0, reference.abs().max().item<double>());
  EXPECT_LT((fast - reference).abs().max().item<double>(), 1e-5 * scale) << what;
}

TEST(MixerVelocity, VelocityEqualsTheLibTorchNetwork) {
  for (auto policy : {odd_policy(), odd_policy(8, 128, 3), odd_policy(1, 16, 1)}) {
    MixerVelocity fast(*policy);
    torch::NoGradGuard g;
    const int64_t H = policy->horizon();
    const auto a = torch::randn({3, H, 3}), obs = torch::randn({3, 5}) * 3, tau = torch::tensor({0.0f, 0.37f, 0.8f});
    expect_close(fast.velocity(a, obs, tau), policy->velocity(a, obs, tau), "velocity");
    // τ seen before: the kept conditioning gives the same numbers
    expect_close(fast.velocity(a, obs, tau), policy->velocity(a, obs, tau), "velocity, conditioning reused");
  }
}

TEST(MixerVelocity, GuidedVelocityEqualsAutograd) {
  auto policy = odd_policy();
  MixerVelocity fast(*policy);
  torch::manual_seed(6);
  const auto a = torch::randn({2, 7, 3}), obs = torch::randn({2, 5}), y = torch::randn({2, 7, 3});
  const auto w = torch::tensor(rtc_mask(7, 2, 2, MaskSchedule::kExp)).to(torch::kFloat);
  for (double tau : {0.0, 0.2, 0.6}) {
    const auto [v_ref, g_ref] = policy->FlowPolicy::guided_velocity(a, obs, tau, y, w);
    const auto [v, g] = fast.guided_velocity(a, obs, tau, y, w);
    expect_close(v, v_ref, "guided: v");
    expect_close(g, g_ref, "guided: g");
  }
}

TEST(MixerVelocity, PlainAndRtcChunksEqualTheLibTorchPath) {
  auto policy = odd_policy(8, 32, 2);
  MixerVelocity fast(*policy);
  torch::NoGradGuard g;
  torch::manual_seed(7);
  const auto noise = torch::randn({4, 8, 3}), obs = torch::randn({4, 5}), prev = torch::randn({4, 6, 3});
  expect_close(sample_chunk(fast, obs, noise, 5), sample_chunk(*policy, obs, noise, 5), "plain chunk");
  RtcOptions o;
  expect_close(rtc_sample_chunk(fast, obs, noise, prev, 2, 2, o), rtc_sample_chunk(*policy, obs, noise, prev, 2, 2, o),
               "RTC chunk");
}

TEST(MixerVelocity, DrivesTheRealtimeRunner) {
  torch::manual_seed(0);
  MixerPolicyConfig c;  // slalom's observation and action sizes
  c.obs_dim = 4;
  c.action_dim = 2;
  c.channels = 16;
  c.channel_hidden = 24;
  c.token_hidden = 6;
  c.blocks = 1;
  MixerPolicy policy(c);
  {
    torch::NoGradGuard g;
    for (auto& param : policy.parameters()) param.add_(0.1 * torch::randn_like(param));
  }
  MixerVelocity fast(policy);
  RealtimeOptions o;
  o.task = "slalom";
  o.hz = 200;
  // The first chunk is computed before the clock starts, from the same observation and noise: its
  // actions are the same on both paths; later chunks depend on timing.
  auto first_actions = [&](FlowPolicy& p) {
    std::vector<std::vector<double>> actions;
    o.on_tick = [&](int, int, const ChunkScheduler::Action& a) {
      if (a.chunk == 0) actions.push_back(a.values);
    };
    const auto r = run_realtime(p, o);
    EXPECT_EQ(r.episodes, 1);
    EXPECT_GT(r.chunks, 3);
    return actions;
  };
  const auto torch_path = first_actions(policy), fast_path = first_actions(fast);
  ASSERT_FALSE(fast_path.empty());
  const size_t n = std::min(torch_path.size(), fast_path.size());
  for (size_t t = 0; t < n; ++t)
    for (size_t m = 0; m < 2; ++m) EXPECT_NEAR(fast_path[t][m], torch_path[t][m], 1e-5) << t;
}

// A velocity field the runtime does not cover.
class ZeroField : public FlowPolicy {
 public:
  torch::Tensor velocity(const torch::Tensor& a, const torch::Tensor&, const torch::Tensor&) override {
    return torch::zeros_like(a);
  }
  int64_t horizon() const override { return 8; }
  int64_t action_dim() const override { return 2; }
  int64_t obs_dim() const override { return 3; }
};

TEST(MixerVelocity, RuntimeChoiceFollowsTheNetwork) {
  std::shared_ptr<FlowPolicy> mixer = odd_policy(), other = std::make_shared<ZeroField>();
  EXPECT_TRUE(std::dynamic_pointer_cast<MixerVelocity>(on_runtime(mixer, PolicyRuntime::kAuto)));
  EXPECT_TRUE(std::dynamic_pointer_cast<MixerVelocity>(on_runtime(mixer, PolicyRuntime::kFast)));
  EXPECT_EQ(on_runtime(mixer, PolicyRuntime::kTorch), mixer);
  EXPECT_EQ(on_runtime(other, PolicyRuntime::kAuto), other);
  EXPECT_EQ(on_runtime(other, PolicyRuntime::kTorch), other);
  EXPECT_THROW(on_runtime(other, PolicyRuntime::kFast), Error);
}

TEST(MixerVelocity, RefusesWrongShapes) {
  auto policy = odd_policy();
  MixerVelocity fast(*policy);
  EXPECT_THROW(fast.velocity(torch::randn({1, 6, 3}), torch::randn({1, 5}), torch::zeros({1})), Error);
  EXPECT_THROW(fast.velocity(torch::randn({1, 7, 3}), torch::randn({2, 5}), torch::zeros({1})), Error);
  EXPECT_THROW(fast.guided_velocity(torch::randn({1, 7, 3}), torch::randn({1, 5}), 0.5, torch::randn({1, 6, 3}),
                                    torch::ones({7})),
               Error);
}

}  // namespace
}  // namespace engram
