// `engram import`: a nanoMosaics `MemoryMosaic` saved by PyTorch becomes an engram MemoryMosaic
// (variant "nano") with the same logits. Key mapping and format: papers/memory-mosaics-import.md;
// the README's "Importing a nanoMosaics model" has the table.
#pragma once

#include <memory>
#include <string>

#include "engram/seq/mosaic.h"

namespace engram {

struct ImportedMosaic {
  MosaicConfig config;  // read from the tensor shapes (and `model_args` when the file has them)
  std::shared_ptr<MemoryMosaic> model;
  int64_t tensors = 0;  // state-dict entries consumed
};

// Reads `path`: either `torch.save(model.state_dict())` or nanoMosaics' training checkpoint (a dict
// whose "model" entry is the state dict; the `_orig_mod.` prefix of a compiled model is removed).
// Unknown, missing or misshapen keys, an untied lm_head and a wrong causal-mask buffer are errors
// that name the key.
ImportedMosaic import_nano_mosaic(const std::string& path);

}  // namespace engram
