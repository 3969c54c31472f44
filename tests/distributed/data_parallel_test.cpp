// Data-parallel training over loopback (c10d Gloo): the same parameters as one process with the
// whole batch, resume across world sizes, and what happens when a rank dies, never arrives, or
// runs another config.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "engram/core/safetensors.h"
#include "engram/distributed/local_group.h"
#include "support/cli.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

namespace fs = std::filesystem;
using testing::CliResult;
using testing::engram_argv;
using testing::expect_one_line_error;

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A small language-model run on a generated corpus; every test reads the same one.
std::vector<std::string> text_run(const testing::TempDir& dir, int steps) {
  const std::string corpus = dir.file("c.txt");
  if (!fs::exists(corpus)) {
    std::mt19937 rng(1);
    const char* words[] = {"the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "park", "birds"};
    std::ofstream out(corpus);
    for (int line = 0; line < 2000; ++line) {
      for (int w = 0; w < 12; ++w) out << words[rng() % 12] << ' ';
      out << '\n';
    }
  }
  return {"--quiet", "--set", "data.train=" + corpus, "--set", "data.vocab_size=300", "--set", "model.n_layer=1",
          "--set", "model.n_embd=32", "--set", "model.n_head=2", "--set", "train.block_size=16", "--set",
          "train.batch_size=8", "--set", "train.eval_interval=5", "--set", "train.eval_batches=2", "--set",
          "train.warmup=2", "--set", "train.steps=" + std::to_string(steps)};
}

// Largest difference between the weights (not optimizer moments or RNG state) of two checkpoints.
double weight_difference(const std::string& a, const std::string& b) {
  const auto x = load_safetensors(a), y = load_safetensors(b);
  double most = 0;
  int compared = 0;
  for (const auto& [name, t] : x.tensors) {
    if (name.rfind("optimizer.", 0) == 0 || name.rfind("rng.", 0) == 0) continue;
    most = std::max(most, (t.to(torch::kFloat64) - y.at(name).to(torch::kFloat64)).abs().max().item<double>());
    ++compared;
  }
  EXPECT_GT(compared, 0);
  return most;
}

// Two ranks with half the batch each end where one process with the whole batch ends.
void expect_two_ranks_match_one(const std::string& command, const std::vector<std::string>& args, const testing::TempDir& dir,
                                const std::string& name) {
  SCOPED_TRACE(name);
  std::vector<std::string> train = command.empty() ? std::vector<std::string>{"train"} : std::vector<std::string>{command, "train"};
  auto one = engram_argv(concat(concat(train, {"--out", dir.file(name + "-1")}), args));
  ASSERT_EQ(one.code, 0) << one.err;
  auto two = engram_argv(concat(concat(train, {"--nproc", "2", "--out", dir.file(name + "-2")}), args));
  ASSERT_EQ(two.code, 0) << two.err;
  EXPECT_LT(weight_difference(dir.file(name + "-1/checkpoint.safetensors"), dir.file(name + "-2/checkpoint.safetensors")), 1e-4);
}

TEST(DataParallel, TwoRanksMatchOneProcessWithTheWholeBatch) {
  testing::TempDir dir;
  expect_two_ranks_match_one("", text_run(dir, 12), dir, "transformer");
  ::setenv("ENGRAM_OVERLAP_ALLREDUCE", "0", 1);  // the all-reduce after the backward pass, not during it
  expect_two_ranks_match_one("", text_run(dir, 12), dir, "transformer-after-backward");
  ::unsetenv("ENGRAM_OVERLAP_ALLREDUCE");
  // A mosaic on a task whose loss is masked: ranks weigh by the targets they score.
  expect_two_ranks_match_one("", {"--quiet", "--set", "task.name=induction", "--set", "task.length=32", "--set",
                                  "task.vocab=16", "--set", "task.min_copy=4", "--set", "task.max_copy=8", "--set",
                                  "model.type=mosaic", "--set", "model.n_layer=1", "--set", "model.n_embd=32", "--set",
                                  "model.n_head=2", "--set", "model.attn_dropout=0", "--set", "model.pmem_dropout=0",
                                  "--set", "model.resid_dropout=0", "--set", "train.batch_size=8", "--set",
                                  "train.steps=12", "--set", "train.eval_interval=6", "--set", "train.eval_batches=1"},
                             dir, "mosaic");
  ASSERT_EQ(engram_argv({"sim", "demos", "--task", "slalom", "--episodes", "4", "--workers", "1", "--out", dir.file("d.h5")}).code, 0);
  expect_two_ranks_match_one("policy",
                             {"--quiet", "--data", dir.file("d.h5"), "--set", "model.channels=16", "--set",
                              "model.channel_hidden=16", "--set", "model.token_hidden=4", "--set", "model.blocks=1", "--set",
                              "train.steps=12", "--set", "train.batch_size=16", "--set", "train.eval_interval=6", "--set",
                              "train.holdout_every=0", "--set", "train.weak_step=6"},
                             dir, "policy");
}

TEST(DataParallel, ResumesAcrossWorldSizes) {
  testing::TempDir dir;
  ASSERT_EQ(engram_argv(concat({"train", "--out", dir.file("whole")}, text_run(dir, 16))).code, 0);
  // 2 ranks, then 1; and 1 rank, then 2.
  ASSERT_EQ(engram_argv(concat({"train", "--nproc", "2", "--out", dir.file("a"), "--stop-after", "8"}, text_run(dir, 16))).code, 0);
  auto r = engram_argv({"train", "--quiet", "--resume", dir.file("a")});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(engram_argv(concat({"train", "--out", dir.file("b"), "--stop-after", "8"}, text_run(dir, 16))).code, 0);
  r = engram_argv({"train", "--nproc", "2", "--quiet", "--resume", dir.file("b")});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* run : {"a", "b"})
    EXPECT_LT(weight_difference(dir.file("whole/checkpoint.safetensors"), dir.file(std::string(run) + "/checkpoint.safetensors")),
              1e-4)
        << run;
}

// fork/exec of `program` with the given extra environment, stdout and stderr to files; the caller waits.
pid_t spawn_program(const std::string& program, const std::vector<std::string>& args, const std::vector<std::string>& env,
                    const std::string& out, const std::string& err) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, 1);
    ::dup2(e, 2);
    std::vector<char*> argv{const_cast<char*>(program.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(program.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& env, const std::string& out,
            const std::string& err) {
  return spawn_program(ENGRAM_BINARY, args, env, out, err);
}

// The exit code, or -1 if the process is still running after `seconds`.
int wait_for(pid_t pid, double seconds) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1;
}

// A process whose parent is `parent` (any parent when 0), whose command line mentions `mentions`
// and whose environment holds every one of `vars` ("RANK=1"), or -1.
pid_t find_process(pid_t parent, const std::vector<std::string>& vars, const std::string& mentions = "") {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string pid, comm, state;
    long ppid = 0;
    if (!(stat >> pid >> comm >> state >> ppid) || (parent && ppid != parent)) continue;
    std::ifstream cmdline(entry.path() / "cmdline");
    if (std::string((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>()).find(mentions) == std::string::npos)
      continue;
    std::ifstream environ(entry.path() / "environ");
    // NUL-separated variables; a leading NUL puts one before each (LOCAL_RANK= does not match RANK=).
    const std::string env = std::string(1, '\0') + std::string((std::istreambuf_iterator<char>(environ)), std::istreambuf_iterator<char>());
    bool all = true;
    for (const auto& v : vars) all = all && env.find(std::string(1, '\0') + v + '\0') != std::string::npos;
    if (all) return static_cast<pid_t>(std::stol(name));
  }
  return -1;
}

TEST(DataParallel, AKilledRankEndsTheRunWithOneLineAndTheCheckpointIntact) {
  testing::TempDir dir;
  const pid_t group = spawn(concat({"train", "--nproc", "2", "--out", dir.file("run")}, text_run(dir, 1000000)), {},
                            dir.file("out.txt"), dir.file("err.txt"));
  const std::string ckpt = dir.file("run/checkpoint.safetensors");
  for (int i = 0; i < 1200 && !fs::exists(ckpt); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(fs::exists(ckpt)) << testing::read_file(dir.file("err.txt"));
  const pid_t victim = find_process(group, {"RANK=1"});
  ASSERT_GT(victim, 0);
  ::kill(victim, SIGKILL);
  EXPECT_NE(wait_for(group, 60), -1) << "the group did not end within 60 s";
  const std::string err = testing::read_file(dir.file("err.txt"));
  EXPECT_NE(err.find("engram: error: rank 1 of 2 was killed by signal 9"), std::string::npos) << err;
  EXPECT_NO_THROW(load_safetensors(ckpt));  // the last good checkpoint loads (its CRC holds)
}

TEST(DataParallel, ARendezvousThatNeverCompletesTimesOut) {
  testing::TempDir dir;
  const std::string port = "MASTER_PORT=" + std::to_string(free_loopback_port());
  for (const char* rank : {"RANK=0", "RANK=1"}) {
    SCOPED_TRACE(rank);
    const pid_t p = spawn(concat({"train", "--out", dir.file("run")}, text_run(dir, 10)),
                          {rank, "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1", port, "ENGRAM_RENDEZVOUS_TIMEOUT=2"},
                          dir.file("out.txt"), dir.file("err.txt"));
    EXPECT_EQ(wait_for(p, 60), 1);
    expect_one_line_error({1, "", testing::read_file(dir.file("err.txt"))}, "did not complete within 2 s");
    EXPECT_FALSE(fs::exists(dir.file("run")));
  }
}

// An srun step's variables alone (no RANK/WORLD_SIZE) make a group: the first host of the node
// list is the rendezvous.
TEST(DataParallel, SlurmVariablesLaunchAGroup) {
  testing::TempDir dir;
  const std::string port = "MASTER_PORT=" + std::to_string(free_loopback_port());
  pid_t ranks[2];
  for (int r = 0; r < 2; ++r)
    ranks[r] = spawn(concat({"train", "--out", dir.file("run")}, text_run(dir, 12)),
                     {"SLURM_PROCID=" + std::to_string(r), "SLURM_STEP_NUM_TASKS=2", "SLURM_LOCALID=" + std::to_string(r),
                      "SLURM_STEP_TASKS_PER_NODE=2", "SLURM_STEP_NODELIST=localhost", port},
                     dir.file("out" + std::to_string(r)), dir.file("err" + std::to_string(r)));
  for (int r = 0; r < 2; ++r) EXPECT_EQ(wait_for(ranks[r], 120), 0) << testing::read_file(dir.file("err" + std::to_string(r)));
  ASSERT_EQ(engram_argv(concat({"train", "--out", dir.file("one")}, text_run(dir, 12))).code, 0);
  EXPECT_LT(weight_difference(dir.file("one/checkpoint.safetensors"), dir.file("run/checkpoint.safetensors")), 1e-4);
  EXPECT_NE(testing::read_file(dir.file("out0")).find("data-parallel over 2 ranks"), std::string::npos);
  EXPECT_EQ(testing::read_file(dir.file("out1")), "");  // ranks other than 0 print nothing
}

TEST(DataParallel, RanksWithDifferentConfigsAreRefused) {
  testing::TempDir dir;
  const std::string port = "MASTER_PORT=" + std::to_string(free_loopback_port());
  pid_t ranks[2];
  for (int r = 0; r < 2; ++r)
    ranks[r] = spawn(concat({"train", "--out", dir.file("run"), "--set", r == 0 ? "train.lr=0.001" : "train.lr=0.002"}, text_run(dir, 10)),
                     {"RANK=" + std::to_string(r), "WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1", port},
                     dir.file("out" + std::to_string(r)), dir.file("err" + std::to_string(r)));
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(wait_for(ranks[r], 60), 1);
    expect_one_line_error({1, "", testing::read_file(dir.file("err" + std::to_string(r)))},
                          "the resolved config differs between rank 0 and rank 1");
  }
  EXPECT_FALSE(fs::exists(dir.file("run")));
}

// torchrun's own fault tolerance: with --max_restarts, a group restarted after a rank was killed
// goes on from the last checkpoint by itself and ends with the weights of an uninterrupted run.
TEST(DataParallel, UnderTorchrunARestartedGroupEndsLikeAnUninterruptedRun) {
  if (!fs::exists("/usr/bin/torchrun")) GTEST_FAIL() << "torchrun is missing: scripts/setup-deps installs python3-torch";
  testing::TempDir dir;
  auto torchrun = [&](const std::string& out, const std::string& logs, int restarts) {
    // Debian's torchrun 1.13 on Python 3.11 cannot parse its default --redirects 0 / --tee 0.
    return spawn_program("/usr/bin/torchrun",
                         concat({"--redirects", "1", "--tee", "1", "--log_dir", dir.file(logs), "--max_restarts",
                                 std::to_string(restarts), "--nproc_per_node", "2", "--no_python", ENGRAM_BINARY, "train",
                                 "--out", dir.file(out)},
                                text_run(dir, 300)),
                         {}, dir.file(out + ".out"), dir.file(out + ".err"));
  };
  ASSERT_EQ(wait_for(torchrun("plain", "plain-logs", 0), 120), 0) << testing::read_file(dir.file("plain.err"));
  const pid_t group = torchrun("restarted", "restarted-logs", 1);
  const std::string ckpt = dir.file("restarted/checkpoint.safetensors");
  for (int i = 0; i < 1200 && !fs::exists(ckpt); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const pid_t victim = find_process(0, {"RANK=1", "TORCHELASTIC_RESTART_COUNT=0"}, dir.file("restarted"));
  ASSERT_GT(victim, 0);
  ::kill(victim, SIGKILL);
  ASSERT_EQ(wait_for(group, 120), 0) << testing::read_file(dir.file("restarted.err"));
  bool restarted = false;  // torchrun keeps each attempt's logs apart
  for (const auto& e : fs::recursive_directory_iterator(dir.file("restarted-logs"))) restarted = restarted || e.path().filename() == "attempt_1";
  EXPECT_TRUE(restarted);
  EXPECT_LT(weight_difference(dir.file("plain/checkpoint.safetensors"), ckpt), 1e-6);
}

}  // namespace
}  // namespace engram
