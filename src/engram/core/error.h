// engram::Error — the one exception type engram throws for anything a user can cause.
//
// Its message is a complete sentence for one line of stderr: what was wrong, where (file, key,
// tensor name) and, when it is not obvious, what to do. The CLI prints it and exits non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace engram {

struct Error : std::runtime_error {
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace engram
