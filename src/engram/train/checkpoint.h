// Checkpoints: one safetensors file holding a model's weights under their own names (so Python's
// `safetensors.torch.load_file` gives a plain state dict), plus, for training checkpoints, the
// optimizer moments ("optimizer.*") and random-generator state ("rng.*").
//
// Header metadata: "engram.model" (the model config, enough to rebuild it), "engram.config" (the
// whole experiment), "engram.train_state" (step and counters), "engram.tokenizer".
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "engram/core/safetensors.h"
#include "engram/seq/model.h"
#include "engram/train/adamw.h"

namespace engram {

struct CheckpointContents {
  nlohmann::json experiment;   // may be null for a weights-only checkpoint
  nlohmann::json train_state;  // may be null
  std::string tokenizer;       // tokenizer JSON, "gpt2", or empty
};

// Writes atomically. `optimizer` may be null (weights only).
void save_checkpoint(const std::string& path, SequenceModel& model, const AdamW* optimizer,
                     const CheckpointContents& contents);

struct LoadedCheckpoint {
  std::shared_ptr<SequenceModel> model;
  CheckpointContents contents;
  SafeTensors file;
};

// Reads a checkpoint, rebuilds its model from "engram.model" and loads the weights.
LoadedCheckpoint load_checkpoint(const std::string& path);

// Copies the checkpoint's weights into `model`. Every model tensor must be present with the same
// shape, and every non-optimizer tensor in the file must belong to the model; otherwise throws
// engram::Error naming the tensor and both shapes (a checkpoint of another architecture).
void load_weights(SequenceModel& model, const SafeTensors& file);

// The optimizer tensors of a checkpoint, with the "optimizer." prefix removed.
std::vector<std::pair<std::string, torch::Tensor>> optimizer_tensors(const SafeTensors& file);

}  // namespace engram
