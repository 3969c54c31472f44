#include "engram/runtime/decoder.h"

#include "engram/core/error.h"
#include "engram/runtime/mosaic_decoder.h"
#include "engram/runtime/transformer_decoder.h"
#include "engram/seq/mosaic.h"
#include "engram/seq/transformer.h"

namespace engram {

std::unique_ptr<Decoder> make_decoder(const SequenceModel& model) {
  if (const auto* t = dynamic_cast<const Transformer*>(&model)) return make_transformer_decoder(*t);
  if (const auto* m = dynamic_cast<const MemoryMosaic*>(&model)) return make_mosaic_decoder(*m);
  throw Error("decoder: no dispatcher-free runtime for model type '" + model.describe().type +
              "' yet (transformer and mosaic have one); use step()");
}

}  // namespace engram
