#include "engram/core/plot.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engram/core/plot_script.h"  // generated from scripts/plot.py: kPlotScript

namespace engram {

bool plot_lines(const PlotSpec& spec) {
  nlohmann::json j = {{"out", spec.out}, {"title", spec.title}, {"xlabel", spec.xlabel},
                      {"ylabel", spec.ylabel}, {"logx", spec.logx}, {"logy", spec.logy}};
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
  const std::string base = spec.out + ".plot-" + std::to_string(::getpid());
  const std::string spec_path = base + ".json", script_path = base + ".py";
  std::ofstream(spec_path) << j.dump();
  std::ofstream(script_path) << kPlotScript;
  const std::string cmd = "/usr/bin/python3 '" + script_path + "' '" + spec_path + "' 2>" + base + ".err";
  const int rc = std::system(cmd.c_str());
  std::string err;
  if (rc != 0) {
    std::ifstream e(base + ".err");
    std::string line;
    while (std::getline(e, line)) err = line;  // the last line of a Python traceback says what
    std::fprintf(stderr, "warning: could not draw %s (%s); scripts/setup-deps installs python3-matplotlib\n",
                 spec.out.c_str(), err.empty() ? "/usr/bin/python3 failed" : err.c_str());
  }
  std::remove(spec_path.c_str());
  std::remove(script_path.c_str());
  std::remove((base + ".err").c_str());
  return rc == 0;
}

}  // namespace engram
