// engram info: versions, the BLAS in use, the thread policy and the measured matmul rate.
#include <cstdlib>
#include <cstdio>
#include <thread>

#include <torch/torch.h>

#include "commands.h"
#include "engram/core/threads.h"
#include "engram/kernels/instruction_set.h"

namespace engram::cli {

void add_info_command(CLI::App& app, Commands& commands) {
  auto* info = app.add_subcommand("info", "versions, the BLAS in use, thread policy, the kernels' instruction set and the measured matmul rate");
  commands.on(info, [] {
    const auto policy = current_thread_policy();
    const auto blas = detect_blas();
    std::printf("engram       %s\n", ENGRAM_VERSION);
    std::printf("LibTorch     %s (CUDA %s)\n", TORCH_VERSION, torch::cuda::is_available() ? "available" : "not available");
    std::printf("BLAS         %s: %s\n", blas.vendor.c_str(), blas.library.empty() ? "(not found in process maps)" : blas.library.c_str());
    if (!blas.detail.empty()) std::printf("             %s; threads: %s\n", blas.detail.c_str(), to_string(blas.threading));
    const char* blas_timeout = std::getenv("OPENBLAS_THREAD_TIMEOUT");
    std::printf("threads      LibTorch intra-op %d, BLAS %d, cores %u, OMP_WAIT_POLICY %s, OPENBLAS_THREAD_TIMEOUT %s\n"
                "             (set ENGRAM_TORCH_THREADS to change; ENGRAM_BLAS_THREADS for OpenBLAS's pthreads build)\n",
                policy.torch_threads, policy.blas_threads, std::thread::hardware_concurrency(), blas.omp_wait_policy.c_str(),
                blas_timeout ? blas_timeout : "(unset)");
    std::printf("kernels      %s\n", kernel_instruction_set());
    const double g = measure_matmul_gflops(1024, 1.5);
    std::printf("matmul       %.1f GFLOP/s (fp32, 1024×1024 × 1024×1024, best of repeats)\n", g);
    std::printf("memory       %.1f GB/s (copy of 256 MB, read + written bytes, one thread)\n", measure_copy_gbps(1.0));
    if (blas.is_reference() || g < 30)
      std::printf("\n*** WARNING: %s ***\n*** Matrix products are ~30x slower than they should be. Run scripts/setup-deps, which installs\n"
                  "*** libopenblas0-openmp and selects it with update-alternatives. ***\n",
                  blas.is_reference() ? "the reference (netlib) BLAS is live" : "the matrix-multiply rate is very low");
    return 0;
  });
}

}  // namespace engram::cli
