// Batch-1 decoding of a memory mosaic outside LibTorch (runtime/decoder.h).
#pragma once

#include "engram/runtime/decoder.h"

namespace engram {

class MemoryMosaic;
std::unique_ptr<Decoder> make_mosaic_decoder(const MemoryMosaic& model);

}  // namespace engram
