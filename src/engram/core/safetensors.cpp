#include "engram/core/safetensors.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engram/core/atomic_file.h"
#include "engram/core/error.h"
#include "engram/core/json.h"
#include "engram/core/text_file.h"

namespace engram {
namespace {

using json = nlohmann::json;
const char* kChecksumKey = "engram.crc32";

struct DtypeName {
  torch::ScalarType type;
  const char* name;
};
const DtypeName kDtypes[] = {
    {torch::kFloat32, "F32"}, {torch::kFloat64, "F64"}, {torch::kFloat16, "F16"},
    {torch::kBFloat16, "BF16"}, {torch::kInt64, "I64"}, {torch::kInt32, "I32"},
    {torch::kInt16, "I16"}, {torch::kInt8, "I8"}, {torch::kUInt8, "U8"}, {torch::kBool, "BOOL"},
};

const char* dtype_name(torch::ScalarType t) {
  for (const auto& d : kDtypes)
    if (d.type == t) return d.name;
  throw Error(std::string("safetensors: unsupported dtype ") + c10::toString(t));
}

torch::ScalarType dtype_from_name(const std::string& name, const std::string& where) {
  for (const auto& d : kDtypes)
    if (name == d.name) return d.type;
  throw Error(where + ": unsupported dtype '" + name + "'");
}

// CRC over the data, then over the header with the checksum entry removed (canonical dump:
// nlohmann's object keys are sorted, so the text does not depend on the writer's key order).
uint32_t checksum(json header, const char* data, std::size_t size) {
  if (header.contains("__metadata__")) header["__metadata__"].erase(kChecksumKey);
  uLong crc = crc32(0L, Z_NULL, 0);
  std::size_t done = 0;
  while (done < size) {  // zlib takes uInt lengths
    const std::size_t n = std::min<std::size_t>(size - done, 1u << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data + done), static_cast<uInt>(n));
    done += n;
  }
  const std::string text = header.dump();
  crc = crc32(crc, reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size()));
  return static_cast<uint32_t>(crc);
}

std::string hex32(uint32_t x) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", x);
  return buf;
}

}  // namespace

const torch::Tensor& SafeTensors::at(const std::string& name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  throw Error(source + ": no tensor named '" + name + "'");
}

bool SafeTensors::contains(const std::string& name) const {
  for (const auto& item : tensors)
    if (item.first == name) return true;
  return false;
}

void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  std::vector<torch::Tensor> cpu;
  std::size_t offset = 0;
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__" || header.contains(name))
      throw Error("safetensors " + path + ": duplicate or reserved tensor name '" + name + "'");
    torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    const std::size_t bytes = c.numel() * c.element_size();
    header[name] = {{"dtype", dtype_name(c.scalar_type())},
                    {"shape", c.sizes().vec()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    cpu.push_back(c);
  }
  json meta = json::object();
  for (const auto& [k, v] : metadata) meta[k] = v;
  header["__metadata__"] = meta;

  std::string data(offset, '\0');
  std::size_t at = 0;
  for (const auto& c : cpu) {
    const std::size_t bytes = c.numel() * c.element_size();
    if (bytes) std::memcpy(&data[at], c.data_ptr(), bytes);
    at += bytes;
  }
  header["__metadata__"][kChecksumKey] = hex32(checksum(header, data.data(), data.size()));

  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // align the data to 8 bytes, as the format suggests
  uint64_t n = text.size();
  char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<char>((n >> (8 * i)) & 0xff);

  write_file_atomically(path, [&](std::ostream& out) {
    out.write(len, 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
  });
}

SafeTensors load_safetensors(const std::string& path) {
  const std::string file = read_text_file(path, "checkpoint");
  const std::string where = "checkpoint " + path;
  if (file.size() < 8) throw Error(where + ": truncated (" + std::to_string(file.size()) + " bytes)");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(file[i])) << (8 * i);
  if (n > file.size() - 8) throw Error(where + ": truncated or not a safetensors file (header length " +
                                       std::to_string(n) + " exceeds file size)");
  json header;
  try {
    header = parse_json(std::string_view(file.data() + 8, n), where + ": header");
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (corrupt or not a safetensors file)");
  }
  if (!header.is_object()) throw Error(where + ": header is not a JSON object");
  const char* data = file.data() + 8 + n;
  const std::size_t data_size = file.size() - 8 - n;

  SafeTensors result;
  result.source = path;
  if (header.contains("__metadata__")) {
    for (const auto& item : header["__metadata__"].items()) {
      if (!item.value().is_string()) throw Error(where + ": metadata '" + item.key() + "' is not a string");
      result.metadata[item.key()] = item.value().get<std::string>();
    }
  }

  // Data offsets must tile the buffer; anything shorter means the file was cut off.
  std::vector<std::tuple<std::size_t, std::size_t, std::string>> spans;
  for (const auto& item : header.items()) {
    if (item.key() == "__metadata__") continue;
    const json& e = item.value();
    const std::string what = where + ": tensor '" + item.key() + "'";
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
      throw Error(what + " lacks dtype, shape or data_offsets");
    const auto dtype = dtype_from_name(e["dtype"].get<std::string>(), what);
    const auto shape = e["shape"].get<std::vector<int64_t>>();
    const auto off = e["data_offsets"].get<std::vector<std::size_t>>();
    int64_t numel = 1;
    for (auto s : shape) numel *= s;
    const std::size_t bytes = static_cast<std::size_t>(numel) * c10::elementSize(dtype);
    if (off.size() != 2 || off[1] < off[0] || off[1] - off[0] != bytes)
      throw Error(what + ": data_offsets do not match its shape and dtype");
    if (off[1] > data_size)
      throw Error(where + ": truncated (tensor '" + item.key() + "' ends at byte " + std::to_string(off[1]) +
                  " of a " + std::to_string(data_size) + "-byte data section)");
    spans.emplace_back(off[0], off[1], item.key());
    torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(dtype));
    if (bytes) std::memcpy(t.data_ptr(), data + off[0], bytes);
    result.tensors.emplace_back(item.key(), t);
  }
  std::sort(spans.begin(), spans.end());
  std::size_t end = 0;
  for (const auto& [b, e, name] : spans) {
    if (b != end) throw Error(where + ": tensor '" + name + "' overlaps or leaves a gap in the data section");
    end = e;
  }
  if (end != data_size)
    throw Error(where + ": " + std::to_string(data_size - end) + " trailing bytes after the last tensor");

  // Restore file order (safetensors writers order tensors by offset).
  std::sort(result.tensors.begin(), result.tensors.end(), [&](const auto& a, const auto& b) {
    return header[a.first]["data_offsets"][0].template get<std::size_t>() <
           header[b.first]["data_offsets"][0].template get<std::size_t>();
  });

  auto stored = result.metadata.find(kChecksumKey);
  if (stored != result.metadata.end()) {
    const std::string actual = hex32(checksum(header, data, data_size));
    if (actual != stored->second)
      throw Error(where + ": checksum mismatch (stored " + stored->second + ", computed " + actual +
                  "): the file is corrupt");
  }
  return result;
}

}  // namespace engram
