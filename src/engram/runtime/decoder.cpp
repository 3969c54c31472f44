#include "engram/runtime/decoder.h"

#include "engram/core/error.h"
#include "engram/runtime/atlas_decoder.h"
#include "engram/runtime/mosaic_decoder.h"
#include "engram/runtime/transformer_decoder.h"
#include "engram/seq/atlas.h"
#include "engram/seq/mosaic.h"
#include "engram/seq/transformer.h"

namespace engram {

std::unique_ptr<Decoder> make_decoder(const SequenceModel& model) {
  if (const auto* t = dynamic_cast<const Transformer*>(&model)) return make_transformer_decoder(*t);
  if (const auto* m = dynamic_cast<const MemoryMosaic*>(&model)) return make_mosaic_decoder(*m);
  if (const auto* a = dynamic_cast<const Atlas*>(&model)) return make_atlas_decoder(*a);
  throw Error("decoder: no dispatcher-free runtime for model type '" + model.describe().type +
              "' yet (transformer, mosaic and the ATLAS family have one); use step()");
}

bool has_decoder(const SequenceModel& model) {
  return dynamic_cast<const Transformer*>(&model) || dynamic_cast<const MemoryMosaic*>(&model) ||
         dynamic_cast<const Atlas*>(&model);
}

}  // namespace engram
