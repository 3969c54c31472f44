// `engram quickstart`: the main job on embedded defaults. A few minutes on 2 cores, no data to
// bring: it reports the machine, trains a BPE tokenizer and a small transformer on the licence
// texts every Debian system ships (/usr/share/common-licenses), samples from it, compares a
// 1-block memory mosaic with a 1-block transformer on in-context recall, measures how many pairs a
// test-time-trained memory stores, trains a small flow policy on expert demonstrations of the slalom
// task and compares naive asynchronous execution with real-time chunking under an inference delay,
// pre-trains a tiny TableWorld backbone and trains a KI policy and a π0-style one from it (how much
// each leaves of the backbone's language), and ends with a table and the paths of its plots.
#pragma once

#include <cstdint>
#include <string>

namespace engram {

struct QuickstartOptions {
  std::string out = "runs/quickstart";
  int64_t steps = 600;            // language-model training steps
  int64_t induction_steps = 500;  // per model in the in-context recall comparison
  int64_t demo_episodes = 80;     // slalom expert demonstrations for the flow policy
  int64_t policy_steps = 1000;    // flow-policy training steps
  int64_t policy_episodes = 128;  // episodes per (method, delay) cell
  int64_t ki_episodes = 200;      // TableWorld demonstrations
  int64_t ki_pretrain_steps = 300;  // backbone (stage 0) steps
  int64_t ki_steps = 200;         // steps of each recipe, KI (R5) and π0-style (R1)
  bool verbose = true;
};

// Returns the process exit code (0 on success); throws engram::Error on bad input.
int run_quickstart(const QuickstartOptions& options);

}  // namespace engram
