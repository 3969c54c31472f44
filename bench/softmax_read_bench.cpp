// The softmax-weighted read, forward and backward: the blocked kernel against LibTorch's
// composition of the same operations, for the three places engram uses it at the bench shapes —
// a persistent memory's slot read (4 heads, P = 3.5·width slots, 5 % slot dropout), a contextual
// memory's strictly causal retrieval and a transformer's causal attention (batch·heads groups of
// 256 positions).
//
//   build/softmax_read_bench [--benchmark_repetitions=5]
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "engram/core/memory.h"
#include "engram/kernels/softmax_read.h"

namespace {

using engram::ReadPath;
using engram::SoftmaxReadOptions;

// args: groups, rows, keys, head size, kind (0 slots, 1 retrieval, 2 attention, 3 slots without
// dropout), blocked (1) or composition (0)
void Read(benchmark::State& state) {
  const int64_t G = state.range(0), N = state.range(1), S = state.range(2), dh = state.range(3);
  const int kind = static_cast<int>(state.range(4));
  engram::set_read_path(state.range(5) == 1 ? ReadPath::kBlocked : ReadPath::kComposition);
  SoftmaxReadOptions o;
  o.causal = kind == 1 || kind == 2;
  o.shift = kind == 1 ? -1 : 0;
  o.scale = kind == 2 ? 1.0 / std::sqrt(static_cast<double>(dh)) : 1.0;
  o.dropout = kind == 0 ? 0.05 : 0.0;
  torch::manual_seed(0);
  auto q = torch::randn({G, N, dh}).requires_grad_();
  auto k = (torch::randn({G, S, dh}) / std::sqrt(static_cast<double>(dh))).requires_grad_();
  auto v = torch::randn({G, S, dh}).requires_grad_();
  auto g = torch::randn({G, N, dh});
  for (auto _ : state) {
    o.seed += 1;
    auto y = engram::softmax_read(q, k, v, o);
    (y * g).sum().backward();
    benchmark::DoNotOptimize(q.grad().data_ptr());
  }
  engram::set_read_path(ReadPath::kBlocked);
  state.SetItemsProcessed(state.iterations() * G * N);
}

}  // namespace

// (batch 32, width 128, 4 heads): 8192 tokens, head size 32, 448 slots; (8, 256): 2048, 64, 896;
// configs/bench-mosaic-reference.json: 2048, 64, 1,024 slots without dropout (kind 3).
BENCHMARK(Read)
    ->ArgNames({"groups", "rows", "keys", "dh", "kind", "blocked"})
    ->Args({4, 8192, 448, 32, 0, 0})->Args({4, 8192, 448, 32, 0, 1})
    ->Args({4, 2048, 896, 64, 0, 0})->Args({4, 2048, 896, 64, 0, 1})
    ->Args({4, 2048, 1024, 64, 3, 0})->Args({4, 2048, 1024, 64, 3, 1})
    ->Args({128, 256, 256, 32, 1, 0})->Args({128, 256, 256, 32, 1, 1})
    ->Args({32, 256, 256, 64, 1, 0})->Args({32, 256, 256, 64, 1, 1})
    ->Args({128, 256, 256, 32, 2, 0})->Args({128, 256, 256, 32, 2, 1})
    ->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  engram::keep_freed_memory();  // as the engram binary does: no page faults on reused buffers
  at::set_num_threads(2);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
}
