#include "engram/ki/recipe.h"

namespace engram::ki {

const Names<Recipe>& names_of(Recipe) {
  static const Names<Recipe> names = {{"R1", Recipe::kR1}, {"R2", Recipe::kR2}, {"R3", Recipe::kR3}, {"R4", Recipe::kR4},
                                      {"R5", Recipe::kR5}, {"R6", Recipe::kR6}, {"R7", Recipe::kR7}, {"R8", Recipe::kR8}, {"R9", Recipe::kR9},
                                      {"R10", Recipe::kR10}};
  return names;
}

RecipeFlags flags_of(Recipe r) {
  RecipeFlags f;
  switch (r) {
    case Recipe::kR1: f.flow = true; break;
    case Recipe::kR2: f.fast_ce = true; break;
    case Recipe::kR3: f.fast_ce = f.flow = true; break;
    case Recipe::kR4: f.fast_ce = f.flow = f.cotrain = true; break;
    case Recipe::kR5: f.fast_ce = f.flow = f.stop_gradient = f.cotrain = true; break;
    case Recipe::kR6: f.fast_ce = f.flow = f.stop_gradient = true; break;
    case Recipe::kR7: f.flow = f.stop_gradient = true, f.train_backbone = false; break;
    case Recipe::kR8: f.fast_ce = f.flow = f.stop_gradient = f.cotrain = f.naive_tokens = true; break;
    case Recipe::kR9: f.fast_ce = f.flow = f.stop_gradient = f.cotrain = f.action_sees_fast = true; break;
    case Recipe::kR10: f.flow = f.shared_weights = true; break;
  }
  return f;
}

}  // namespace engram::ki
