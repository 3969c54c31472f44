// The one place that decides where tensors live.
#pragma once

#include <string>

#include <torch/types.h>

namespace engram {

// "cpu", "cuda" or "cuda:N". Throws engram::Error when CUDA is asked for and this LibTorch has none
// (Debian's LibTorch is CPU-only) or the index does not exist.
torch::Device parse_device(const std::string& name);

}  // namespace engram
