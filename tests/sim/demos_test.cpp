// Expert, datasets and pictures: the MPPI expert solves the toy task, datasets round-trip through
// HDF5 and do not depend on the worker count, damaged files are refused by name, a crashed worker's
// part is redone, and frames show the bodies where the simulator has them.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "engram/core/error.h"
#include "engram/sim/demo_file.h"
#include "engram/sim/demo_generation.h"
#include "engram/sim/mujoco_world.h"
#include "engram/sim/render.h"
#include "support/blank_episode.h"
#include "support/shell.h"
#include "support/slalom_demos.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

using engram::testing::TempDir;

std::shared_ptr<const SimModel> slalom() { return std::make_shared<const SimModel>(make_sim_task("slalom")); }

TEST(SimExpert, MppiSolvesSlalomThroughEitherViaPoint) {
  auto m = slalom();
  const auto styles = expert_styles(m->task());
  ASSERT_EQ(styles.size(), 4u);
  double z_at_block[2] = {0, 0};
  for (int s = 0; s < 2; ++s) {  // style 0 goes above the block, style 1 below
    const auto ep = run_expert_episode(m, styles[static_cast<size_t>(s)], s, 0, 0);
    EXPECT_TRUE(ep.success) << styles[static_cast<size_t>(s)].name;
    for (int64_t t = 0; t < ep.length(); ++t)
      if (ep.obs[static_cast<size_t>(t * 4)] > 2.5) {
        z_at_block[s] = ep.obs[static_cast<size_t>(t * 4 + 1)];
        break;
      }
  }
  EXPECT_GT(z_at_block[0], 3.4);  // above the block (it spans z 1.6–3.4)
  EXPECT_LT(z_at_block[1], 1.6);  // below it
}

TEST(SimDemos, DatasetRoundTripsAndDoesNotDependOnWorkers) {
  TempDir dir;
  auto o = testing::slalom_demos(dir, 3, 2, "two.h5");
  const auto summary = generate_demos(o);
  EXPECT_EQ(summary.episodes, 3);
  EXPECT_FALSE(std::filesystem::exists(o.out + ".parts"));
  o.out = dir.file("one.h5");
  o.workers = 1;
  generate_demos(o);
  const auto a = read_demos(dir.file("two.h5")), b = read_demos(dir.file("one.h5"));
  ASSERT_EQ(a.episodes.size(), 3u);
  ASSERT_EQ(b.episodes.size(), 3u);
  EXPECT_EQ(a.env_args["env_name"], "slalom");
  EXPECT_EQ(a.env_args["obs_dim"], 4);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(a.episodes[i].index, static_cast<int64_t>(i));
    EXPECT_EQ(a.episodes[i].actions, b.episodes[i].actions);
    EXPECT_EQ(a.episodes[i].obs, b.episodes[i].obs);
    EXPECT_EQ(a.episodes[i].length() * 4, static_cast<int64_t>(a.episodes[i].obs.size()));
    EXPECT_EQ(a.episodes[i].dones.back(), 1);
    EXPECT_NE(a.episodes[i].actions, a.episodes[i].executed_actions);  // noise was applied
  }
}

// The reader robot-learning users have: h5py (python3-h5py, installed by scripts/setup-deps) opens a
// dataset the way the README shows and sees the same numbers.
TEST(SimDemos, H5pyReadsTheDatasetAsTheReadmeShows) {
  TempDir dir;
  auto o = testing::slalom_demos(dir, 2);
  generate_demos(o);
  const auto ours = read_demos(o.out);
  const std::string script = dir.write("read.py", R"(import h5py, json, sys
with h5py.File(sys.argv[1]) as f:
    env = json.loads(f["data"].attrs["env_args"])
    demo = f["data/demo_1"]
    obs, actions = demo["obs/state"][:], demo["actions"][:]
    print(env["env_name"], obs.shape[0], obs.shape[1], actions.shape[1], int(demo.attrs["num_samples"]),
          int(demo.attrs["success"]), "%.6f" % actions.sum(), int(f["data"].attrs["num_demos"]))
)");
  int code = 0;
  const std::string out = engram::testing::run_shell("/usr/bin/python3 " + script + " " + o.out + " 2>&1", &code);
  ASSERT_EQ(code, 0) << out;
  std::istringstream fields(out);
  std::string task;
  long long rows = 0, obs_dim = 0, act_dim = 0, samples = 0, success = 0, demos = 0;
  double sum = 0;
  fields >> task >> rows >> obs_dim >> act_dim >> samples >> success >> sum >> demos;
  const auto& ep = ours.episodes[1];
  double ours_sum = 0;
  for (float a : ep.actions) ours_sum += a;
  EXPECT_EQ(task, "slalom");
  EXPECT_EQ(rows, ep.length());
  EXPECT_EQ(obs_dim, 4);
  EXPECT_EQ(act_dim, 2);
  EXPECT_EQ(samples, ep.length());
  EXPECT_EQ(success, ep.success ? 1 : 0);
  EXPECT_NEAR(sum, ours_sum, 1e-4);  // float32 values summed by NumPy and here
  EXPECT_EQ(demos, 2);
}

TEST(SimDemos, CorruptPartIsRedoneAndTruncatedFilesAreRefused) {
  TempDir dir;
  auto o = testing::slalom_demos(dir, 2);
  // A worker that died mid-write leaves an unreadable part behind.
  std::filesystem::create_directories(o.out + ".parts");
  std::ofstream(o.out + ".parts/part-0-1.h5") << "\x89HDF\r\n\x1a\n garbage";
  generate_demos(o);
  EXPECT_EQ(read_demos(o.out).episodes.size(), 2u);

  const std::string bytes = engram::testing::read_file(o.out);
  const std::string cut = dir.write("cut.h5", bytes.substr(0, bytes.size() / 2));
  EXPECT_THROW(read_demos(cut), Error);
  try {
    read_demos(dir.write("text.h5", "not hdf5"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not an HDF5 file"), std::string::npos) << e.what();
  }
}

TEST(SimDemos, ShapeMismatchIsNamed) {
  TempDir dir;
  Episode ep = testing::blank_episode(3, 4, 2);
  ep.index = 0;
  {
    DemoWriter w(dir.file("bad.h5"), {{"obs_dim", 5}, {"action_dim", 2}});  // header disagrees with the data
    w.append(ep, "s");
    w.close();
  }
  try {
    read_demos(dir.file("bad.h5"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("demo_0/obs/state has shape [3×4], expected [3×5]"), std::string::npos) << e.what();
  }
}

TEST(SimDemos, NonFiniteDataIsNamedByEpisodeAndStep) {
  TempDir dir;
  Episode ep = testing::blank_episode(3, 4, 2);
  {
    DemoWriter w(dir.file("nan.h5"), {{"obs_dim", 4}, {"action_dim", 2}});
    ep.index = 0;
    w.append(ep, "s");
    ep.index = 3;
    ep.actions[3] = std::nanf("");  // step 1, second action dimension
    w.append(ep, "s");
    w.close();
  }
  try {
    read_demos(dir.file("nan.h5"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("demo_3/actions: step 1 holds nan"), std::string::npos) << e.what();
  }
}

TEST(SimRender, FramesShowTheBodiesWhereTheyAre) {
  auto m = slalom();
  MujocoEnv env(m);
  env.reset(0);
  const Image img = render_frame(*m, env.data(), 208);  // 40 px per metre
  // The green ball starts at (0.6, 2.5); the red block spans x 2.25–2.75 at z 2.5.
  auto pixel = [&](double x, double z) { return img.at(static_cast<int>((x + 0.12) * 40), static_cast<int>((5.12 - z) * 40)); };
  EXPECT_EQ(pixel(0.6, 2.5), kGreen);
  EXPECT_EQ(pixel(2.5, 2.5), kRed);
  EXPECT_EQ(pixel(4.85, 1.0), kBlue);
  EXPECT_NE(pixel(1.5, 2.5), kGreen);
  TempDir dir;
  write_png(dir.file("f.png"), img);
  write_gif(dir.file("f.gif"), {img, img}, 3);
  EXPECT_EQ(engram::testing::read_file(dir.file("f.png")).substr(1, 3), "PNG");
  EXPECT_EQ(engram::testing::read_file(dir.file("f.gif")).substr(0, 6), "GIF89a");
}

}  // namespace
}  // namespace engram
