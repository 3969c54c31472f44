#include "engram/core/table.h"

#include <algorithm>
#include <cstdio>

namespace engram {

void print_table(const std::vector<TableRow>& rows, const std::vector<std::string>& header) {
  std::vector<size_t> w(4, 0);
  auto width = [](const std::string& s) {  // count UTF-8 code points, not bytes
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  };
  auto cells = [](const TableRow& r) { return std::vector<std::string>{r.name, r.value, r.unit, r.note}; };
  std::vector<TableRow> all{{header[0], header[1], header[2], header[3]}};
  all.insert(all.end(), rows.begin(), rows.end());
  for (const auto& r : all) {
    auto c = cells(r);
    for (size_t i = 0; i < 4; ++i) w[i] = std::max(w[i], width(c[i]));
  }
  for (size_t k = 0; k < all.size(); ++k) {
    auto c = cells(all[k]);
    std::string line;
    for (size_t i = 0; i < 4; ++i) {
      const bool right = i == 1;
      const std::string pad(w[i] - width(c[i]), ' ');
      line += (right ? pad + c[i] : c[i] + (i == 3 ? "" : pad)) + (i == 3 ? "" : "  ");
    }
    std::printf("%s\n", line.c_str());
    if (k == 0) {
      std::string rule;
      for (size_t i = 0; i < 4; ++i) rule += std::string(w[i], '-') + (i == 3 ? "" : "  ");
      std::printf("%s\n", rule.c_str());
    }
  }
  std::fflush(stdout);
}

}  // namespace engram
