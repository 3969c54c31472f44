#include "engram/data/shards.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "engram/core/error.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

TEST(TokenShard, RoundTripsUint16AndUint32) {
  testing::TempDir dir;
  std::vector<int> small = {0, 1, 65535, 42}, big = {0, 70000, 123456, 5};
  write_token_shard(dir.file("a.tok"), small, 65536);
  write_token_shard(dir.file("b.tok"), big, 200000);
  TokenShard a(dir.file("a.tok")), b(dir.file("b.tok"));
  EXPECT_EQ(a.size(), 4);
  EXPECT_EQ(a.vocab_size(), 65536);
  EXPECT_EQ(std::filesystem::file_size(dir.file("a.tok")), 24u + 4 * 2) << "uint16 when the vocabulary fits";
  EXPECT_EQ(std::filesystem::file_size(dir.file("b.tok")), 24u + 4 * 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(a.at(i), small[i]);
    EXPECT_EQ(b.at(i), big[i]);
  }
  EXPECT_TRUE(torch::equal(b.slice(1, 2), torch::tensor({70000, 123456}, torch::kLong)));
}

TEST(TokenShard, RefusesOutOfVocabularyIdsAndBadFiles) {
  testing::TempDir dir;
  EXPECT_THROW(write_token_shard(dir.file("a.tok"), {1, 2, 300}, 256), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.file("a.tok"))) << "nothing written on error";
  EXPECT_THROW(TokenShard(dir.file("missing.tok")), Error);
  EXPECT_THROW(TokenShard(dir.write("bad.tok", std::string(40, 'z'))), Error);
  write_token_shard(dir.file("t.tok"), std::vector<int>(100, 3), 256);
  std::string bytes = testing::read_file(dir.file("t.tok"));
  dir.write("cut.tok", bytes.substr(0, bytes.size() - 2));
  try {
    TokenShard s(dir.file("cut.tok"));
    FAIL() << "a truncated shard must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
}

TEST(TokenShard, BatchesAreWindowsAndDependOnlyOnSeedAndIndex) {
  testing::TempDir dir;
  std::vector<int> ids(1000);
  for (int i = 0; i < 1000; ++i) ids[i] = i % 997;
  write_token_shard(dir.file("a.tok"), ids, 1000);
  TokenShard shard(dir.file("a.tok"));
  Batch b = sample_batch(shard, 4, 16, 123, 7);
  EXPECT_EQ(b.inputs.sizes(), (std::vector<int64_t>{4, 16}));
  EXPECT_TRUE(torch::equal(b.inputs.narrow(1, 1, 15), b.targets.narrow(1, 0, 15))) << "targets are inputs shifted by one";
  EXPECT_TRUE(torch::equal(b.inputs, sample_batch(shard, 4, 16, 123, 7).inputs));
  EXPECT_FALSE(torch::equal(b.inputs, sample_batch(shard, 4, 16, 123, 8).inputs));
  EXPECT_FALSE(torch::equal(b.inputs, sample_batch(shard, 4, 16, 124, 7).inputs));
  EXPECT_THROW(sample_batch(shard, 1, 1000, 1, 0), Error) << "window longer than the shard";
}

}  // namespace
}  // namespace engram
