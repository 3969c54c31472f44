#include "engram/data/shards.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "engram/core/atomic_file.h"
#include "engram/core/error.h"
#include "engram/core/seed.h"

namespace engram {
namespace {
const char kMagic[8] = {'E', 'N', 'G', 'R', 'T', 'O', 'K', '1'};
constexpr std::size_t kHeader = 24;

template <typename T>
void put(std::string& out, T x) {
  for (std::size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((static_cast<uint64_t>(x) >> (8 * i)) & 0xff));
}

uint64_t get(const unsigned char* p, int bytes) {
  uint64_t x = 0;
  for (int i = 0; i < bytes; ++i) x |= static_cast<uint64_t>(p[i]) << (8 * i);
  return x;
}
}  // namespace

void write_token_shard(const std::string& path, const std::vector<int>& ids, int64_t vocab_size) {
  if (vocab_size <= 0 || vocab_size > (int64_t{1} << 32))
    throw Error("token shard " + path + ": vocabulary size " + std::to_string(vocab_size) + " out of range");
  const int width = vocab_size <= 65536 ? 2 : 4;
  std::string bytes(kMagic, 8);
  put<uint32_t>(bytes, static_cast<uint32_t>(width));
  put<uint32_t>(bytes, static_cast<uint32_t>(vocab_size));
  put<uint64_t>(bytes, ids.size());
  bytes.reserve(kHeader + ids.size() * width);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= vocab_size)
      throw Error("token shard " + path + ": id " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                  " is outside the vocabulary [0, " + std::to_string(vocab_size) + ")");
    if (width == 2) put<uint16_t>(bytes, static_cast<uint16_t>(ids[i]));
    else put<uint32_t>(bytes, static_cast<uint32_t>(ids[i]));
  }
  write_text_atomically(path, bytes);
}

TokenShard::TokenShard(const std::string& path) : path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) throw Error("cannot open token shard " + path + ": " + std::strerror(errno));
  struct stat st {};
  ::fstat(fd, &st);
  map_size_ = static_cast<std::size_t>(st.st_size);
  if (map_size_ < kHeader) {
    ::close(fd);
    throw Error("token shard " + path + ": truncated (" + std::to_string(map_size_) + " bytes, header is 24)");
  }
  void* m = ::mmap(nullptr, map_size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) throw Error("cannot map token shard " + path + ": " + std::strerror(errno));
  map_ = static_cast<const unsigned char*>(m);
  auto fail = [&](const std::string& why) {
    ::munmap(const_cast<unsigned char*>(map_), map_size_);
    map_ = nullptr;
    throw Error("token shard " + path + ": " + why);
  };
  if (std::memcmp(map_, kMagic, 8) != 0) fail("not an engram token shard (bad magic)");
  width_ = static_cast<int>(get(map_ + 8, 4));
  vocab_size_ = static_cast<int64_t>(get(map_ + 12, 4));
  count_ = static_cast<int64_t>(get(map_ + 16, 8));
  if (width_ != 2 && width_ != 4) fail("unsupported id width " + std::to_string(width_));
  if (map_size_ != kHeader + static_cast<std::size_t>(count_) * width_)
    fail("truncated or corrupt: header says " + std::to_string(count_) + " ids, file holds " +
         std::to_string((map_size_ - kHeader) / width_));
  ids_ = map_ + kHeader;
}

TokenShard::~TokenShard() {
  if (map_) ::munmap(const_cast<unsigned char*>(map_), map_size_);
}

int64_t TokenShard::at(int64_t i) const { return static_cast<int64_t>(get(ids_ + i * width_, width_)); }

torch::Tensor TokenShard::slice(int64_t start, int64_t n) const {
  if (start < 0 || n < 0 || start + n > count_)
    throw Error("token shard " + path_ + ": slice [" + std::to_string(start) + ", " + std::to_string(start + n) +
                ") outside its " + std::to_string(count_) + " ids");
  auto t = torch::empty({n}, torch::kLong);
  auto* out = t.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) out[i] = at(start + i);
  return t;
}

Batch sample_batch(const TokenShard& shard, int64_t batch, int64_t block, uint64_t seed, int64_t index) {
  if (shard.size() < block + 1)
    throw Error("token shard " + shard.path() + " holds " + std::to_string(shard.size()) +
                " tokens, fewer than one training window of " + std::to_string(block + 1) +
                ": use more text or a smaller block_size");
  std::mt19937_64 rng(mix_seed(seed, static_cast<uint64_t>(index)));
  std::uniform_int_distribution<int64_t> offset(0, shard.size() - block - 1);
  std::vector<torch::Tensor> rows;
  for (int64_t b = 0; b < batch; ++b) rows.push_back(shard.slice(offset(rng), block + 1));
  auto windows = torch::stack(rows);
  return {windows.narrow(1, 0, block).contiguous(), windows.narrow(1, 1, block).contiguous(), {}, {}};
}

}  // namespace engram
