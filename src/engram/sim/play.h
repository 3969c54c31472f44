// `engram sim play`: one episode to watch — an animated GIF of every control step and, optionally, a
// contact sheet of eight evenly spaced frames.
#pragma once

#include <cstdint>
#include <string>

namespace engram {

struct PlayOptions {
  std::string task;
  int style = 0;            // expert style
  uint64_t episode = 0;     // which noise stream (as episode e of a dataset with seed `seed`)
  uint64_t seed = 0;
  std::string gif;          // optional
  std::string sheet;        // optional PNG
  int size = 240;           // pixels per side
};

struct PlayResult {
  int steps = 0;
  bool success = false;
  std::string style;
};

PlayResult play_expert(const PlayOptions& options);

}  // namespace engram
