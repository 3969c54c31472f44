// Running another program: an argument vector handed to exec, never a command line for a shell,
// so no path or name a user typed can be read as shell syntax.
#pragma once

#include <string>
#include <vector>

namespace engram {

struct ProcessOptions {
  std::string stdin_file;      // read as the child's stdin; empty = /dev/null ...
  std::string stdin_text;      // ... unless this is given (held in memory, never on disk)
  bool capture_stdout = false;  // false: the child's stdout goes to /dev/null
  bool capture_stderr = true;   // false: the child's stderr goes to /dev/null
};

struct ProcessResult {
  int exit_code = -1;  // the child's exit status; 128 + N when signal N ended it; -1 when it never ran
  std::string out, err;
};

// Runs argv[0] (a path; PATH is not searched) with argv and waits for it. The child is killed
// when the calling thread exits, so a parent killed with SIGKILL leaves no orphan behind.
// Throws engram::Error when the process cannot be created at all; a program that cannot be
// executed gives exit code 127 and a message in `err`.
ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options = {});

// Whether a process with this id exists (used to tell stale temporaries of dead processes).
bool process_alive(long pid);

}  // namespace engram
