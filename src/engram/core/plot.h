// Line plots as PNG files, drawn by Debian's matplotlib (/usr/bin/python3) from a JSON spec.
#pragma once

#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace engram {

struct PlotSeries {
  explicit PlotSeries(std::string label = {}, std::vector<double> x = {}, std::vector<double> y = {})
      : label(std::move(label)), x(std::move(x)), y(std::move(y)) {}
  std::string label;
  std::vector<double> x, y;
  std::vector<double> lower, upper;  // optional band (e.g. a confidence interval)
  std::string style = "-";           // matplotlib format string
};

struct PlotSpec {
  explicit PlotSpec(std::string out = {}, std::string title = {}, std::string xlabel = {}, std::string ylabel = {})
      : out(std::move(out)), title(std::move(title)), xlabel(std::move(xlabel)), ylabel(std::move(ylabel)) {}
  std::string out;  // the .png path
  std::string title, xlabel, ylabel;
  bool logx = false, logy = false;
  // Values above ymax (or not finite) are cut from their line and marked "diverged" at the top
  // edge, so one diverging curve cannot stretch the axis over every other one. NaN: no limit.
  double ymax = std::nan("");
  std::vector<PlotSeries> series;
};

// Draws the plot. Returns false (after one warning line on stderr saying why) when matplotlib is
// unavailable or fails; a missing plot never stops a training run or loses its results.
bool plot_lines(const PlotSpec& spec);

}  // namespace engram
