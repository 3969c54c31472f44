// `engram sim demos`: a demonstration dataset from the task's expert styles (RTC spec §12.2).
//
// Episodes are numbered 0…N−1; episode e's style and noise streams follow from (seed, e) alone, so
// the dataset does not depend on the number of workers. Workers are processes, each writing its own
// part file (HDF5 has no safe concurrent writer) in "<out>.parts/"; when all episodes exist they are
// merged into "<out>" by writing a temporary file and renaming it. Rerunning the same command
// resumes: episodes in readable part files are kept, a corrupt part file (a crashed worker) is
// discarded and only its episodes are redone.
#pragma once

#include <cstdint>
#include <string>

#include "engram/sim/demo_file.h"

namespace engram {

struct DemoOptions {
  std::string task;
  std::string out;          // the .h5 file
  int64_t episodes = 400;
  int workers = 2;
  uint64_t seed = 0;
  bool progress = true;
};

DemoSummary generate_demos(const DemoOptions& options);

}  // namespace engram
