// Plots: drawn wherever the user points, whatever the path holds, and nothing left behind.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <unistd.h>

#include "engram/core/plot.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

namespace fs = std::filesystem;

std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::recursive_directory_iterator(dir)) names.insert(fs::relative(e.path(), dir).string());
  return names;
}

PlotSpec line_to(const std::string& out) {
  PlotSpec spec;
  spec.out = out;
  PlotSeries line;
  line.x = {1, 2, 3};
  line.y = {1, 4, 9};
  spec.series = {line};
  return spec;
}

// The paths of issue 15: a space before the folder, a quote, and shell syntax.
TEST(Plot, OddAndHostileOutputPathsAreJustPaths) {
  testing::TempDir dir;
  dir.write("v", "an unrelated file\n");
  for (const std::string folder : {"v dir/run", "bob's run", "x'; touch INJECTED; echo '", "$(touch INJECTED2)"}) {
    const std::string out = dir.file(folder + "/loss.png");
    ASSERT_TRUE(plot_lines(line_to(out))) << folder;
    EXPECT_GT(fs::file_size(out), 1000u) << folder;
  }
  EXPECT_EQ(testing::read_file(dir.file("v")), "an unrelated file\n");
  const auto names = listing(dir.path());
  for (const auto& n : names) {
    EXPECT_EQ(n.find(".tmp"), std::string::npos) << "left behind: " << n;
    EXPECT_EQ(n.find(".plot-"), std::string::npos) << "left behind: " << n;
  }
  EXPECT_FALSE(fs::exists(dir.file("INJECTED")));
  EXPECT_FALSE(fs::exists(dir.file("INJECTED2")));
  EXPECT_FALSE(fs::exists("INJECTED"));
  EXPECT_FALSE(fs::exists("INJECTED2"));
}

// What a plotter killed with kill -9 left (this version's and older ones' temporaries) is removed by
// the next plot of the same file; files of live processes are not touched.
TEST(Plot, StaleTemporariesOfDeadProcessesAreCleanedUp) {
  testing::TempDir dir;
  const std::string out = dir.file("loss.png");
  long dead = 0;
  {
    std::ifstream in("/proc/sys/kernel/pid_max");
    in >> dead;
    dead -= 1;  // the largest pid: practically never alive in a test
  }
  const std::string d = std::to_string(dead), live = std::to_string(::getpid());
  for (const auto& name : {"loss.png.tmp-" + d, "loss.png.plot-" + d + ".py", "loss.png.plot-" + d + ".json",
                           "loss.png.plot-" + d + ".err", "loss.png.tmp-" + live, std::string("loss.png.tmp-x")})
    dir.write(name, "stale");
  ASSERT_TRUE(plot_lines(line_to(out)));
  EXPECT_EQ(listing(dir.path()), (std::set<std::string>{"loss.png", "loss.png.tmp-" + live, std::string("loss.png.tmp-x")}));
}

TEST(Plot, AnUnwritableFolderIsAWarningNotAFailure) {
  testing::TempDir dir;
  dir.write("file", "x");
  EXPECT_FALSE(plot_lines(line_to(dir.file("file/loss.png"))));
}

}  // namespace
}  // namespace engram
