// metrics.jsonl: one JSON object per line, appended and flushed as training goes, so a crash loses
// at most the line being written and other programs can tail the file.
#pragma once

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace engram {

class MetricsLog {
 public:
  // Opens for appending. With keep_until_step >= 0, first drops every line whose "step" is at or
  // beyond it (a resumed run rewrites what happened after its checkpoint).
  explicit MetricsLog(const std::string& path, int64_t keep_until_step = -1);
  void write(const nlohmann::json& record);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::ofstream out_;
};

// Every record of a metrics file (lines that fail to parse, e.g. a torn last line, are skipped).
std::vector<nlohmann::json> read_metrics(const std::string& path);

}  // namespace engram
