// Newton–Schulz orthogonalisation (ATLAS spec §6.3): the Muon inner optimiser's map from a
// momentum matrix to (approximately) its polar factor, k quintic iterations.
#pragma once

#include <torch/types.h>

namespace engram {

// NS_k over the last two dimensions of `s` (any leading batch dimensions). Works on the wide
// orientation (rows ≤ columns) so X Xᵀ is the small Gram matrix, then transposes back.
// Scale-invariant (NS(λS) = NS(S) for λ > 0) and odd; differentiable.
torch::Tensor newton_schulz(const torch::Tensor& s, int64_t steps, double eps = 1e-7);

}  // namespace engram
