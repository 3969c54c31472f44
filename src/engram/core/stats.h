// Small statistics for reported numbers.
#pragma once

#include <cstdint>
#include <utility>

namespace engram {

// Wilson score interval for k successes in n trials at z = 1.96 (a 95 % interval that stays inside
// [0, 1] and behaves at k = 0 or k = n); n = 0 gives [0, 1].
std::pair<double, double> wilson_interval(int64_t k, int64_t n, double z = 1.96);

}  // namespace engram
