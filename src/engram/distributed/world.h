// Where this process sits in a distributed run, read from the launcher's environment: torchrun
// (and `engram … --nproc N`, which sets the same variables) or Slurm. Nothing is set: one process.
//
//   torchrun   RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT,
//              TORCHELASTIC_RESTART_COUNT (> 0 after torchrun restarted the group)
//   Slurm      inside an srun job step only (SLURM_STEP_NUM_TASKS is set; a batch script itself is
//              one process): SLURM_PROCID, SLURM_STEP_NUM_TASKS, SLURM_LOCALID,
//              SLURM_STEP_TASKS_PER_NODE (first number), the first host of SLURM_STEP_NODELIST,
//              MASTER_PORT (default 29500)
//   ENGRAM_DISTRIBUTED=0 ignores all of them (independent runs under one srun, say).
#pragma once

#include <functional>
#include <string>

namespace engram {

struct WorldInfo {
  int rank = 0, world_size = 1;
  int local_rank = 0, local_world_size = 1;  // ranks on this machine, for the thread policy
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  int restart_count = 0;
  std::string launcher;  // "torchrun" (also engram --nproc), "slurm", or empty
  bool distributed() const { return world_size > 1; }
  bool primary() const { return rank == 0; }
};

// `env` looks a variable up (nullptr when unset); tests pass their own. Throws engram::Error naming
// the variable when a value is malformed or inconsistent (RANK ≥ WORLD_SIZE, …).
WorldInfo world_from_environment(const std::function<const char*(const char*)>& env);
WorldInfo world_from_environment();  // the process's environment

// The first host of a Slurm node list: "gpu[03-05,9],cpu1" → "gpu03", "a,b" → "a".
std::string first_slurm_host(const std::string& nodelist);

}  // namespace engram
