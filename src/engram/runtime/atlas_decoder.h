// Batch-1 decoding of the ATLAS family (seq/atlas.h: ATLAS, OmegaNet, Titans, DeltaNet, gated
// linear attention) outside LibTorch (runtime/decoder.h).
#pragma once

#include "engram/runtime/decoder.h"

namespace engram {

class Atlas;
std::unique_ptr<Decoder> make_atlas_decoder(const Atlas& model);

}  // namespace engram
