// Batch-1 decoding of a transformer outside LibTorch (runtime/decoder.h).
#pragma once

#include "engram/runtime/decoder.h"

namespace engram {

class Transformer;
std::unique_ptr<Decoder> make_transformer_decoder(const Transformer& model);

}  // namespace engram
