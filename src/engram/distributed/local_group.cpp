#include "engram/distributed/local_group.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "engram/core/error.h"
#include "engram/distributed/world.h"

namespace engram {

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error("cannot open a socket to find a free port");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw Error("cannot find a free port on 127.0.0.1");
  }
  const int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

namespace {

volatile sig_atomic_t g_signal = 0;
void remember(int sig) { g_signal = sig; }

std::string how_it_ended(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return "was killed by signal " + std::to_string(sig) + " (" + strsignal(sig) + ")";
  }
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

}  // namespace

std::vector<std::string> arguments_without_nproc(int argc, const char* const* argv) {
  std::vector<std::string> out;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--nproc") {
      ++i;
      continue;
    }
    if (a.rfind("--nproc=", 0) == 0) continue;
    out.push_back(a);
  }
  return out;
}

int run_local_group(int n, const std::vector<std::string>& args) {
  if (world_from_environment().distributed())
    throw Error("--nproc: this process is already one rank of a group (torchrun, Slurm); leave --nproc out");
  const std::string port = std::to_string(free_loopback_port());  // rank 0's store binds it moments later
  std::vector<pid_t> pids(static_cast<size_t>(n), -1);
  struct sigaction on_signal {}, old_int {}, old_term {};
  on_signal.sa_handler = remember;
  sigemptyset(&on_signal.sa_mask);
  ::sigaction(SIGINT, &on_signal, &old_int);
  ::sigaction(SIGTERM, &on_signal, &old_term);
  std::fflush(nullptr);
  for (int r = 0; r < n; ++r) {
    const pid_t pid = ::fork();
    if (pid < 0) throw Error("--nproc: cannot start rank " + std::to_string(r) + ": " + std::strerror(errno));
    if (pid == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // a supervisor killed with SIGKILL takes its ranks along
      ::sigaction(SIGINT, &old_int, nullptr);
      ::sigaction(SIGTERM, &old_term, nullptr);
      ::setenv("RANK", std::to_string(r).c_str(), 1);
      ::setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(n).c_str(), 1);
      ::setenv("LOCAL_WORLD_SIZE", std::to_string(n).c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", port.c_str(), 1);
      std::vector<char*> argv;
      static char self[] = "/proc/self/exe";
      argv.push_back(self);
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(self, argv.data());
      std::fprintf(stderr, "engram: error: --nproc: cannot start rank %d: %s\n", r, std::strerror(errno));
      ::_exit(127);
    }
    pids[static_cast<size_t>(r)] = pid;
  }

  int running = n, failed_rank = -1, failed_status = 0, rank0_status = 0;
  bool forwarded = false;
  auto stop_deadline = std::chrono::steady_clock::time_point::max();
  while (running > 0) {
    if (g_signal && !forwarded) {  // Ctrl-C or SIGTERM: every rank stops after its step
      for (pid_t p : pids)
        if (p > 0) ::kill(p, g_signal);
      forwarded = true;
    }
    int status = 0;
    const pid_t done = ::waitpid(-1, &status, WNOHANG);
    if (done > 0) {
      --running;
      for (int r = 0; r < n; ++r)
        if (pids[static_cast<size_t>(r)] == done) {
          pids[static_cast<size_t>(r)] = -1;
          if (r == 0) rank0_status = status;
          const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
          // After Ctrl-C or SIGTERM every rank stops on its own (rank 0 with a checkpoint): not a failure.
          if (!ok && failed_rank < 0 && !forwarded) {
            failed_rank = r, failed_status = status;
            for (pid_t p : pids)
              if (p > 0) ::kill(p, SIGTERM);
            stop_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
          }
        }
      continue;
    }
    if (std::chrono::steady_clock::now() > stop_deadline)
      for (pid_t p : pids)
        if (p > 0) ::kill(p, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  if (forwarded && failed_rank < 0) return WIFEXITED(rank0_status) && WEXITSTATUS(rank0_status) == 0 ? 0 : 1;  // rank 0 said why
  if (failed_rank < 0) return 0;
  std::fprintf(stderr, "engram: error: rank %d of %d %s; the other ranks were stopped\n", failed_rank, n,
               how_it_ended(failed_status).c_str());
  return 1;
}

}  // namespace engram
