#include "engram/fast/quantiles.h"

#include <algorithm>
#include <cmath>

#include "engram/core/error.h"

namespace engram {

double percentile(std::vector<double> x, double q) {
  if (x.empty()) throw Error("percentile of no values");
  std::sort(x.begin(), x.end());
  const double pos = q * static_cast<double>(x.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, x.size() - 1);
  return x[lo] + (pos - static_cast<double>(lo)) * (x[hi] - x[lo]);
}

Quantiles Quantiles::fit(const std::vector<double>& values, int64_t dims) {
  if (dims < 1 || values.empty() || values.size() % static_cast<size_t>(dims) != 0)
    throw Error("quantiles: expected rows of " + std::to_string(dims) + " values");
  Quantiles q;
  const size_t rows = values.size() / static_cast<size_t>(dims);
  std::vector<double> column(rows);
  for (int64_t j = 0; j < dims; ++j) {
    for (size_t r = 0; r < rows; ++r) column[r] = values[r * static_cast<size_t>(dims) + static_cast<size_t>(j)];
    q.low.push_back(percentile(column, 0.01));
    q.high.push_back(percentile(column, 0.99));
  }
  return q;
}

Quantiles Quantiles::from_json(const nlohmann::json& j, int64_t dims, const std::function<Error(const std::string&)>& bad) {
  Quantiles q;
  for (const auto& [key, out] : {std::pair<const char*, std::vector<double>*>{"q01", &q.low}, {"q99", &q.high}}) {
    if (!j.contains(key) || !j[key].is_array() || static_cast<int64_t>(j[key].size()) != dims)
      throw bad(std::string("'") + key + "' must hold one number per action dimension (" + std::to_string(dims) + ")");
    for (const auto& v : j[key]) {
      if (!v.is_number() || !std::isfinite(v.get<double>())) throw bad(std::string("'") + key + "' holds a non-number");
      out->push_back(v.get<double>());
    }
  }
  for (int64_t d = 0; d < dims; ++d)
    if (q.high[static_cast<size_t>(d)] < q.low[static_cast<size_t>(d)]) throw bad("q99 is below q01 in dimension " + std::to_string(d));
  return q;
}

double Quantiles::normalise(double a, int64_t j) const {
  const auto i = static_cast<size_t>(j);
  return 2.0 * (a - low[i]) / (high[i] - low[i] + 1e-6) - 1.0;
}

double Quantiles::unnormalise(double x, int64_t j) const {
  const auto i = static_cast<size_t>(j);
  return (x + 1.0) / 2.0 * (high[i] - low[i] + 1e-6) + low[i];
}

}  // namespace engram
