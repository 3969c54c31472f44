#include "engram/core/safetensors.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "engram/core/error.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

std::string error_of(const std::string& path) {
  try {
    load_safetensors(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(SafeTensors, RoundTripsDtypesShapesAndMetadata) {
  testing::TempDir dir;
  torch::manual_seed(0);
  std::vector<std::pair<std::string, torch::Tensor>> tensors = {
      {"w", torch::randn({3, 4})},
      {"b", torch::arange(5, torch::kLong)},
      {"h", torch::randn({2, 2}).to(torch::kFloat16)},
      {"bf", torch::randn({2}).to(torch::kBFloat16)},
      {"mask", torch::tensor({true, false, true})},
      {"scalar", torch::tensor(3.5)},
      {"empty", torch::zeros({0, 3})},
      {"strided", torch::randn({4, 4}).t()},  // non-contiguous input
  };
  save_safetensors(dir.file("a.safetensors"), tensors, {{"engram.model", "{\"type\":\"x\"}"}});
  auto f = load_safetensors(dir.file("a.safetensors"));
  ASSERT_EQ(f.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(f.tensors[i].first, tensors[i].first) << "file order is kept";
    EXPECT_EQ(f.tensors[i].second.scalar_type(), tensors[i].second.scalar_type());
    EXPECT_TRUE(torch::equal(f.tensors[i].second, tensors[i].second)) << tensors[i].first;
  }
  EXPECT_EQ(f.metadata.at("engram.model"), "{\"type\":\"x\"}");
  EXPECT_EQ(f.metadata.count("engram.crc32"), 1u);
}

TEST(SafeTensors, HeaderIsStandardSafetensors) {
  // The layout Python's safetensors expects: u64 little-endian length, JSON, 8-byte aligned data.
  testing::TempDir dir;
  save_safetensors(dir.file("a.safetensors"), {{"x", torch::ones({2}, torch::kFloat32)}}, {});
  const std::string bytes = testing::read_file(dir.file("a.safetensors"));
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(static_cast<unsigned char>(bytes[i])) << (8 * i);
  EXPECT_EQ((8 + n) % 8, 0u);
  auto header = nlohmann::json::parse(bytes.substr(8, n));
  EXPECT_EQ(header["x"]["dtype"], "F32");
  EXPECT_EQ(header["x"]["shape"], nlohmann::json::array({2}));
  EXPECT_EQ(header["x"]["data_offsets"], nlohmann::json::array({0, 8}));
  EXPECT_EQ(bytes.size(), 8 + n + 8);
  float one;
  std::memcpy(&one, bytes.data() + 8 + n, 4);
  EXPECT_EQ(one, 1.0f);
}

TEST(SafeTensors, DetectsTruncation) {
  testing::TempDir dir;
  const auto path = dir.file("a.safetensors");
  save_safetensors(path, {{"x", torch::randn({64})}}, {});
  const std::string bytes = testing::read_file(path);
  for (size_t keep : {size_t{0}, size_t{5}, size_t{20}, bytes.size() - 1}) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes.substr(0, keep);
    const std::string msg = error_of(path);
    EXPECT_NE(msg.find("truncated"), std::string::npos) << "kept " << keep << ": " << msg;
    EXPECT_NE(msg.find(path), std::string::npos);
  }
}

TEST(SafeTensors, DetectsAlteredDataAndMetadata) {
  testing::TempDir dir;
  const auto path = dir.file("a.safetensors");
  save_safetensors(path, {{"x", torch::randn({64})}}, {{"engram.model", "{\"n_layer\":2}"}});
  std::string bytes = testing::read_file(path);
  std::string flipped = bytes;
  flipped[bytes.size() - 3] ^= 0x10;  // one bit in the data
  std::ofstream(path, std::ios::binary | std::ios::trunc) << flipped;
  EXPECT_NE(error_of(path).find("checksum mismatch"), std::string::npos);

  std::string edited = bytes;
  edited.replace(edited.find("\"n_layer\\\":2"), 12, "\"n_layer\\\":3");  // same length, other config
  std::ofstream(path, std::ios::binary | std::ios::trunc) << edited;
  EXPECT_NE(error_of(path).find("checksum mismatch"), std::string::npos);
}

TEST(SafeTensors, RefusesGarbageAndMissingFiles) {
  testing::TempDir dir;
  EXPECT_NE(error_of(dir.file("none.safetensors")).find("no such file"), std::string::npos);
  std::string garbage(100, 'x');
  garbage[0] = 10, garbage[1] = 0, garbage[2] = 0, garbage[3] = 0, garbage[4] = 0, garbage[5] = 0, garbage[6] = 0, garbage[7] = 0;
  EXPECT_NE(error_of(dir.write("g.safetensors", garbage)).find("not valid JSON"), std::string::npos);
}

TEST(SafeTensors, FailedWriteLeavesOldFileIntact) {
  testing::TempDir dir;
  const auto path = dir.file("a.safetensors");
  save_safetensors(path, {{"x", torch::ones({4})}}, {});
  const std::string before = testing::read_file(path);
  // A duplicate name is refused before anything is written.
  EXPECT_THROW(save_safetensors(path, {{"x", torch::zeros({4})}, {"x", torch::zeros({4})}}, {}), Error);
  EXPECT_EQ(testing::read_file(path), before);
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) files += e.is_regular_file();
  EXPECT_EQ(files, 1u) << "no temporary file left behind";
}

}  // namespace
}  // namespace engram
