// Range checks for command-line numbers whose messages fit on one line ("--episodes: 0 is not in
// [1, 10000000]"), where CLI11's own print bounds like 1.797693e+308 in full.
#pragma once

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "engram/core/config.h"

namespace engram::cli {

inline std::string format_bound(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

// A number in [lo, hi].
inline CLI::Validator between(double lo, double hi) {
  const std::string range = "[" + format_bound(lo) + ", " + format_bound(hi) + "]";
  return CLI::Validator(
      [lo, hi, range](std::string& text) -> std::string {
        double v = 0;
        try {
          size_t used = 0;
          v = std::stod(text, &used);
          if (used != text.size()) return text + " is not a number";
        } catch (const std::exception&) {
          return text + " is not a number";
        }
        if (!(v >= lo && v <= hi)) return text + " is not in " + range;
        return "";
      },
      range);
}

// An integer ≥ 1.
inline const CLI::Validator positive = CLI::Validator(
    [](std::string& text) -> std::string {
      if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.find_first_not_of('0') == std::string::npos)
        return text + " is not a positive integer";
      return "";
    },
    "POSITIVE");

// An option word (from names_of(E), limited to `allowed` when given) stored as the enum; any other
// word is a usage error listing the words.
template <class E>
CLI::Option* add_choice(CLI::App* app, const std::string& flag, E& target, const std::string& help,
                        const std::vector<E>& allowed = {}) {
  std::vector<std::string> words;
  std::string list;
  for (const auto& [word, value] : names_of(E{}))
    if (allowed.empty() || std::find(allowed.begin(), allowed.end(), value) != allowed.end()) {
      words.push_back(word);
      list += (list.empty() ? "" : " | ") + word;
    }
  auto* option = app->add_option_function<std::string>(
      flag, [&target, flag](const std::string& word) { target = parse_name<E>(word, flag); }, help + ": " + list);
  option->check(CLI::Validator(
      [words, list](std::string& text) -> std::string {
        if (std::find(words.begin(), words.end(), text) != words.end()) return "";
        return text + " is not one of: " + list;
      },
      "WORD"));
  return option;
}

}  // namespace engram::cli
