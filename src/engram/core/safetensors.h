// safetensors files: the weight format Python users open with `safetensors.torch.load_file`.
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON header
// ({"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets"}}), then the raw
// little-endian, row-major tensor bytes.
//
// engram adds one metadata entry, "engram.crc32": a CRC-32 of the data bytes and of the header
// without that entry, so a truncated or altered file is refused on load instead of read as garbage.
// Files are written to a temporary name in the same folder, flushed and renamed, so a crash never
// leaves a half-written file under the real name.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

namespace engram {

struct SafeTensors {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;  // in file order
  std::map<std::string, std::string> metadata;

  // The tensor of that name; throws naming the file when absent.
  const torch::Tensor& at(const std::string& name) const;
  bool contains(const std::string& name) const;
  std::string source;  // the path it was read from, for error messages
};

// Writes atomically (temporary file + rename). Tensors may be on any device; they are copied to
// the CPU and made contiguous. Supported dtypes: float32/64/16, bfloat16, int64/32/16/8, uint8, bool.
void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata);

// Reads and verifies a file. Throws engram::Error with the path and the reason when the file is
// missing, truncated, not safetensors, or fails its checksum. Files without "engram.crc32"
// (written by other tools) are accepted after the structural checks.
SafeTensors load_safetensors(const std::string& path);

}  // namespace engram
