// Demonstration datasets in HDF5, in the layout robot-learning users already open with h5py
// (robomimic/LIBERO style):
//
//   /data                      attrs: env_args (JSON: task, dims, noise, seed, styles), total, num_demos
//   /data/demo_<i>             attrs: num_samples, success, style, style_name, episode
//   /data/demo_<i>/obs/state   float32 [T, obs_dim]   observation before each action
//   /data/demo_<i>/actions     float32 [T, act_dim]   clean expert actions (the labels)
//   /data/demo_<i>/executed_actions float32 [T, act_dim]  with actuation noise, clipped
//   /data/demo_<i>/rewards     float32 [T]
//   /data/demo_<i>/dones       uint8   [T]
//
// Readers check all of it and name the file, the demo and what is wrong.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engram/sim/episode.h"

namespace engram {

class DemoWriter {
 public:
  // Creates (truncates) `path`. `env_args` goes to /data as JSON; it must hold obs_dim and action_dim.
  DemoWriter(const std::string& path, const nlohmann::json& env_args);
  ~DemoWriter();
  DemoWriter(const DemoWriter&) = delete;
  DemoWriter& operator=(const DemoWriter&) = delete;
  // Writes /data/demo_<episode.index> and flushes, so a crash later loses nothing written before.
  void append(const Episode& episode, const std::string& style_name);
  // Writes the totals and closes; the destructor closes without them.
  void close();

 private:
  std::string path_;
  long file_ = -1, data_ = -1;
  int64_t total_ = 0, demos_ = 0;
};

struct DemoDataset {
  nlohmann::json env_args;
  std::vector<Episode> episodes;  // sorted by episode index
};

// Reads and validates a dataset (or a worker's part file); throws engram::Error on anything wrong.
DemoDataset read_demos(const std::string& path);

// Totals, and episodes and successes per expert style (indexed by style).
struct DemoSummary {
  int64_t episodes = 0, transitions = 0, successes = 0;
  std::vector<int64_t> per_style, per_style_success;
};
DemoSummary summarize(const DemoDataset& data);

}  // namespace engram
