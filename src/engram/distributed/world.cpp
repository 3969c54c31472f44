#include "engram/distributed/world.h"

#include <cstdlib>

#include "engram/core/error.h"

namespace engram {

namespace {

int integer(const std::function<const char*(const char*)>& env, const char* name, int fallback, int lo, int hi) {
  const char* v = env(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  // Slurm's tasks-per-node lists read "2(x3)" or "2,1": this node's… the first count leads.
  if (end == v || (*end && *end != '(' && *end != ',') || x < lo || x > hi)
    throw Error(std::string("environment variable ") + name + " = \"" + v + "\" is not an integer in [" + std::to_string(lo) +
                ", " + std::to_string(hi) + "]");
  return static_cast<int>(x);
}

}  // namespace

std::string first_slurm_host(const std::string& nodelist) {
  const auto bracket = nodelist.find('['), comma = nodelist.find(',');
  if (bracket == std::string::npos || (comma != std::string::npos && comma < bracket))
    return nodelist.substr(0, comma);
  const std::string prefix = nodelist.substr(0, bracket);
  const auto end = nodelist.find_first_of(",-]", bracket + 1);
  if (end == std::string::npos) throw Error("Slurm node list \"" + nodelist + "\" is malformed");
  return prefix + nodelist.substr(bracket + 1, end - bracket - 1);
}

WorldInfo world_from_environment(const std::function<const char*(const char*)>& env) {
  WorldInfo w;
  constexpr int kMost = 1 << 20;
  if (const char* off = env("ENGRAM_DISTRIBUTED"); off && std::string(off) == "0") return w;
  if (env("RANK") || env("WORLD_SIZE")) {
    w.launcher = "torchrun";
    w.rank = integer(env, "RANK", -1, 0, kMost);
    w.world_size = integer(env, "WORLD_SIZE", -1, 1, kMost);
    if (w.rank < 0 || w.world_size < 0) throw Error("environment: RANK and WORLD_SIZE must be set together");
    w.local_rank = integer(env, "LOCAL_RANK", w.rank, 0, kMost);
    w.local_world_size = integer(env, "LOCAL_WORLD_SIZE", w.world_size, 1, kMost);
    w.restart_count = integer(env, "TORCHELASTIC_RESTART_COUNT", 0, 0, kMost);
  } else if (env("SLURM_PROCID") && env("SLURM_STEP_NUM_TASKS")) {
    w.launcher = "slurm";
    w.rank = integer(env, "SLURM_PROCID", 0, 0, kMost);
    w.world_size = integer(env, "SLURM_STEP_NUM_TASKS", 1, 1, kMost);
    w.local_rank = integer(env, "SLURM_LOCALID", 0, 0, kMost);
    w.local_world_size = integer(env, "SLURM_STEP_TASKS_PER_NODE", w.world_size, 1, kMost);
    const char* nodes = env("SLURM_STEP_NODELIST") ? env("SLURM_STEP_NODELIST") : env("SLURM_JOB_NODELIST");
    if (!nodes || !*nodes) throw Error("environment: Slurm gives SLURM_PROCID but no SLURM_STEP_NODELIST");
    w.master_addr = first_slurm_host(nodes);
  } else {
    return w;
  }
  if (const char* addr = env("MASTER_ADDR"); addr && *addr) w.master_addr = addr;
  w.master_port = integer(env, "MASTER_PORT", w.master_port, 1, 65535);
  if (w.rank >= w.world_size)
    throw Error("environment: rank " + std::to_string(w.rank) + " is not below the world size " + std::to_string(w.world_size));
  if (w.local_rank >= w.local_world_size)
    throw Error("environment: local rank " + std::to_string(w.local_rank) + " is not below the local world size " +
                std::to_string(w.local_world_size));
  return w;
}

WorldInfo world_from_environment() {
  return world_from_environment([](const char* name) { return static_cast<const char*>(std::getenv(name)); });
}

}  // namespace engram
