#include "engram/core/device.h"

#include <torch/cuda.h>

#include "engram/core/error.h"

namespace engram {

torch::Device parse_device(const std::string& name) {
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available())
      throw Error("device '" + name + "': this LibTorch build has no CUDA or no GPU is visible; use --device cpu");
    torch::Device d(name);
    if (d.has_index() && d.index() >= static_cast<int>(torch::cuda::device_count()))
      throw Error("device '" + name + "': only " + std::to_string(torch::cuda::device_count()) + " GPU(s) visible");
    return d;
  }
  throw Error("device '" + name + "': expected cpu, cuda or cuda:N");
}

}  // namespace engram
