// The persistent-memory slot read, forward and backward: engram's fused node (slot_read) against
// autograd's composition of the same operations, at the two shapes of issue 3's speed targets
// (batch·context tokens, 4 heads, P = 3.5·width slots), with and without the 5 % slot dropout.
//
//   build/slot_read_bench [--benchmark_repetitions=5]
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "engram/core/memory.h"
#include "engram/seq/slot_read.h"

namespace {

using engram::slot_read;

// args: tokens, head size, slots, dropout (percent), fused (1) or autograd (0)
void SlotRead(benchmark::State& state) {
  const int64_t N = state.range(0), dh = state.range(1), P = state.range(2);
  const double p = static_cast<double>(state.range(3)) / 100.0;
  const bool fused = state.range(4) == 1;
  torch::manual_seed(0);
  auto q = torch::randn({4, N, dh}).requires_grad_();
  auto K = (torch::randn({4, P, dh}) / std::sqrt(static_cast<double>(dh))).requires_grad_();
  auto V = (torch::randn({4, P, dh}) / std::sqrt(static_cast<double>(dh))).requires_grad_();
  auto g = torch::randn({4, N, dh});
  uint64_t seed = 1;
  for (auto _ : state) {
    torch::Tensor y;
    if (fused) {
      y = slot_read(q, K, V, p, seed++);
    } else {
      auto w = torch::softmax(torch::matmul(q, K.transpose(1, 2)), -1);
      y = torch::matmul(torch::dropout(w, p, p > 0), V);
    }
    (y * g).sum().backward();
    benchmark::DoNotOptimize(q.grad().data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * N);
}

}  // namespace

// (32, 256, 128, 4): 8192 tokens, head size 32, 448 slots; (8, 256, 256, 4): 2048 tokens, 64, 896.
BENCHMARK(SlotRead)
    ->ArgNames({"tokens", "dh", "slots", "drop%", "fused"})
    ->Args({8192, 32, 448, 5, 0})->Args({8192, 32, 448, 5, 1})
    ->Args({2048, 64, 896, 5, 0})->Args({2048, 64, 896, 5, 1})
    ->Args({2048, 64, 896, 0, 0})->Args({2048, 64, 896, 0, 1})
    ->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  engram::keep_freed_memory();  // as the engram binary does: no page faults on reused buffers
  at::set_num_threads(2);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
}
