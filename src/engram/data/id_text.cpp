#include "engram/data/id_text.h"

#include <iostream>
#include <iterator>
#include <sstream>

#include "engram/core/error.h"
#include "engram/core/text_file.h"

namespace engram {

std::string read_input(const std::string& path) {
  if (path.empty() || path == "-")
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  return read_text_file(path, "input file");
}

std::vector<std::vector<int64_t>> parse_id_lines(const std::string& text, const std::string& source) {
  std::vector<std::vector<int64_t>> lines;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::istringstream words(line);
    std::vector<int64_t> ids;
    std::string w;
    while (words >> w) {
      std::size_t used = 0;
      long long v = 0;
      try {
        v = std::stoll(w, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != w.size() || v < 0)
        throw Error(source + ":" + std::to_string(lineno) + ": '" + w + "' is not a token id (non-negative integer)");
      ids.push_back(v);
    }
    if (!ids.empty()) lines.push_back(std::move(ids));
  }
  return lines;
}

std::string format_ids(const std::vector<int>& ids) {
  std::string line;
  for (size_t i = 0; i < ids.size(); ++i) line += (i ? " " : "") + std::to_string(ids[i]);
  return line;
}

}  // namespace engram
