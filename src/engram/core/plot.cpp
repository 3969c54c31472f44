#include "engram/core/plot.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engram/core/atomic_file.h"
#include "engram/core/plot_script.h"  // generated from scripts/plot.py: kPlotScript
#include "engram/core/process.h"

namespace engram {

bool plot_lines(const PlotSpec& spec) {
  nlohmann::json j = {{"out", spec.out}, {"title", spec.title}, {"xlabel", spec.xlabel},
                      {"ylabel", spec.ylabel}, {"logx", spec.logx}, {"logy", spec.logy}};
  if (std::isfinite(spec.ymax)) j["ymax"] = spec.ymax;
  j["series"] = nlohmann::json::array();
  for (const auto& s : spec.series) {
    nlohmann::json e = {{"label", s.label}, {"x", s.x}, {"y", s.y}, {"style", s.style}};
    if (!s.lower.empty()) e["lower"] = s.lower, e["upper"] = s.upper;
    j["series"].push_back(e);
  }
  std::error_code ec;
  const auto parent = std::filesystem::path(spec.out).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) {
    std::fprintf(stderr, "warning: could not draw %s (cannot create %s: %s)\n", spec.out.c_str(), parent.c_str(),
                 ec.message().c_str());
    return false;
  }
  remove_stale_temporaries(spec.out);
  // The spec goes to the plotter on stdin, the script as an argument: no shell, and nothing of
  // ours on disk but the picture (written beside it under a temporary name, then renamed).
  ProcessOptions options;
  options.stdin_text = j.dump();
  ProcessResult r;
  try {
    // -I: isolated mode, so neither the current folder (a json.py there) nor PYTHON* variables
    // can change what runs.
    r = run_process({"/usr/bin/python3", "-I", "-c", kPlotScript}, options);
  } catch (const std::exception& e) {
    r.err = e.what();
  }
  if (r.exit_code != 0) {
    std::string last;  // the last line of a Python traceback says what
    size_t end = r.err.find_last_not_of('\n');
    if (end != std::string::npos) {
      const size_t begin = r.err.rfind('\n', end);
      last = r.err.substr(begin == std::string::npos ? 0 : begin + 1, end - (begin == std::string::npos ? 0 : begin + 1) + 1);
    }
    std::fprintf(stderr, "warning: could not draw %s (%s); scripts/setup-deps installs python3-matplotlib\n",
                 spec.out.c_str(), last.empty() ? "/usr/bin/python3 failed" : last.c_str());
  }
  return r.exit_code == 0;
}

}  // namespace engram
