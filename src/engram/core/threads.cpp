#include "engram/core/threads.h"

#include <dlfcn.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>
#include <vector>

#include <torch/torch.h>

#include "engram/core/error.h"

namespace engram {
namespace {

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : 0;
}

template <typename F>
F blas_symbol(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_DEFAULT, name));
}

}  // namespace

BlasThreading blas_threading() {
  const auto parallel = blas_symbol<int (*)()>("openblas_get_parallel");
  if (!parallel) return BlasThreading::unknown;
  switch (parallel()) {  // OpenBLAS's own codes
    case 0: return BlasThreading::sequential;
    case 1: return BlasThreading::pthreads;
    case 2: return BlasThreading::openmp;
    default: return BlasThreading::unknown;
  }
}

const char* to_string(BlasThreading threading) {
  switch (threading) {
    case BlasThreading::sequential: return "sequential";
    case BlasThreading::pthreads: return "its own pthreads pool";
    case BlasThreading::openmp: return "OpenMP, LibTorch's pool";
    default: return "unknown";
  }
}

std::vector<std::pair<std::string, std::string>> thread_pool_environment(BlasThreading threading) {
  if (threading == BlasThreading::openmp || threading == BlasThreading::sequential) return {};
  return {{"OMP_WAIT_POLICY", "PASSIVE"}, {"OPENBLAS_THREAD_TIMEOUT", "4"}};
}

void prepare_thread_pools(char** argv) {
  bool changed = false;
  for (const auto& [name, value] : thread_pool_environment(blas_threading())) {
    if (std::getenv(name.c_str())) continue;
    ::setenv(name.c_str(), value.c_str(), 0);
    changed = true;
  }
  if (changed) ::execv("/proc/self/exe", argv);  // only returns on failure: then run on as loaded
}

ThreadPolicy default_thread_policy() {
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  // Every core (docs/RESULTS.md, "Thread policy"): with OpenBLAS's pthreads pool and passive
  // waiting, both pools at the core count trained fastest; the OpenMP build has one pool.
  ThreadPolicy p{cores, cores};
  // Ranks of a distributed run that share this machine share its cores (torchrun and engram
  // --nproc set LOCAL_WORLD_SIZE; an srun step SLURM_STEP_TASKS_PER_NODE, leading number).
  const char* off = std::getenv("ENGRAM_DISTRIBUTED");
  const int local = off && std::string(off) == "0" ? 1 : std::max({1, env_int("LOCAL_WORLD_SIZE"), env_int("SLURM_STEP_TASKS_PER_NODE")});
  p.torch_threads = p.blas_threads = std::max(1, cores / local);
  if (int t = env_int("ENGRAM_TORCH_THREADS")) p.torch_threads = t;
  if (int b = env_int("ENGRAM_BLAS_THREADS")) p.blas_threads = b;
  return p;
}

void apply_thread_policy(const ThreadPolicy& policy) {
  if (policy.torch_threads > 0) at::set_num_threads(policy.torch_threads);
  // The OpenMP build's products run on LibTorch's threads, as many as set above; its own setter
  // would set the same OpenMP count again.
  if (policy.blas_threads > 0 && blas_threading() != BlasThreading::openmp) {
    if (auto set = blas_symbol<void (*)(int)>("openblas_set_num_threads")) set(policy.blas_threads);
  }
}

ThreadPolicy current_thread_policy() {
  ThreadPolicy p;
  p.torch_threads = at::get_num_threads();
  if (blas_threading() == BlasThreading::openmp) p.blas_threads = p.torch_threads;
  else if (auto get = blas_symbol<int (*)()>("openblas_get_num_threads")) p.blas_threads = get();
  return p;
}

BlasInfo detect_blas() {
  BlasInfo info;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    const auto slash = line.find('/');
    if (slash == std::string::npos) continue;
    const std::string path = line.substr(slash);
    const std::string file = path.substr(path.rfind('/') + 1);
    if (file.find("blas") != std::string::npos || file.find("mkl_rt") != std::string::npos ||
        file.find("blis") != std::string::npos) {
      info.library = path;
      break;
    }
  }
  info.threading = blas_threading();
  const char* wait = std::getenv("OMP_WAIT_POLICY");
  info.omp_wait_policy = wait ? wait : "(unset: spin briefly, then sleep)";
  if (auto config = blas_symbol<const char* (*)()>("openblas_get_config")) {
    info.vendor = "OpenBLAS";
    info.detail = config();
  } else if (info.library.find("blis") != std::string::npos) {
    info.vendor = "BLIS";
  } else if (info.library.find("mkl") != std::string::npos) {
    info.vendor = "MKL";
  } else if (info.library.find("/blas/libblas") != std::string::npos) {
    info.vendor = "reference";  // Debian's netlib fallback: correct, and ~30× slower
  } else {
    info.vendor = "unknown";
  }
  return info;
}

double measure_matmul_gflops(int n, double seconds) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(0);
  auto a = torch::randn({n, n});
  auto b = torch::randn({n, n});
  auto c = torch::mm(a, b);  // warm-up: page in, spin up the BLAS pool
  const double flops = 2.0 * n * n * static_cast<double>(n);
  double best = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int rep = 0; rep < 50; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    torch::mm_out(c, a, b);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, flops / s / 1e9);
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds && rep >= 2)
      break;
  }
  return best;
}

double measure_copy_gbps(double seconds) {
  const size_t n = size_t(256) << 20;
  std::vector<char> src(n, 1), dst(n, 0);  // touched: no page faults inside the timing
  double best = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int rep = 0; rep < 20; ++rep) {
    src[static_cast<size_t>(rep)] = static_cast<char>(rep);
    const auto t0 = std::chrono::steady_clock::now();
    std::memcpy(dst.data(), src.data(), n);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 2.0 * static_cast<double>(n) / s / 1e9);
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > seconds && rep >= 2) break;
  }
  if (dst[0] != src[0]) throw Error("copy benchmark: the copy did not happen");
  return best;
}

}  // namespace engram
