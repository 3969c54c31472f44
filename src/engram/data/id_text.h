// Token ids as text: whitespace-separated non-negative integers, one sequence per line (what
// `engram tokenize encode --lines` writes and `engram eval --tokens` reads).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace engram {

// The whole of a file, or of stdin when `path` is empty or "-".
std::string read_input(const std::string& path);

// One vector of ids per non-empty line; errors name `source`, the line and the token.
std::vector<std::vector<int64_t>> parse_id_lines(const std::string& text, const std::string& source);

// "1 2 3": the ids of one line.
std::string format_ids(const std::vector<int>& ids);

}  // namespace engram
