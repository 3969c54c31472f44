#include "engram/core/metrics.h"

#include "engram/core/atomic_file.h"
#include "engram/core/error.h"
#include "engram/core/json.h"

namespace engram {

std::vector<nlohmann::json> read_metrics(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    // A line cut short by a crash is skipped; the rows before it are still good.
    try {
      auto j = parse_json(line, path);
      if (j.is_object()) out.push_back(std::move(j));
    } catch (const Error&) {
    }
  }
  return out;
}

MetricsLog::MetricsLog(const std::string& path, int64_t keep_until_step) : path_(path) {
  if (keep_until_step >= 0) {
    std::string kept;
    for (const auto& r : read_metrics(path))
      if (r.value("step", int64_t{0}) < keep_until_step) kept += r.dump() + "\n";
    write_text_atomically(path, kept);
  }
  out_.open(path, std::ios::app);
  if (!out_) throw Error("cannot open " + path + " for appending");
}

void MetricsLog::write(const nlohmann::json& record) {
  out_ << record.dump() << '\n';
  out_.flush();
}

}  // namespace engram
