// KI spec §8.5 (b), a diagnostic of knowledge preservation: how far a recipe moved the backbone's
// representation of observations from stage 0's, as linear CKA between their final-layer features.
#pragma once

#include <cstdint>
#include <string>

#include <torch/types.h>

namespace engram::ki {

// Linear CKA (Kornblith et al., 2019) of features x [n, d1] and y [n, d2] (rows: the same n
// inputs): ‖ȳᵀx̄‖²_F / (‖x̄ᵀx̄‖_F ‖ȳᵀȳ‖_F) with column-centred x̄, ȳ; 1 when one is an orthogonal
// transform and scaling of the other, near 0 for unrelated features. Computed in double.
double linear_cka(const torch::Tensor& x, const torch::Tensor& y);

// CKA between the stage-0 backbone the run started from (`stage0`, or when empty its config's
// "backbone", a path as the run was given it) and the run's EMA backbone, on the final-layer
// features averaged over the prefix tokens of `observations` fixed TableWorld scenes (the three
// splits in turn, seeds 0, 1, …).
double backbone_cka(const std::string& policy_checkpoint, int64_t observations = 512, const std::string& stage0 = "");

}  // namespace engram::ki
