// Per-dimension quantile normalisation of actions (KI spec §4.1 step 1, openpi's formula):
//   a' = 2·(a − q01)/(q99 − q01 + 1e−6) − 1,
// with q01/q99 the 1st/99th percentiles over the training set (numpy's linear interpolation).
// Values beyond the quantiles are not clipped: about 2 % of them land outside [−1, 1].
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engram/core/error.h"

namespace engram {

struct Quantiles {
  std::vector<double> low, high;  // q01, q99 per dimension

  // `values` is [rows, dims] row-major.
  static Quantiles fit(const std::vector<double>& values, int64_t dims);
  double normalise(double a, int64_t dim) const;
  double unnormalise(double x, int64_t dim) const;

  // The "q01" and "q99" fields of a tokenizer file, one number per dimension, q01 ≤ q99; a problem
  // is thrown as bad(what is wrong).
  static Quantiles from_json(const nlohmann::json& j, int64_t dims, const std::function<Error(const std::string&)>& bad);
};

// numpy.percentile(x, 100·q) with linear interpolation; `x` need not be sorted.
double percentile(std::vector<double> x, double q);

}  // namespace engram
