#include "engram/core/finite.h"

#include <torch/torch.h>

#include "engram/core/error.h"

namespace engram {

void require_finite(const torch::Tensor& t, const std::string& where) {
  if (!t.defined() || !t.is_floating_point()) return;
  if (!torch::isfinite(t).all().item<bool>()) throw Error(where + " holds non-finite values (NaN or Inf)");
}

}  // namespace engram
