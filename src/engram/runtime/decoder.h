// Batch-1 decoding without LibTorch's dispatcher (llama.cpp's split between a model's definition
// and its runtime). A Decoder packs a trained model's weights once into contiguous float buffers,
// keeps its caches in buffers that grow by doubling, and runs each step as a fixed sequence of
// vectorised loops (runtime/ops): no tensors, no autograd, no per-op dispatch, no allocation in the
// steady state. At batch 1 that overhead, not arithmetic, is what a LibTorch step() pays for.
//
// The LibTorch model stays the definition, the training path and the reference: every decoder is
// tested to give the same logits as the model's step() (tests/runtime).
#pragma once

#include <cstdint>
#include <memory>

namespace engram {

class SequenceModel;

class Decoder {
 public:
  virtual ~Decoder() = default;
  // Forget the sequence: the next step() is position 0.
  virtual void reset() = 0;
  // Feeds `token` at the next position; returns the logits for the token after it ([vocab] floats,
  // valid until the next call).
  virtual const float* step(int64_t token) = 0;
  virtual int64_t vocab_size() const = 0;
  // Bytes of caches or recurrent state the next step() reads besides the weights (for the
  // bandwidth report): the key/value caches grow with the position, an ATLAS memory does not.
  virtual double state_bytes() const = 0;
  int64_t position() const { return position_; }

 protected:
  int64_t position_ = 0;
};

// A decoder for a transformer, a memory mosaic or an ATLAS-family model, with the model's current weights (copied: later
// training does not reach it). Other model types throw engram::Error naming the type.
std::unique_ptr<Decoder> make_decoder(const SequenceModel& model);
// Whether make_decoder has a runtime for this model's type.
bool has_decoder(const SequenceModel& model);

}  // namespace engram
