// Sequence-model checkpoints: one safetensors file holding a model's weights under their own names
// (so Python's `safetensors.torch.load_file` gives a plain state dict); training checkpoints,
// written by the Trainer (train/trainer.h), add the optimizer moments ("optimizer.*"), the
// random-generator state ("rng.*") and "engram.train_state".
//
// Header metadata: "engram.model" (the model config, enough to rebuild it), "engram.config" (the
// whole experiment), "engram.tokenizer".
#pragma once

#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "engram/core/safetensors.h"
#include "engram/data/tokenizer.h"
#include "engram/seq/model.h"

namespace engram {

struct CheckpointContents {
  nlohmann::json experiment;   // may be null for a weights-only checkpoint
  nlohmann::json train_state;  // as read back from a training checkpoint; null otherwise
  std::string tokenizer;       // tokenizer JSON, "gpt2", or empty
};

// A module's parameters and buffers under their own names: what a checkpoint holds of a model.
std::vector<std::pair<std::string, torch::Tensor>> module_tensors(torch::nn::Module& module);

// The header metadata that lets load_checkpoint rebuild `model` (model config, experiment, tokenizer).
std::map<std::string, std::string> checkpoint_metadata(SequenceModel& model, const CheckpointContents& contents);

// Writes the weights alone (e.g. an imported model), atomically.
void save_checkpoint(const std::string& path, SequenceModel& model, const CheckpointContents& contents);

struct LoadedCheckpoint {
  std::shared_ptr<SequenceModel> model;
  CheckpointContents contents;
  SafeTensors file;
};

// Reads a checkpoint, rebuilds its model from "engram.model" and loads the weights.
LoadedCheckpoint load_checkpoint(const std::string& path);

// A tokenizer named the way the CLI takes one: "gpt2", an engram tokenizer .json, or a checkpoint
// (.safetensors) that carries its tokenizer.
Tokenizer open_tokenizer(const std::string& spec);

// Copies the checkpoint's weights into `model`. Every model tensor must be present with the same
// shape, and every non-optimizer tensor in the file must belong to the model; otherwise throws
// engram::Error naming the tensor and both shapes (a checkpoint of another architecture).
void load_weights(SequenceModel& model, const SafeTensors& file);

}  // namespace engram
