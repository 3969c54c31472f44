// The message of the engram::Error that `f` throws, or "" when it throws none.
#pragma once

#include <functional>
#include <string>

#include "engram/core/error.h"

namespace engram::testing {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace engram::testing
