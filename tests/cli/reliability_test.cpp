// Issue 15's findings, each pinned at the level where it was found: the command line. Careless and
// hostile input gets one clear line and a non-zero exit, and a command that fails changes nothing.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "engram/core/json.h"
#include "engram/core/metrics.h"
#include "engram/core/process.h"
#include "engram/sim/demo_file.h"
#include "support/blank_episode.h"
#include "support/cli.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

namespace fs = std::filesystem;
using testing::engram_argv;
using testing::expect_one_line_error;

std::set<std::string> listing(const fs::path& dir) {
  std::set<std::string> names;
  if (!fs::exists(dir)) return names;
  for (const auto& e : fs::recursive_directory_iterator(dir)) names.insert(fs::relative(e.path(), dir).string());
  return names;
}

// A tiny language-model run: `extra` are more --set overrides.
std::vector<std::string> train_argv(const std::string& corpus, const std::string& out, int steps,
                                    const std::vector<std::string>& extra = {}) {
  std::vector<std::string> a{"train", "--quiet", "--out", out, "--set", "data.train=" + corpus};
  for (const char* s : {"data.vocab_size=300", "model.n_layer=1", "model.n_embd=32", "model.n_head=2", "train.block_size=16",
                        "train.batch_size=4", "train.eval_interval=5", "train.eval_batches=2", "train.warmup=2"})
    a.insert(a.end(), {"--set", s});
  a.insert(a.end(), {"--set", "train.steps=" + std::to_string(steps)});
  for (const auto& s : extra) a.insert(a.end(), {"--set", s});
  return a;
}

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& more) {
  a.insert(a.end(), more.begin(), more.end());
  return a;
}

// 1. Output paths are paths: spaces, quotes and shell syntax in --out reach no shell.
TEST(Reliability, HostileOutputPathsTrainAndPlotWithoutSideEffects) {
  testing::TempDir dir;
  const auto corpus = dir.write("c.txt", testing::tiny_corpus(200));
  dir.write("v", "unrelated\n");
  for (const std::string name : {"v dir/run", "bob's run", "x'; touch INJECTED; echo '"}) {
    const auto r = engram_argv(train_argv(corpus, dir.file(name), 5));
    ASSERT_EQ(r.code, 0) << name << ": " << r.err;
    EXPECT_EQ(r.err.find("could not draw"), std::string::npos) << r.err;
    EXPECT_TRUE(fs::exists(dir.file(name + "/loss.png"))) << name;
  }
  EXPECT_EQ(testing::read_file(dir.file("v")), "unrelated\n");
  EXPECT_FALSE(fs::exists(dir.file("INJECTED")));
  EXPECT_FALSE(fs::exists("INJECTED"));
  for (const auto& n : listing(dir.path())) EXPECT_EQ(n.find(".tmp"), std::string::npos) << "left behind: " << n;
}

// 2. A retry into the same folder with other data trains on the new data, never on leftovers.
TEST(Reliability, DerivedFilesFollowTheirSourceAndFailuresLeaveNoRunDirectory) {
  testing::TempDir dir;
  const auto a = dir.write("a.txt", testing::tiny_corpus(300));
  std::string other;
  for (int i = 0; i < 400; ++i) other += "zebra quartz jumps over seven lazy foxes " + std::to_string(i % 13) + ". ";
  const auto b = dir.write("b.txt", other);

  // A validation error leaves no run directory behind, whichever input is wrong.
  for (const auto& bad : std::vector<std::vector<std::string>>{{"model.n_layer=0"}, {"data.train=" + dir.file("none.txt")},
                                                               {"data.train=" + dir.path().string()}, {"train.block_size=100000"}}) {
    const auto r = engram_argv(train_argv(a, dir.file("fresh"), 5, bad));
    EXPECT_EQ(r.code, 1) << bad[0];
    EXPECT_FALSE(fs::exists(dir.file("fresh"))) << bad[0] << " left " << dir.file("fresh");
  }
  EXPECT_NE(engram_argv(train_argv(a, dir.file("fresh"), 5, {"data.train=" + dir.path().string()})).err.find("is a directory"),
            std::string::npos);

  // A run that fails after tokenizing corpus A into a folder the user made keeps those files...
  fs::create_directories(dir.file("run"));
  auto r = engram_argv(train_argv(a, dir.file("run"), 5, {"train.block_size=100000", "model.block_size=100000"}));
  ASSERT_EQ(r.code, 1);
  ASSERT_TRUE(fs::exists(dir.file("run/tokenizer.json"))) << "this test needs the leftovers of a failed run";
  // ...but the retry with corpus B rebuilds them from B: the same tokenizer `tokenize train` makes of B.
  r = engram_argv(train_argv(b, dir.file("run"), 5));
  ASSERT_EQ(r.code, 0) << r.err;
  r = engram_argv({"tokenize", "train", b, "--vocab-size", "300", "--out", dir.file("b-tok.json")});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(testing::read_file(dir.file("run/tokenizer.json")), testing::read_file(dir.file("b-tok.json")));
  const auto source = read_json_file(dir.file("run/data-source.json"), "record");
  EXPECT_EQ(source["train"]["path"], fs::absolute(b).lexically_normal().string());

  // A tokenizer the user keeps inside the run folder is an input, never a leftover to remove.
  fs::create_directories(dir.file("own"));
  fs::copy_file(dir.file("b-tok.json"), dir.file("own/tokenizer.json"));
  r = engram_argv(train_argv(a, dir.file("own"), 5, {"data.tokenizer=" + dir.file("own/tokenizer.json")}));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(testing::read_file(dir.file("own/tokenizer.json")), testing::read_file(dir.file("b-tok.json")));

  // A resumed run whose corpus changed on disk refuses to go on, and changes nothing.
  r = engram_argv(with(train_argv(b, dir.file("r2"), 10), {"--stop-after", "5"}));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto before = testing::read_file(dir.file("r2/config.json"));
  dir.write("b.txt", other + "one more sentence.");
  expect_one_line_error(engram_argv({"train", "--quiet", "--resume", dir.file("r2")}), "data.train");
  EXPECT_EQ(testing::read_file(dir.file("r2/config.json")), before);
}

// 3 and 9. A failed resume does not rewrite config.json; resuming a finished run changes nothing.
TEST(Reliability, FailedOrFinishedResumeChangesNothing) {
  testing::TempDir dir;
  const auto corpus = dir.write("c.txt", testing::tiny_corpus(300));
  const auto run = dir.file("run");
  ASSERT_EQ(engram_argv(with(train_argv(corpus, run, 10), {"--stop-after", "7"})).code, 0);
  const auto config = testing::read_file(run + "/config.json");
  const auto ckpt = testing::read_file(run + "/checkpoint.safetensors");
  expect_one_line_error(engram_argv({"train", "--quiet", "--resume", run, "--set", "model.n_embd=64"}), "has shape");
  EXPECT_EQ(testing::read_file(run + "/config.json"), config) << "the failed resume saved its config";
  EXPECT_EQ(testing::read_file(run + "/checkpoint.safetensors"), ckpt);
  expect_one_line_error(engram_argv({"train", "--quiet", "--resume", run, "--set", "train.steps=5"}),
                        "has trained 7 steps already");
  EXPECT_EQ(testing::read_file(run + "/config.json"), config);

  auto r = engram_argv({"train", "--quiet", "--resume", run});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto finished = testing::read_file(run + "/config.json");
  const auto metrics = testing::read_file(run + "/metrics.jsonl");
  r = engram_argv({"train", "--quiet", "--resume", run});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("already finished (10 steps"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("0.0000"), std::string::npos) << r.out;
  EXPECT_EQ(testing::read_file(run + "/config.json"), finished);
  EXPECT_EQ(testing::read_file(run + "/metrics.jsonl"), metrics);
  EXPECT_NE(testing::read_file(run + "/checkpoint.safetensors"), ckpt);  // the one real resume trained
  const auto done = testing::read_file(run + "/checkpoint.safetensors");
  ASSERT_EQ(engram_argv({"train", "--quiet", "--resume", run}).code, 0);
  EXPECT_EQ(testing::read_file(run + "/checkpoint.safetensors"), done);
}

// 6. Stopping between evaluations and resuming logs exactly what an uninterrupted run logs.
TEST(Reliability, ResumeBetweenEvaluationsLogsTheSameMetrics) {
  testing::TempDir dir;
  const auto corpus = dir.write("c.txt", testing::tiny_corpus(300));
  ASSERT_EQ(engram_argv(train_argv(corpus, dir.file("whole"), 10)).code, 0);
  ASSERT_EQ(engram_argv(with(train_argv(corpus, dir.file("parts"), 10), {"--stop-after", "7"})).code, 0);
  ASSERT_EQ(engram_argv({"train", "--quiet", "--resume", dir.file("parts")}).code, 0);
  auto rows = [](const std::string& path) {
    std::vector<std::string> out;
    for (auto r : read_metrics(path)) {
      r.erase("tokens_per_s");  // wall-clock speed
      out.push_back(r.dump());
    }
    return out;
  };
  const auto whole = rows(dir.file("whole/metrics.jsonl")), parts = rows(dir.file("parts/metrics.jsonl"));
  EXPECT_EQ(whole, parts);
  bool has_mean = false;
  for (const auto& r : parts) has_mean |= r.find("train_loss_mean") != std::string::npos;
  EXPECT_TRUE(has_mean);
}

// 4 and 9. JSON input: depth, duplicate keys, numbers out of range.
TEST(Reliability, HostileJsonIsOneLineOfError) {
  testing::TempDir dir;
  const auto deep = dir.write("deep.json", std::string(85000, '[') + std::string(85000, ']'));
  expect_one_line_error(engram_argv({"train", "--config", deep}), "nested deeper than");
  const auto dup = dir.write("dup.json", R"({"data": {"train": "x"}, "model": {"n_layer": 1, "n_layer": 2}})");
  expect_one_line_error(engram_argv({"train", "--config", dup}), "'model.n_layer' appears twice");
  expect_one_line_error(engram_argv({"tokenize", "encode", "--tokenizer", deep, dup}), "nested deeper than");
  expect_one_line_error(engram_argv({"train", "--set", "model.n_embd=1e999"}), "--set model.n_embd");
}

// 5. Argument mistakes: one line "engram: error: <command>: …", exit code 2, for every command.
TEST(Reliability, UsageErrorsAreOneLineWithExitCode2) {
  testing::TempDir dir;
  const auto f = dir.write("f.txt", "x");
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"frobnicate"}, "engram: error: engram: "},
      {{"train", "--frobnicate"}, "engram train"},
      {{"train", "--stop-after", "-3"}, "engram train"},
      {{"train", "--stop-after", "0"}, "not a positive integer"},
      {{"eval"}, "--ckpt"},
      {{"sample", "--ckpt", f, "--tokens", "0"}, "0 is not in [1, 1048576]"},
      {{"tokenize", "train", f, "--vocab-size", "10", "--out", dir.file("t.json")}, "10 is not in [257, 1048576]"},
      {{"tokenize"}, "engram tokenize"},
      {{"sim", "demos", "--task", "slalom", "--episodes", "0", "--out", dir.file("d.h5")}, "engram sim demos"},
      {{"sim", "expert", "--task", "slalom", "--episodes", "x"}, "x is not a number"},
      {{"info", "--bogus"}, "engram info"},
      {{"tokenize", "encode", "--bogus"}, "engram tokenize encode"},
      {{"tokenize", "decode", "a", "b"}, "engram tokenize decode"},
      {{"sim"}, "a command is required"},
      {{"sim", "tasks", "--bogus"}, "engram sim tasks"},
      {{"sim", "bench", "--seconds", "0"}, "engram sim bench"},
      {{"sim", "inspect"}, "engram sim inspect"},
      {{"sim", "play", "--shift", "0"}, "engram sim play"},
      {{"policy"}, "a command is required"},
      {{"policy", "train", "--stop-after", "0"}, "engram policy train"},
      {{"policy", "eval", "--delay", "-1"}, "engram policy eval"},
      {{"policy", "plot"}, "--results"},
      {{"policy", "run"}, "engram policy run"},
      {{"moons", "--block", "5"}, "engram moons"},
      {{"capacity", "--key-dim", "99"}, "engram capacity"},
      {{"bench", "--seconds", "0"}, "engram bench"},
      {{"import"}, "engram import"},
      {{"compare"}, "engram compare"},
      {{"position-loss"}, "engram position-loss"},
      {{"quickstart", "--steps", "-1"}, "engram quickstart"},
      {{"fast"}, "a command is required"},
      {{"fast", "fit", "--data", f}, "engram fast fit"},
      {{"fast", "stats", "--data", f, "--gammas", "0"}, "engram fast stats"},
      {{"fast", "encode", "--tokenizer", f}, "engram fast encode"},
      {{"fast", "decode", "--tokenizer", f}, "engram fast decode"},
  };
  for (const auto& [args, needle] : cases) {
    const auto r = engram_argv(args);
    expect_one_line_error(r, needle, 2);
    EXPECT_LT(r.err.size(), 300u) << r.err;
  }
  EXPECT_FALSE(fs::exists(dir.file("d.h5")));
  EXPECT_FALSE(fs::exists(dir.file("t.json")));
  // A file that is not there is not a usage error: exit code 1, and the line names the file.
  const auto none = dir.file("none");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"train", "--config", none}, {"policy", "train", "--config", none}, {"policy", "eval", "--ckpt", none},
           {"policy", "run", "--ckpt", none}, {"policy", "plot", "--results", none, "--out", dir.file("p")},
           {"sim", "play", "--policy", none}, {"sim", "inspect", none}, {"eval", "--ckpt", none, "--tokens", f},
           {"tokenize", "encode", "--tokenizer", none, f}, {"import", none, "--out", dir.file("x.safetensors")}})
    expect_one_line_error(engram_argv(args), none, 1);
  // --help still prints usage on stdout and succeeds.
  const auto help = engram_argv({"policy", "eval", "--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("--shift"), std::string::npos);
}

// 8. Non-finite data is an error naming the episode, for every command that reads it.
TEST(Reliability, NonFiniteDemonstrationsAreRefusedByEveryCommand) {
  testing::TempDir dir;
  Episode ep = testing::blank_episode(12, 4, 2);
  {
    DemoWriter w(dir.file("nan.h5"), {{"env_name", "slalom"}, {"obs_dim", 4}, {"action_dim", 2}, {"styles", {"s"}}});
    for (int64_t i = 0; i < 3; ++i) {
      ep.index = i;
      if (i == 2) ep.actions[7] = std::numeric_limits<float>::infinity();
      w.append(ep, "s");
    }
    w.close();
  }
  expect_one_line_error(engram_argv({"sim", "inspect", dir.file("nan.h5")}), "demo_2/actions: step 3 holds inf");
  expect_one_line_error(engram_argv({"policy", "train", "--data", dir.file("nan.h5"), "--out", dir.file("run")}), "demo_2/actions");
  EXPECT_FALSE(fs::exists(dir.file("run")));
}

// 9. Inputs of the wrong kind are named with their path.
TEST(Reliability, DirectoriesAndTokenizerlessCheckpointsAreNamed) {
  testing::TempDir dir;
  const auto ids = dir.write("ids.txt", "1 2 3\n");
  expect_one_line_error(engram_argv({"eval", "--ckpt", dir.path().string(), "--tokens", ids}), "is a directory");
  expect_one_line_error(engram_argv({"tokenize", "encode", "--tokenizer", dir.path().string() + "/", ids}), "is a directory");
  expect_one_line_error(engram_argv({"sim", "demos", "--task", "slalom", "--episodes", "2", "--out", dir.path().string()}),
                        "is a directory");
  EXPECT_FALSE(fs::exists(dir.path().string() + ".parts"));
  // A checkpoint trained on a synthetic task has no tokenizer: say so and what to do.
  auto r = engram_argv({"train", "--quiet", "--out", dir.file("ind"), "--set", "task.name=induction", "--set", "model.n_layer=1",
                        "--set", "model.n_embd=16", "--set", "model.n_head=2", "--set", "train.steps=2", "--set",
                        "train.eval_interval=2", "--set", "train.eval_batches=1", "--set", "train.batch_size=2"});
  ASSERT_EQ(r.code, 0) << r.err;
  expect_one_line_error(engram_argv({"eval", "--ckpt", dir.file("ind/checkpoint.safetensors"), "--text", ids}),
                        "carries no tokenizer");
  expect_one_line_error(engram_argv({"sample", "--ckpt", dir.file("ind/checkpoint.safetensors")}), "eval --tokens");
}

// Starts `engram args…`, waits until `metrics` has `rows` rows, sends `sig`; returns exit code and stderr.
testing::CliResult signal_after_progress(const testing::TempDir& dir, const std::vector<std::string>& args,
                                         const std::string& metrics, size_t rows, int sig) {
  std::vector<std::string> argv{ENGRAM_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const std::string err_path = dir.file("signal-stderr.txt");
  // posix_spawn, not fork: nothing runs between fork and exec in a process that has threads.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, cargv[0], &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return {-1, "", "posix_spawn failed"};
  for (int i = 0; i < 6000 && read_metrics(metrics).size() < rows; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ::kill(pid, sig);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), "", testing::read_file(err_path)};
}

// SIGTERM (a batch scheduler) and Ctrl-C stop either trainer at the next step with a checkpoint.
TEST(Reliability, SignalsStopBothTrainersWithACheckpoint) {
  testing::TempDir dir;
  const auto corpus = dir.write("c.txt", testing::tiny_corpus(300));
  const auto run = dir.file("run");
  auto r = signal_after_progress(dir, train_argv(corpus, run, 1000000, {"train.eval_interval=1000000", "train.log_interval=1"}),
                                 run + "/metrics.jsonl", 3, SIGTERM);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("terminated (SIGTERM) after step"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("checkpoint saved, continue with engram train --resume " + run), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(run + "/checkpoint.safetensors"));

  ASSERT_EQ(engram_argv({"sim", "demos", "--task", "slalom", "--episodes", "2", "--out", dir.file("d.h5")}).code, 0);
  const auto policy = dir.file("policy");
  r = signal_after_progress(dir,
                            {"policy", "train", "--quiet", "--data", dir.file("d.h5"), "--out", policy, "--set",
                             "model.channels=16", "--set", "model.channel_hidden=16", "--set", "model.token_hidden=4", "--set",
                             "model.blocks=1", "--set", "train.steps=1000000", "--set", "train.batch_size=8", "--set",
                             "train.log_interval=1", "--set", "train.eval_interval=1000000", "--set", "train.holdout_every=0"},
                            policy + "/metrics.jsonl", 3, SIGINT);
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("interrupted (Ctrl-C) after step"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("checkpoint saved, continue with engram policy train --resume " + policy), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(policy + "/checkpoint.safetensors"));
  r = engram_argv({"policy", "train", "--quiet", "--resume", policy, "--set", "train.steps=" + std::to_string(
      read_metrics(policy + "/metrics.jsonl").size() + 2)});
  EXPECT_EQ(r.code, 0) << r.err;
  // The raised train.steps was saved with the run: a plain resume finds it finished, not "lowered".
  r = engram_argv({"policy", "train", "--quiet", "--resume", policy});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("already finished"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace engram
