// Aligned text tables on stdout (benchmarks, experiment summaries, the quickstart).
#pragma once

#include <string>
#include <vector>

namespace engram {

struct TableRow {
  std::string name, value, unit, note;
};

// Prints the header, a rule and the rows, columns padded to their widest cell (in UTF-8 code
// points); the value column is right-aligned.
void print_table(const std::vector<TableRow>& rows, const std::vector<std::string>& header);

}  // namespace engram
