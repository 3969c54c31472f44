// Where a process sits in a distributed run, read from torchrun's or Slurm's variables.
#include "engram/distributed/world.h"

#include <gtest/gtest.h>

#include <map>

#include "engram/core/error.h"
#include "support/error_of.h"

namespace engram {
namespace {

WorldInfo world(const std::map<std::string, std::string>& vars) {
  return world_from_environment([&](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

TEST(World, NothingSetIsOneProcess) {
  const auto w = world({});
  EXPECT_FALSE(w.distributed());
  EXPECT_TRUE(w.primary());
  EXPECT_EQ(w.launcher, "");
}

TEST(World, TorchrunVariables) {
  const auto w = world({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"LOCAL_WORLD_SIZE", "2"},
                        {"MASTER_ADDR", "node7"}, {"MASTER_PORT", "29411"}, {"TORCHELASTIC_RESTART_COUNT", "2"}});
  EXPECT_EQ(w.launcher, "torchrun");
  EXPECT_EQ(w.rank, 3);
  EXPECT_EQ(w.world_size, 4);
  EXPECT_EQ(w.local_rank, 1);
  EXPECT_EQ(w.local_world_size, 2);
  EXPECT_EQ(w.master_addr, "node7");
  EXPECT_EQ(w.master_port, 29411);
  EXPECT_EQ(w.restart_count, 2);
  EXPECT_FALSE(w.primary());
}

TEST(World, SlurmVariablesAndTheFirstHostOfTheNodeList) {
  const auto w = world({{"SLURM_PROCID", "5"}, {"SLURM_STEP_NUM_TASKS", "8"}, {"SLURM_LOCALID", "1"},
                        {"SLURM_STEP_TASKS_PER_NODE", "4(x2)"}, {"SLURM_STEP_NODELIST", "gpu[03-04]"}});
  EXPECT_EQ(w.launcher, "slurm");
  EXPECT_EQ(w.rank, 5);
  EXPECT_EQ(w.world_size, 8);
  EXPECT_EQ(w.local_rank, 1);
  EXPECT_EQ(w.local_world_size, 4);
  EXPECT_EQ(w.master_addr, "gpu03");
  EXPECT_EQ(w.master_port, 29500);
  EXPECT_EQ(first_slurm_host("gpu[03-05,9],cpu1"), "gpu03");
  EXPECT_EQ(first_slurm_host("a,b"), "a");
  EXPECT_EQ(first_slurm_host("single"), "single");
  EXPECT_EQ(first_slurm_host("n[7,9]"), "n7");
  // Uneven layouts list per-node counts; the first one leads.
  EXPECT_EQ(world({{"SLURM_PROCID", "0"}, {"SLURM_STEP_NUM_TASKS", "3"}, {"SLURM_STEP_TASKS_PER_NODE", "2,1"},
                   {"SLURM_STEP_NODELIST", "a,b"}}).local_world_size, 2);
}

// A batch script (no job step) and ENGRAM_DISTRIBUTED=0 are one process, whatever else is set.
TEST(World, OneProcessOutsideAJobStepOrWhenSwitchedOff) {
  EXPECT_FALSE(world({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}, {"SLURM_JOB_NODELIST", "n[1-2]"}}).distributed());
  EXPECT_FALSE(world({{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"ENGRAM_DISTRIBUTED", "0"}}).distributed());
}

TEST(World, MalformedOrInconsistentVariablesAreNamed) {
  using testing::error_of;
  EXPECT_NE(error_of([] { world({{"RANK", "x"}, {"WORLD_SIZE", "2"}}); }).find("RANK = \"x\""), std::string::npos);
  EXPECT_NE(error_of([] { world({{"RANK", "2"}, {"WORLD_SIZE", "2"}}); }).find("rank 2 is not below the world size 2"),
            std::string::npos);
  EXPECT_NE(error_of([] { world({{"RANK", "0"}}); }).find("RANK and WORLD_SIZE must be set together"), std::string::npos);
  EXPECT_NE(error_of([] { world({{"RANK", "0"}, {"WORLD_SIZE", "1"}, {"MASTER_PORT", "70000"}}); }).find("MASTER_PORT"),
            std::string::npos);
  EXPECT_NE(error_of([] { world({{"SLURM_PROCID", "0"}, {"SLURM_STEP_NUM_TASKS", "2"}}); }).find("SLURM_STEP_NODELIST"),
            std::string::npos);
}

}  // namespace
}  // namespace engram
