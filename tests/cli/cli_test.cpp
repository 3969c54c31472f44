// What a user sees: exit codes, one-line errors, and no partial files, for the engram binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "support/temp_dir.h"

namespace engram {
namespace {

struct Result {
  int code;
  std::string out, err;
};

// Runs the engram binary with `args` (shell syntax) and captures stdout and stderr separately.
Result engram(const testing::TempDir& dir, const std::string& args, const std::string& stdin_file = "") {
  const std::string out = dir.file("stdout.txt"), err = dir.file("stderr.txt");
  std::string cmd = std::string(ENGRAM_BINARY) + " " + args + " >" + out + " 2>" + err;
  if (!stdin_file.empty()) cmd += " <" + stdin_file;
  const int status = std::system(cmd.c_str());
  return {WEXITSTATUS(status), testing::read_file(out), testing::read_file(err)};
}

size_t lines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// One line on stderr containing `needle`, and a non-zero exit.
void expect_clear_error(const Result& r, const std::string& needle) {
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(lines(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr: " << r.err;
}

std::string train_args(const testing::TempDir& dir, const std::string& corpus, const std::string& out, int steps) {
  return "train --quiet --out " + out + " --set data.train=" + corpus +
         " --set data.vocab_size=300 --set model.n_layer=1 --set model.n_embd=32 --set model.n_head=2"
         " --set train.block_size=16 --set train.batch_size=4 --set train.eval_interval=5 --set train.eval_batches=2"
         " --set train.warmup=2 --set train.steps=" + std::to_string(steps);
}

TEST(Cli, HelpAndUnknownCommand) {
  testing::TempDir dir;
  for (const char* cmd : {"info", "train", "eval", "sample", "bench", "quickstart", "tokenize", "sim"}) {
    auto r = engram(dir, std::string(cmd) + " --help");
    EXPECT_EQ(r.code, 0) << cmd;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << cmd;
  }
  EXPECT_NE(engram(dir, "frobnicate").code, 0);
}

TEST(Cli, BenchScalingMeasuresEveryFamilyAndContext) {
  testing::TempDir dir;
  auto r = engram(dir, "bench --scaling --families transformer mosaic atlas --contexts 16 32 --seconds 0.1 --json " +
                           dir.file("s.jsonl"));
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* row : {"| transformer | 16 |", "| mosaic | 32 |", "| atlas | 32 |"})
    EXPECT_NE(r.out.find(row), std::string::npos) << row << "\n" << r.out;
  const std::string points = testing::read_file(dir.file("s.jsonl"));
  EXPECT_EQ(std::count(points.begin(), points.end(), '\n'), 6);
  expect_clear_error(engram(dir, "bench --scaling --families lstmm --contexts 16"), "lstmm");
  // A point whose training the last one predicts to exceed the budget is skipped; generation still runs.
  r = engram(dir, "bench --scaling --families transformer --contexts 16 64 --seconds 0.1 --memory-budget 1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("| transformer | 64 | skipped: needs"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("| transformer | 16 | skipped"), std::string::npos) << r.out;  // the first point always runs
}

TEST(Cli, TrainRejectsBadConfigs) {
  testing::TempDir dir;
  expect_clear_error(engram(dir, "train --config " + dir.write("bad.json", "{\"model\": [1,}")), "not valid JSON");
  expect_clear_error(engram(dir, "train --config " + dir.write("unknown.json", R"({"data": {"train": "x"}, "modle": {}})")),
                     "unknown key 'modle'");
  const auto corpus = dir.write("c.txt", testing::tiny_corpus(50));
  expect_clear_error(engram(dir, "train --out " + dir.file("r") + " --set data.train=" + corpus + " --set model.n_layer=0"),
                     "model.n_layer = 0 is out of range");
  expect_clear_error(engram(dir, "train --out " + dir.file("r") + " --set data.train=" + corpus + " --set model.n_heads=2"),
                     "unknown key 'model.n_heads'");
  expect_clear_error(engram(dir, "train --out " + dir.file("r") + " --set data.train=" + dir.file("none.txt")), "none.txt");
  expect_clear_error(engram(dir, "train --out " + dir.file("r2") + " --set data.train=" + dir.write("empty.txt", "")), "empty");
  EXPECT_FALSE(std::filesystem::exists(dir.file("r2/checkpoint.safetensors")));
}

TEST(Cli, TrainEvalSampleAndResume) {
  testing::TempDir dir;
  const auto corpus = dir.write("c.txt", testing::tiny_corpus(300));
  auto r = engram(dir, train_args(dir, corpus, dir.file("run"), 10) + " --stop-after 7");
  ASSERT_EQ(r.code, 0) << r.err;
  r = engram(dir, "train --quiet --resume " + dir.file("run"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("trained 10 steps"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(dir.file("run/loss.png")) || r.err.find("could not draw") != std::string::npos);
  const auto ckpt = dir.file("run/checkpoint.safetensors");

  // eval --tokens: one sequence per line, every token after the first is a target.
  r = engram(dir, "tokenize encode --lines --tokenizer " + ckpt + " " +
                      dir.write("short.txt", "the cat sees the ball.\na dog likes the moon.\nthe bird helps a child.\n"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines(r.out), 3u);
  r = engram(dir, "eval --ckpt " + ckpt + " --tokens " + dir.write("ids3.txt", r.out));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("nats/token"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("in 3 sequences"), std::string::npos) << r.out;

  r = engram(dir, "sample --ckpt " + ckpt + " --prompt 'the cat' --tokens 8 --seed 3");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("the cat", 0), 0u) << r.out;
  auto again = engram(dir, "sample --ckpt " + ckpt + " --prompt 'the cat' --tokens 8 --seed 3");
  EXPECT_EQ(r.out, again.out) << "same seed, same text";
  auto nocache = engram(dir, "sample --ckpt " + ckpt + " --prompt 'the cat' --tokens 8 --seed 3 --temperature 0 --no-cache");
  auto cache = engram(dir, "sample --ckpt " + ckpt + " --prompt 'the cat' --tokens 8 --seed 3 --temperature 0");
  EXPECT_EQ(nocache.out, cache.out) << "greedy decoding is the same with and without the KV cache";

  // A different architecture cannot resume this run.
  expect_clear_error(engram(dir, "train --quiet --resume " + dir.file("run") + " --set model.n_embd=64 --set train.steps=20"),
                     "has shape");
}

TEST(Cli, EvalRefusesCorruptAndTruncatedCheckpoints) {
  testing::TempDir dir;
  const auto corpus = dir.write("c.txt", testing::tiny_corpus(200));
  ASSERT_EQ(engram(dir, train_args(dir, corpus, dir.file("run"), 5)).code, 0);
  const std::string bytes = testing::read_file(dir.file("run/checkpoint.safetensors"));
  const auto ids = dir.write("ids.txt", "1 2 3 4\n5 6 7\n");
  dir.write("cut.safetensors", bytes.substr(0, bytes.size() / 2));
  expect_clear_error(engram(dir, "eval --ckpt " + dir.file("cut.safetensors") + " --tokens " + ids), "truncated");
  std::string flipped = bytes;
  flipped[bytes.size() - 100] ^= 1;
  dir.write("flip.safetensors", flipped);
  expect_clear_error(engram(dir, "eval --ckpt " + dir.file("flip.safetensors") + " --tokens " + ids), "checksum mismatch");
  expect_clear_error(engram(dir, "eval --ckpt " + dir.file("nothing.safetensors") + " --tokens " + ids), "no such file");
  expect_clear_error(engram(dir, "eval --ckpt " + dir.file("run/checkpoint.safetensors") + " --tokens " +
                                     dir.write("bad.txt", "1 2 x3\n")),
                     "'x3' is not a token id");
  expect_clear_error(engram(dir, "eval --ckpt " + dir.file("run/checkpoint.safetensors") + " --tokens " +
                                     dir.write("big.txt", "1 2 99999\n")),
                     "outside the model's vocabulary");
}

TEST(Cli, TokenizeRoundTripsInvalidUtf8Bytes) {
  testing::TempDir dir;
  std::string text = "caf\xc3\xa9 \xff\xfe broken \xe2\x82 tail\n\x80";
  const auto in = dir.write("in.txt", text);
  const auto corpus = dir.write("c.txt", testing::tiny_corpus(100));
  auto r = engram(dir, "tokenize train " + corpus + " --vocab-size 300 --out " + dir.file("tok.json"));
  ASSERT_EQ(r.code, 0) << r.err;
  r = engram(dir, "tokenize encode --tokenizer " + dir.file("tok.json") + " " + in);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto ids = dir.write("ids.txt", r.out);
  r = engram(dir, "tokenize decode --tokenizer " + dir.file("tok.json") + " " + ids);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, text) << "bytes round-trip exactly";
  // stdin works too
  r = engram(dir, "tokenize encode --tokenizer " + dir.file("tok.json"), in);
  EXPECT_EQ(dir.write("ids2.txt", r.out), dir.file("ids2.txt"));
  EXPECT_EQ(testing::read_file(dir.file("ids2.txt")), testing::read_file(ids));
}

TEST(Cli, TokenizeErrorsLeaveNoFiles) {
  testing::TempDir dir;
  expect_clear_error(engram(dir, "tokenize train " + dir.write("e.txt", "") + " --vocab-size 300 --out " + dir.file("t.json")),
                     "empty");
  EXPECT_FALSE(std::filesystem::exists(dir.file("t.json")));
  expect_clear_error(engram(dir, "tokenize encode --tokenizer " + dir.file("missing.json") + " " + dir.write("x.txt", "hi")),
                     "missing.json");
  expect_clear_error(engram(dir, "tokenize decode --tokenizer " + dir.write("notjson.json", "{{") + " " + dir.write("i.txt", "1")),
                     "not valid JSON");
  size_t leftovers = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    leftovers += e.path().filename().string().find(".tmp") != std::string::npos;
  EXPECT_EQ(leftovers, 0u);
}

TEST(Cli, DeviceCudaFailsClearlyWithoutCuda) {
  testing::TempDir dir;
  const auto corpus = dir.write("c.txt", testing::tiny_corpus(50));
  auto r = engram(dir, train_args(dir, corpus, dir.file("run"), 2) + " --set train.device=cuda");
  if (r.code == 0) GTEST_SKIP() << "this LibTorch has CUDA";
  expect_clear_error(r, "CUDA");
}

TEST(Cli, SimCommandsWorkAndRefuseBadInput) {
  testing::TempDir dir;
  auto r = engram(dir, "sim tasks");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(lines(r.out), 9u) << r.out;  // five MuJoCo tasks, four TableWorld splits
  EXPECT_NE(r.out.find("tableworld-novel"), std::string::npos);
  expect_clear_error(engram(dir, "sim demos --task hopper --out " + dir.file("d.h5")), "unknown task 'hopper'");
  expect_clear_error(engram(dir, "sim play --task slalom --expert --style 7"), "expert styles 0–3, not 7");
  expect_clear_error(engram(dir, "sim inspect " + dir.write("text.h5", "hello")), "not an HDF5 file");

  r = engram(dir, "sim demos --task slalom --episodes 2 --workers 2 --out " + dir.file("d.h5"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("2 episodes"), std::string::npos) << r.out;
  r = engram(dir, "sim inspect " + dir.file("d.h5"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("task slalom, obs 4-D, action 2-D, 2 episodes"), std::string::npos) << r.out;

  r = engram(dir, "sim play --task slalom --expert --size 64 --render " + dir.file("e.gif") + " --sheet " + dir.file("e.png"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir.file("e.gif")));
  EXPECT_TRUE(std::filesystem::exists(dir.file("e.png")));
  expect_clear_error(engram(dir, "sim play --task slalom"), "--expert or --policy");

  // A (barely) trained policy: the policy commands run end to end on the dataset above.
  r = engram(dir, "policy train --quiet --data " + dir.file("d.h5") + " --out " + dir.file("pol") +
                      " --set model.channels=16 --set model.channel_hidden=16 --set model.token_hidden=4 --set model.blocks=1"
                      " --set train.steps=4 --set train.batch_size=8 --set train.eval_interval=2 --set train.holdout_every=2");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string ckpt = dir.file("pol/checkpoint.safetensors");
  r = engram(dir, "policy eval --ckpt " + ckpt + " --method rtc --delay 1 --shift 2 --episodes 2");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("slalom rtc d=1 s=2: solved"), std::string::npos) << r.out;
  {  // engram's runtime (the default for a mixer) and LibTorch solve the same episodes
    auto solved = [](const std::string& out) { return out.substr(0, out.find(',')); };
    const auto torch_path = engram(dir, "policy eval --ckpt " + ckpt + " --method rtc --delay 1 --shift 2 --episodes 2 --runtime torch");
    EXPECT_EQ(torch_path.code, 0) << torch_path.err;
    EXPECT_EQ(solved(torch_path.out), solved(r.out));
  }
  expect_clear_error(engram(dir, "policy eval --ckpt " + ckpt + " --delay 3 --shift 2"), "need d ≤ s ≤ H − d");
  r = engram(dir, "sim play --policy " + ckpt + " --size 64 --render " + dir.file("p.gif"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(dir.file("p.gif")));
  expect_clear_error(engram(dir, "policy train --data " + dir.file("text.h5") + " --out " + dir.file("bad")), "not an HDF5 file");

  // BID with its weak checkpoint, the plots, the real-time runner and their refusals.
  expect_clear_error(engram(dir, "policy eval --ckpt " + ckpt + " --method bid --episodes 2"), "--bid-contrast 0");
  r = engram(dir, "policy train --quiet --resume " + dir.file("pol") + " --set train.steps=6 --set train.weak_step=5");
  ASSERT_EQ(r.code, 0) << r.err;
  r = engram(dir, "policy eval --ckpt " + ckpt + " --method bid --delay 1 --shift 1 --episodes 2 --bid-samples 4 --bid-contrast 2"
                  " --json " + dir.file("r.jsonl"));
  EXPECT_EQ(r.code, 0) << r.err;
  r = engram(dir, "policy plot --results " + dir.file("r.jsonl") + " --out " + dir.file("plot"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("| bid K=2 N=4 |"), std::string::npos) << r.out;  // not the default 8 + 8, K = 3
  expect_clear_error(engram(dir, "policy plot --results " + dir.file("d.h5") + " --out " + dir.file("x")), "no JSON rows");
  r = engram(dir, "policy run --ckpt " + ckpt + " --hz 200 --episodes 1 --min-shift 2 --json " + dir.file("run.jsonl"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("underruns"), std::string::npos) << r.out;
  r = engram(dir, "policy run --ckpt " + ckpt + " --hz 200 --episodes 1 --min-shift 2 --runtime torch --json " + dir.file("run.jsonl"));
  EXPECT_EQ(r.code, 0) << r.err;
  {
    const std::string rows = testing::read_file(dir.file("run.jsonl"));
    const auto fast = rows.find("\"runtime\":\"fast\""), torch_row = rows.find("\"runtime\":\"torch\"");
    EXPECT_EQ(std::count(rows.begin(), rows.end(), '\n'), 2) << rows;
    ASSERT_NE(fast, std::string::npos) << rows;
    ASSERT_NE(torch_row, std::string::npos) << rows;
    EXPECT_LT(fast, torch_row);
  }
  expect_clear_error(engram(dir, "policy run --ckpt " + ckpt + " --runtime jit"), "--runtime");
  expect_clear_error(engram(dir, "policy run --ckpt " + ckpt + " --latency-ms 170"), "every chunk runs out");
  expect_clear_error(engram(dir, "policy eval --torchscript " + dir.file("text.h5") + " --task slalom"), "TorchScript module");
  expect_clear_error(engram(dir, "policy eval --torchscript " + dir.file("text.h5")), "--torchscript needs --task");
}

// Experiment settings come from defaults, then --config, then --set, then flags; results.json
// records what ran, and a bad file is refused by the same checks as the flags.
TEST(Cli, CapacitySettingsFromFileSetAndFlags) {
  testing::TempDir dir;
  const auto config = dir.write("cap.json", R"({"trials": 2, "depth_steps": 0, "fit_steps": 0, "haystack_lengths": [4, 16],
                                                "needle_step_scales": [0.3], "degrees": [1, 2], "windows": [1, 4], "seed": 1})");
  auto r = engram(dir, "capacity --out " + dir.file("cap") + " --config " + config + " --set seed=3 --trials 1");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto options = nlohmann::json::parse(testing::read_file(dir.file("cap/results.json")))["options"];
  EXPECT_EQ(options["trials"], 1);                          // the flag over the file
  EXPECT_EQ(options["seed"], 3);                            // --set over the file
  EXPECT_EQ(options["windows"], nlohmann::json({1, 4}));   // the file over the default
  EXPECT_EQ(options["key_dim"], 8);                         // the default
  expect_clear_error(engram(dir, "capacity --out " + dir.file("c2") + " --config " + dir.write("bad.json", R"({"trials": 0})")),
                     "config trials = 0 is out of range [1, 1024]");
  expect_clear_error(engram(dir, "capacity --out " + dir.file("c2") + " --set trails=2"), "unknown key 'trails'");
  EXPECT_FALSE(std::filesystem::exists(dir.file("c2")));
}

// FAST from the command line: fit on demonstrations, encode a chunk, decode it back; broken
// token sequences and tokenizer files are one-line errors.
TEST(Cli, FastFitEncodeDecode) {
  testing::TempDir dir;
  ASSERT_EQ(engram(dir, "sim demos --task slalom --episodes 6 --workers 1 --out " + dir.file("d.h5")).code, 0);
  auto r = engram(dir, "fast fit --data " + dir.file("d.h5") + " --out " + dir.file("fast.json") + " --vocab 200");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("0 decode failures"), std::string::npos) << r.out;
  r = engram(dir, "fast encode --tokenizer " + dir.file("fast.json") + " --data " + dir.file("d.h5") + " --chunk 3");
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string ids = r.out.substr(0, r.out.find('\n'));
  r = engram(dir, "fast decode --tokenizer " + dir.file("fast.json") + " " + ids);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(lines(r.out), 16u);  // H lines of D actions
  expect_clear_error(engram(dir, "fast decode --tokenizer " + dir.file("fast.json") + " " + ids.substr(0, ids.rfind(' '))),
                     "a chunk has 32");
  expect_clear_error(engram(dir, "fast decode --tokenizer " + dir.file("fast.json") + " 1 100000"), "outside the vocabulary");
  expect_clear_error(engram(dir, "fast decode --tokenizer " + dir.write("bad.json", "{\"format\": \"engram-fast-1\"}") + " 1"),
                     "bad.json: not a FAST tokenizer");
  expect_clear_error(engram(dir, "fast fit --data " + dir.file("d.h5") + " --out " + dir.file("x.json") + " --gamma 100 --vocab 64"),
                     "raise the vocabulary or lower γ");
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.json")));
}

}  // namespace
}  // namespace engram
