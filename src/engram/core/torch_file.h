// Reading files that PyTorch's `torch.save` writes (the zip format, default since PyTorch 1.6):
// a pickle (`data.pkl`) whose tensors point at raw storages stored next to it (`data/<key>`).
//
// LibTorch 1.13's `torch::pickle_load` cannot read a `state_dict()`: the OrderedDict carries a
// `_metadata` attribute that its unpickler refuses. This reader implements the part of the pickle
// protocol (2 to 4) that state dicts and training checkpoints use, and turns every value into a
// small tree of PyValue. Objects it does not know are kept as opaque values, so a checkpoint can
// hold anything next to the tensors that are asked for.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

namespace engram {

struct PyValue;
using PyRef = std::shared_ptr<PyValue>;

struct PyValue {
  enum class Kind { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Tensor, Global, Object };
  Kind kind = Kind::None;
  bool boolean = false;
  int64_t integer = 0;
  double number = 0.0;
  std::string text;                              // String, Bytes; "module.name" for Global/Object
  std::vector<PyRef> items;                      // Tuple, List
  std::vector<std::pair<PyRef, PyRef>> entries;  // Dict, in insertion order
  torch::Tensor tensor;

  // For dicts with string keys: the value, or null.
  PyRef get(const std::string& key) const;
  std::string kind_name() const;
};

// Reads a `torch.save` file. Throws engram::Error naming the file on anything it cannot read
// (not a zip archive, a truncated record, a pickle opcode outside the supported set).
PyRef read_torch_file(const std::string& path);

// The string-keyed tensors of a dict (a state dict), in file order; throws if `value` is not a
// dict or holds a non-tensor value under a string key.
std::vector<std::pair<std::string, torch::Tensor>> tensor_dict(const PyValue& value, const std::string& where);

}  // namespace engram
