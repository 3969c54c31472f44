// Runs a shell command for a test and returns what it printed on stdout.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace engram::testing {

inline std::string run_shell(const std::string& cmd, int* code) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) {
    *code = -1;
    return out;
  }
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  *code = WEXITSTATUS(::pclose(p));
  return out;
}

}  // namespace engram::testing
