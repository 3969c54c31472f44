// `engram … --nproc N`: this program started N times on this machine as ranks 0…N−1 of one
// group, with the variables torchrun would set (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR = 127.0.0.1, MASTER_PORT = a free port), and supervised: when a rank fails or is
// killed, the others are stopped (SIGTERM, SIGKILL after 10 s) and one line says which rank and
// how. Ctrl-C and SIGTERM reach every rank, which stop after their step with a checkpoint.
#pragma once

#include <string>
#include <vector>

namespace engram {

// Runs /proc/self/exe with `args` (argv without argv[0] and without --nproc) as `n` ranks.
// Returns the exit code for main: 0 when every rank succeeded. Throws engram::Error when this
// process is itself already a rank of a group (torchrun, Slurm).
int run_local_group(int n, const std::vector<std::string>& args);

// A TCP port on 127.0.0.1 nobody listens on now (the kernel's choice).
int free_loopback_port();

// `argv` without its first element and without "--nproc N" / "--nproc=N".
std::vector<std::string> arguments_without_nproc(int argc, const char* const* argv);

}  // namespace engram
