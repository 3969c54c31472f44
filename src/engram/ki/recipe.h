// The training recipes of KI spec §8.4: which losses a run trains, and whether the flow loss reaches
// the backbone.
//
//   R1 π0-style           flow only, flow gradients into the backbone
//   R2 π0-FAST-style      FAST cross-entropy only, no expert (AR FAST decoding at inference)
//   R3 joint, no sg       FAST CE + flow, flow gradients into the backbone
//   R4 joint, no sg       as R3, plus LM co-training
//   R5 KI                 FAST CE + flow with the stop-gradient, plus LM co-training — the recipe
//   R6 KI, no co-train    as R5 without LM co-training
//   R7 frozen backbone    flow only, the backbone not trained
//   R8 KI, naïve tokens   as R5 with one 32-bin token per action value instead of FAST
//   R9 leaky KI           as R5, but the action tokens may attend the FAST block (what the mask prevents)
//   R10 Transfusion-like  flow only, no expert: the backbone's own weights denoise the action tokens
#pragma once

#include "engram/core/config.h"

namespace engram::ki {

enum class Recipe { kR1, kR2, kR3, kR4, kR5, kR6, kR7, kR8, kR9, kR10 };
const Names<Recipe>& names_of(Recipe);

struct RecipeFlags {
  bool fast_ce = false;          // backbone cross-entropy on the FAST block
  bool flow = false;             // an action expert trained by flow matching
  bool stop_gradient = false;    // the expert reads detached backbone K/V
  bool cotrain = false;          // LM batches beside the robot batch
  bool train_backbone = true;    // false: the backbone is frozen
  bool action_sees_fast = false;
  bool naive_tokens = false;     // the backbone learns bin tokens (bin_tokenizer.h), not FAST
  bool shared_weights = false;   // the action tokens go through the backbone's layers
};

RecipeFlags flags_of(Recipe recipe);

}  // namespace engram::ki
