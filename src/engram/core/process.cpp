#include "engram/core/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engram/core/error.h"

namespace engram {

namespace {

// Between fork and exec only async-signal-safe calls are allowed (the parent may have threads).
// PR_SET_PDEATHSIG follows the thread that forked, which waits for the child in run_process.
[[noreturn]] void exec_child(const std::vector<char*>& argv, int in_fd, int out_fd, int err_fd, pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
  ::dup2(in_fd, 0);
  ::dup2(out_fd, 1);
  ::dup2(err_fd, 2);
  ::execv(argv[0], argv.data());
  const char* msg = "engram: cannot execute ";
  (void)!::write(2, msg, std::strlen(msg));
  (void)!::write(2, argv[0], std::strlen(argv[0]));
  (void)!::write(2, "\n", 1);
  ::_exit(127);
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& args, const ProcessOptions& options) {
  if (args.empty()) throw Error("run_process: empty argument vector");
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  int in_fd = -1;
  if (!options.stdin_text.empty()) {
    in_fd = ::memfd_create("engram-stdin", MFD_CLOEXEC);
    const char* p = options.stdin_text.data();
    size_t left = options.stdin_text.size();
    while (in_fd >= 0 && left > 0) {
      const ssize_t n = ::write(in_fd, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) close_fd(in_fd);
      else p += n, left -= static_cast<size_t>(n);
    }
    if (in_fd < 0 || ::lseek(in_fd, 0, SEEK_SET) != 0)
      throw Error("cannot prepare the input of " + args[0] + ": " + std::strerror(errno));
  } else {
    const std::string in_path = options.stdin_file.empty() ? "/dev/null" : options.stdin_file;
    in_fd = ::open(in_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (in_fd < 0) throw Error("cannot open " + in_path + " for " + args[0] + ": " + std::strerror(errno));
  }
  int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  if ((options.capture_stdout && ::pipe2(out_pipe, O_CLOEXEC) != 0) ||
      (options.capture_stderr && ::pipe2(err_pipe, O_CLOEXEC) != 0)) {
    const std::string why = std::strerror(errno);
    for (int* fd : {&in_fd, &null_fd, &out_pipe[0], &out_pipe[1], &err_pipe[0], &err_pipe[1]}) close_fd(*fd);
    throw Error("cannot create a pipe for " + args[0] + ": " + why);
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0)
    exec_child(argv, in_fd, options.capture_stdout ? out_pipe[1] : null_fd, options.capture_stderr ? err_pipe[1] : null_fd,
               parent);
  const int fork_errno = errno;
  for (int* fd : {&in_fd, &null_fd, &out_pipe[1], &err_pipe[1]}) close_fd(*fd);
  if (pid < 0) {
    close_fd(out_pipe[0]);
    close_fd(err_pipe[0]);
    throw Error("cannot start " + args[0] + ": " + std::strerror(fork_errno));
  }

  // Read both pipes until the child closes them; polling keeps a full stderr from blocking stdout.
  ProcessResult result;
  struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  char buf[4096];
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      for (auto& f : fds) close_fd(f.fd);
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
      }
    }
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
  return result;
}

bool process_alive(long pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

}  // namespace engram
