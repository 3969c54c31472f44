// TableWorld-2D's simulator, scenes and expert (KI spec §8.1), and that it runs behind the Env
// interface like the MuJoCo tasks: demonstrations, rendering and the delay harness.
#include "engram/tableworld/table_env.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "engram/core/error.h"
#include "engram/policy/chunk_dataset.h"
#include "engram/policy/delay_harness.h"
#include "engram/sim/demo_file.h"
#include "engram/sim/demo_generation.h"
#include "engram/tableworld/bezier_expert.h"
#include "engram/tableworld/facts.h"
#include "engram/tableworld/lm_corpus.h"
#include "engram/tableworld/table_world.h"
#include "engram/tableworld/vocabulary.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

#include <torch/torch.h>

namespace engram::tableworld {
namespace {

using engram::testing::error_of;

TEST(TableWorldEnv, PointMassFollowsTheStatedDynamics) {
  TableEnv env(Split::kDirect);
  auto obs = env.reset(3);
  double px = obs[0], py = obs[1], vx = 0, vy = 0;
  const std::vector<std::vector<double>> actions = {{1, -0.5, -1}, {2.0, 0.25, -0.3}, {-0.7, -3, -1}};
  for (const auto& a : actions) {
    env.step(a);
    const double ux = std::clamp(a[0], -1.0, 1.0), uy = std::clamp(a[1], -1.0, 1.0);
    vx += 0.5 * (0.6 * ux - vx), vy += 0.5 * (0.6 * uy - vy);
    px = std::clamp(px + 0.05 * vx, -1.0, 1.0), py = std::clamp(py + 0.05 * vy, -1.0, 1.0);
    obs = env.observe();
    EXPECT_DOUBLE_EQ(obs[0], px);
    EXPECT_DOUBLE_EQ(obs[1], py);
    EXPECT_DOUBLE_EQ(obs[2], vx);
    EXPECT_DOUBLE_EQ(obs[3], vy);
  }
  EXPECT_EQ(env.executed_action()[0], -0.7);
  EXPECT_EQ(env.executed_action()[1], -1.0);
  EXPECT_FALSE(env.done());
  // Pushing into a wall for 100 steps clamps the position to the table and times out.
  for (int t = 3; t < TableEnv::kMaxSteps; ++t) env.step({1, 1, -1});
  EXPECT_TRUE(env.done());
  EXPECT_EQ(env.observe()[0], 1.0);
  EXPECT_EQ(env.observe()[1], 1.0);
  EXPECT_NE(error_of([&] { env.step({0, 0, 0}); }).find("after the episode ended"), std::string::npos);
}

TEST(TableWorldEnv, BadActionsAreClearErrors) {
  TableEnv env(Split::kTraining);
  env.reset(0);
  EXPECT_NE(error_of([&] { env.step({0, 0}); }).find("action has 2 dimensions, the task takes 3"), std::string::npos);
  EXPECT_NE(error_of([&] { env.step({0, NAN, 0}); }).find("action[1] is not finite at step 0"), std::string::npos);
}

TEST(TableWorldScenes, ObeyTheLayoutRulesAndTheSplits) {
  const Vocabulary vocabulary;
  std::map<Split, int> knowledge;
  for (Split split : {Split::kTraining, Split::kDirect, Split::kKnownEntities, Split::kNovelEntities}) {
    for (uint64_t seed = 0; seed < 400; ++seed) {
      const Scene s = sample_scene(seed, split);
      std::set<int> colours;
      for (int k = 0; k < kObjects; ++k) {
        const auto& o = s.objects[static_cast<size_t>(k)];
        colours.insert(o.colour);
        EXPECT_LE(std::fabs(o.x), 0.8);
        EXPECT_LE(std::fabs(o.y), 0.8);
        EXPECT_GE(std::hypot(o.x - s.start_x, o.y - s.start_y), 0.3);
        for (int j = 0; j < k; ++j)
          EXPECT_GE(std::hypot(o.x - s.objects[static_cast<size_t>(j)].x, o.y - s.objects[static_cast<size_t>(j)].y), 0.35);
      }
      EXPECT_EQ(colours.size(), 3u);
      const auto& target = s.objects[static_cast<size_t>(s.target)];
      if (s.knowledge) {
        ++knowledge[split];
        const Entity* named = nullptr;
        for (const auto& e : entities())
          if (s.instruction == knowledge_instruction(e)) named = &e;
        ASSERT_NE(named, nullptr) << s.instruction;
        EXPECT_EQ(named->colour, target.colour) << s.instruction;
        EXPECT_EQ(named->test, split == Split::kNovelEntities) << s.instruction;
      } else {
        EXPECT_TRUE(s.instruction == direct_instruction(target.colour, target.shape, true) ||
                    s.instruction == direct_instruction(target.colour, target.shape, false))
            << s.instruction;
      }
      // The observation carries the instruction as word ids, padded.
      const auto obs = observation(s, 0, 0, 0, 0);
      ASSERT_EQ(static_cast<int>(obs.size()), kObsDim);
      std::vector<int64_t> ids;
      for (int i = 16; i < kObsDim; ++i)
        if (obs[static_cast<size_t>(i)] != 0) ids.push_back(static_cast<int64_t>(obs[static_cast<size_t>(i)]));
      EXPECT_EQ(vocabulary.decode(ids), s.instruction);
    }
  }
  EXPECT_EQ(knowledge[Split::kDirect], 0);
  EXPECT_EQ(knowledge[Split::kKnownEntities], 400);
  EXPECT_EQ(knowledge[Split::kNovelEntities], 400);
  EXPECT_NEAR(knowledge[Split::kTraining] / 400.0, 0.4, 0.07);
}

// Drives the agent to (x, y) and closes the gripper there.
StepResult go_and_close(TableEnv& env, double x, double y) {
  StepResult r;
  while (!env.done()) {
    const auto o = env.observe();
    const bool there = std::hypot(x - o[0], y - o[1]) < 0.03 && std::hypot(o[2], o[3]) < 0.08;
    const double ux = ((x - o[0]) * 20 - 0.5 * o[2]) / 0.3, uy = ((y - o[1]) * 20 - 0.5 * o[3]) / 0.3;
    r = env.step({ux, uy, there ? 1.0 : -1.0});
  }
  return r;
}

TEST(TableWorldEnv, SuccessAndFollowRules) {
  int checked = 0;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    TableEnv env(Split::kDirect);
    env.reset(seed);
    const Scene s = env.scene();
    // The instructed object: success and followed.
    const auto& target = s.objects[static_cast<size_t>(s.target)];
    auto r = go_and_close(env, target.x, target.y);
    if (!env.followed()) continue;  // the straight path passed another object first: not this case
    ++checked;
    EXPECT_TRUE(r.success) << seed;
    EXPECT_EQ(r.reward, 1);
    // Another object: closing there fails and is not following.
    env.reset(seed);
    const int other_index = (s.target + 1) % kObjects;
    const auto& other = s.objects[static_cast<size_t>(other_index)];
    r = go_and_close(env, other.x, other.y);
    EXPECT_FALSE(r.success);
    EXPECT_EQ(r.reward, -1);
    EXPECT_EQ(env.followed(), env.committed_object() == s.target);
    if (env.committed_object() == other_index) {
      EXPECT_FALSE(env.followed());
    }
    // Closing at the target while moving fast is no success, but the agent did follow.
    env.reset(seed);
    while (!env.done()) {
      const auto o = env.observe();
      const double d = std::hypot(target.x - o[0], target.y - o[1]);
      r = env.step({(target.x - o[0]) / d, (target.y - o[1]) / d, d < 0.05 ? 1.0 : -1.0});
    }
    if (env.speed() >= 0.15) {
      EXPECT_FALSE(r.success);
    }
  }
  EXPECT_GT(checked, 25);
}

TEST(TableWorldExpert, ReachesTheTargetOnBothSidesAndTheSidesDiffer) {
  const auto world = open_world("tableworld");
  int successes = 0, followed = 0, episodes = 0;
  double lateral[2] = {0, 0};
  for (int side = 0; side < 2; ++side)
    for (int64_t e = 0; e < 150; ++e) {
      TableEnv* env = nullptr;
      const auto ep = world->expert_episode(side, 11, e, [&](const Env& en) { env = const_cast<TableEnv*>(dynamic_cast<const TableEnv*>(&en)); });
      ++episodes;
      successes += ep.success;
      followed += env->followed();
      // The signed offset from the straight line at mid-episode: left is positive.
      const Scene s = env->scene();
      const auto& t = s.objects[static_cast<size_t>(s.target)];
      const int64_t mid = ep.length() / 3;
      const double px = ep.obs[static_cast<size_t>(mid * kObsDim)], py = ep.obs[static_cast<size_t>(mid * kObsDim + 1)];
      const double dx = t.x - s.start_x, dy = t.y - s.start_y;
      lateral[side] += (dx * (py - s.start_y) - dy * (px - s.start_x)) / std::hypot(dx, dy);
      // Labels are in the action box; the gripper closes only at the end.
      for (int64_t i = 0; i + 1 < ep.length(); ++i) EXPECT_EQ(ep.actions[static_cast<size_t>(i * 3 + 2)], -1.0f);
    }
  EXPECT_GE(successes, episodes * 95 / 100);
  EXPECT_GE(followed, episodes * 95 / 100);
  EXPECT_GT(lateral[BezierExpert::kLeft] / 150, 0.05);
  EXPECT_LT(lateral[BezierExpert::kRight] / 150, -0.05);
}

TEST(TableWorldEnv, SameSeedSameEpisodeAndRenderingShowsTheScene) {
  const auto world = open_world("tableworld-known");
  const auto a = world->expert_episode(0, 5, 2), b = world->expert_episode(0, 5, 2), c = world->expert_episode(0, 5, 3);
  EXPECT_EQ(a.obs, b.obs);
  EXPECT_EQ(a.actions, b.actions);
  EXPECT_NE(a.obs, c.obs);
  TableEnv env(Split::kDirect);
  env.reset(1);
  const Image img = env.render(200);  // 100 px per table unit
  const auto& o = env.scene().objects[0];
  static constexpr uint8_t kColour[] = {kRed, kGreen, kBlue, kYellow, kPurple, kOrange, kWhite, kBlack};
  EXPECT_EQ(img.at(static_cast<int>((o.x + 1) * 100), static_cast<int>((1 - o.y) * 100)), kColour[o.colour]);
  EXPECT_EQ(img.at(static_cast<int>((env.x() + 1) * 100), static_cast<int>((1 - env.y()) * 100)), kInk);
}

TEST(TableWorldEnv, DemonstrationsAndUnknownNames) {
  testing::TempDir dir;
  DemoOptions o;
  o.task = "tableworld";
  o.out = dir.file("tw.h5");
  o.episodes = 12;
  o.workers = 2;
  o.progress = false;
  const auto summary = generate_demos(o);
  EXPECT_EQ(summary.episodes, 12);
  const auto data = read_demos(o.out);
  EXPECT_EQ(data.env_args["obs_dim"], kObsDim);
  EXPECT_EQ(data.env_args["action_dim"], 3);
  EXPECT_EQ(data.env_args["type"], "engram-tableworld");
  EXPECT_EQ(data.env_args["styles"], nlohmann::json({"bow-left", "bow-right"}));
  EXPECT_EQ(data.episodes[4].obs, open_world("tableworld")->expert_episode(data.episodes[4].style, 0, 4).obs);
  // Training chunks keep the terminal action — the close that ends an episode is the label that
  // matters — and are 0 after it.
  ChunkDataset train, valid;
  load_chunk_dataset(o.out, 16, 0, train, valid);
  const auto& first = data.episodes[0];
  const int64_t T = first.length();
  EXPECT_EQ(train.chunks[T - 1][0][2].item<float>(), 1.0f);
  EXPECT_EQ(train.chunks[T - 2][1][2].item<float>(), 1.0f);
  EXPECT_EQ(train.chunks[T - 2][2][2].item<float>(), 0.0f);
  const std::string e = error_of([] { open_world("tablewrld"); });
  EXPECT_NE(e.find("unknown task 'tablewrld'"), std::string::npos) << e;
  EXPECT_NE(e.find("tableworld-novel"), std::string::npos) << e;
}

// A policy that always outputs zero velocity: its chunks are its noise. Enough to show that the
// delay harness runs TableWorld episodes to their end through the Env interface.
class StillPolicy : public FlowPolicy {
 public:
  torch::Tensor velocity(const torch::Tensor& x, const torch::Tensor&, const torch::Tensor&) override { return torch::zeros_like(x); }
  int64_t horizon() const override { return 16; }
  int64_t action_dim() const override { return 3; }
  int64_t obs_dim() const override { return kObsDim; }
};

TEST(TableWorldEnv, TheDelayHarnessRunsIt) {
  StillPolicy policy;
  DelayEvalOptions o;
  o.task = "tableworld-direct";
  o.episodes = 6;
  o.batch = 4;
  o.delay = 2;
  o.shift = 8;
  o.method = ChunkMethod::kRtc;
  int64_t ticks = 0;
  o.on_action = [&](int64_t, int, const std::vector<double>&) { ++ticks; };
  const auto r = evaluate_under_delay(policy, o);
  EXPECT_EQ(r.episodes, 6);
  EXPECT_GT(ticks, 6);
  EXPECT_LE(ticks, 6 * TableEnv::kMaxSteps);
}

}  // namespace
}  // namespace engram::tableworld
