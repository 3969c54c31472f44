// Token shards: token ids on disk, memory-mapped, and the random batches a trainer draws from them.
//
// File layout (little-endian): 8-byte magic "ENGRTOK1", uint32 bytes per id (2 or 4),
// uint32 vocabulary size, uint64 number of ids, then the ids. uint16 when the vocabulary fits.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "engram/data/batch.h"

namespace engram {

// Writes ids atomically (temporary file + rename). Throws if an id is outside [0, vocab_size).
void write_token_shard(const std::string& path, const std::vector<int>& ids, int64_t vocab_size);

class TokenShard {
 public:
  // Maps a shard read-only; throws engram::Error naming the path when it is missing, not a shard,
  // or truncated.
  explicit TokenShard(const std::string& path);
  ~TokenShard();
  TokenShard(const TokenShard&) = delete;
  TokenShard& operator=(const TokenShard&) = delete;

  int64_t size() const { return count_; }
  int64_t vocab_size() const { return vocab_size_; }
  int64_t at(int64_t i) const;
  // ids[start, start + n) as an int64 tensor.
  torch::Tensor slice(int64_t start, int64_t n) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const unsigned char* map_ = nullptr;
  std::size_t map_size_ = 0;
  const unsigned char* ids_ = nullptr;
  int width_ = 0;
  int64_t vocab_size_ = 0, count_ = 0;
};

// Draws contiguous windows of block+1 tokens at random offsets. The batch of a given index depends
// only on (seed, index), so a resumed run draws exactly the batches an uninterrupted one would.
Batch sample_batch(const TokenShard& shard, int64_t batch, int64_t block, uint64_t seed, int64_t index);

}  // namespace engram
