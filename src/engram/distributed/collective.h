// The collectives data-parallel training needs, on PyTorch's own distributed engine (c10d): a
// TCPStore rendezvous at MASTER_ADDR:MASTER_PORT and a Gloo process group over TCP (on CPUs; a
// CUDA LibTorch would use ProcessGroupNCCL here instead). Nothing home-made for transport.
//
// Every call is collective: all ranks make the same calls in the same order. A peer that dies
// makes the next collective fail (Gloo reports the closed connection, or the timeout passes)
// with an engram::Error naming the operation, never a hang.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "engram/distributed/world.h"

namespace engram {

class Collective {
 public:
  // Joins the group; throws engram::Error saying what to check when the rendezvous does not
  // complete within `timeout`. Collectives time out after `timeout` too.
  Collective(const WorldInfo& world, std::chrono::seconds timeout);
  ~Collective();
  const WorldInfo& world() const { return world_; }

  // From here on the gradients of `params` are averaged across ranks during the backward pass,
  // bucket by bucket as they become ready (hooks on the gradient accumulators, as PyTorch's DDP),
  // so communication overlaps the rest of the backward pass. Each step: expect_backward(loss),
  // backward, finish_backward(); average() is then not needed for these gradients.
  void overlap_gradients(const std::vector<torch::Tensor>& params, int64_t bucket_bytes = 4 << 20);
  void expect_backward(const torch::Tensor& loss);
  void finish_backward();
  bool overlapping() const;

  struct Group;  // the c10d objects (public for the autograd hooks)

  // Rank 0's values into every rank's tensors, in place.
  void broadcast(const std::vector<torch::Tensor>& tensors);
  // The mean over ranks, in place, in flat buckets of about `bucket_bytes` (one all-reduce each).
  void average(const std::vector<torch::Tensor>& tensors, int64_t bucket_bytes = 25 << 20);
  // Element-wise sums over ranks of a few numbers (a step's loss, counts, a stop request).
  std::vector<double> sum(const std::vector<double>& values);
  // Throws engram::Error naming the ranks whose `value` differs from rank 0's (a config hash, a
  // binary's hash, the parameters after the broadcast).
  void require_same(const std::string& what, const std::string& value);
  // Rank 0 says it has done `what` (made the run directory, prepared the data); the other ranks
  // wait for that as long as it takes (a tokenizer may train for minutes), not the collective
  // timeout. A rank 0 that dies meanwhile is the launcher's to notice.
  void announce(const std::string& what);
  void await_announcement(const std::string& what);

  // Traffic of average(): bytes all-reduced and seconds spent, since construction.
  int64_t reduced_bytes() const { return reduced_bytes_; }
  double reduce_seconds() const { return reduce_seconds_; }

 private:
  WorldInfo world_;
  std::unique_ptr<Group> group_;
  int64_t reduced_bytes_ = 0;
  double reduce_seconds_ = 0;
  int64_t checks_ = 0;
  int64_t overlapped_bytes_ = 0;  // gradient bytes the reducer all-reduces each step
};

// The group this process belongs to when a launcher started it as one rank of several (torchrun,
// Slurm, engram --nproc), else nullptr. Joining checks that every rank runs the same binary and
// the same resolved config (`config_text`), and refuses to go on otherwise. The rendezvous waits
// ENGRAM_RENDEZVOUS_TIMEOUT seconds (default 300).
std::unique_ptr<Collective> join_group(const std::string& config_text);

}  // namespace engram
