// Running the engram binary from a test: exit code, stdout and stderr, and the checks every CLI
// test makes (one-line errors).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "engram/core/process.h"
#include "support/temp_dir.h"

namespace engram::testing {

struct CliResult {
  int code;
  std::string out, err;
};

// Runs `engram args…` with an argument vector (no shell), so paths may hold spaces and quotes.
inline CliResult engram_argv(const std::vector<std::string>& args, const std::string& stdin_file = "") {
  std::vector<std::string> argv{ENGRAM_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions o;
  o.stdin_file = stdin_file;
  o.capture_stdout = true;
  const auto r = run_process(argv, o);
  return {r.exit_code, r.out, r.err};
}

inline size_t count_lines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// One line on stderr, starting "engram: error:" and containing `needle`, and exit code `code`
// (1 for a failed command, 2 for a usage error).
inline void expect_one_line_error(const CliResult& r, const std::string& needle, int code = 1) {
  EXPECT_EQ(r.code, code) << r.err;
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_EQ(r.err.rfind("engram: error:", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr: " << r.err;
}

}  // namespace engram::testing
