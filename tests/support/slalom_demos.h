// Options for a small slalom demonstration dataset in a test's temporary folder (no progress bar).
#pragma once

#include <string>

#include "engram/sim/demo_generation.h"
#include "support/temp_dir.h"

namespace engram::testing {

inline DemoOptions slalom_demos(const TempDir& dir, int64_t episodes, int workers = 1, const std::string& name = "demos.h5") {
  DemoOptions o;
  o.task = "slalom";
  o.episodes = episodes;
  o.workers = workers;
  o.progress = false;
  o.out = dir.file(name);
  return o;
}

}  // namespace engram::testing
