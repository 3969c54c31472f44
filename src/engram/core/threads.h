// One thread policy for the whole process, and what the machine's BLAS can do.
//
// LibTorch parallelises element-wise and reduction kernels with its intra-op (OpenMP) threads and
// hands matrix products to the BLAS, which has a thread pool of its own unless it is built on
// OpenMP too. On 2 cores two pools oversubscribe each other, so engram sets both once at start-up
// (docs/RESULTS.md, "Thread policy", has the measurements behind the default).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace engram {

struct ThreadPolicy {
  int torch_threads = 0;  // LibTorch intra-op threads
  int blas_threads = 0;   // BLAS (OpenBLAS) threads; with its OpenMP build, LibTorch's count
};

// How the BLAS runs its products on several cores. Debian ships OpenBLAS built both ways;
// scripts/setup-deps selects the OpenMP build, whose threads are LibTorch's own OpenMP pool.
enum class BlasThreading { unknown, sequential, pthreads, openmp };

// Asks the OpenBLAS mapped into this process (openblas_get_parallel); unknown for other BLASes.
BlasThreading blas_threading();
const char* to_string(BlasThreading threading);

// The environment the thread pools need, set before the libraries load. With the OpenMP build of
// OpenBLAS there is one pool and nothing to set: libgomp's default (idle threads spin briefly, then
// sleep) trains fastest. With OpenBLAS's own pthreads pool, each pool's spinning idle threads steal
// the cores the other needs, so both must sleep at once: OMP_WAIT_POLICY=PASSIVE and
// OPENBLAS_THREAD_TIMEOUT=4 (2⁴ cycles, its shortest spin). docs/RESULTS.md "Thread policy" has
// the measurements behind both.
std::vector<std::pair<std::string, std::string>> thread_pool_environment(BlasThreading threading);

// Sets thread_pool_environment(blas_threading()). The libraries read the variables when they are
// loaded, before main(), so when one is unset this re-executes the program with it set; a value the
// user set is kept. Call first thing in main(); returns normally when nothing needs doing or the
// re-exec is impossible.
void prepare_thread_pools(char** argv);

// The default: from ENGRAM_TORCH_THREADS / ENGRAM_BLAS_THREADS when set, else the measured choice
// for this machine's core count.
ThreadPolicy default_thread_policy();

// Applies a policy. Call once, before any tensor work (LibTorch fixes its inter-op pool on first use).
void apply_thread_policy(const ThreadPolicy& policy);

// The policy now in effect, as read back from LibTorch and the BLAS.
ThreadPolicy current_thread_policy();

struct BlasInfo {
  std::string library;  // the shared object actually mapped into this process
  std::string vendor;   // "OpenBLAS", "BLIS", "MKL", "reference" or "unknown"
  std::string detail;   // OpenBLAS's own config string, when available
  BlasThreading threading = BlasThreading::unknown;
  std::string omp_wait_policy;  // the OMP_WAIT_POLICY the OpenMP runtime started with
  bool is_reference() const { return vendor == "reference"; }
};

// Inspects the running process (not the build) for the BLAS that LibTorch will call.
BlasInfo detect_blas();

// Measures the fp32 rate of an n×n by n×n matrix product under the current policy, in GFLOP/s
// (best of a few repetitions over about `seconds` of wall time).
double measure_matmul_gflops(int n = 1024, double seconds = 1.0);

// Measures memory bandwidth as a STREAM-like copy of a 256 MB buffer (one thread), in GB/s counting
// the bytes read and the bytes written (best of a few repetitions). Batch-1 decoding reads every
// weight once per token, so this, not the matmul rate, is its limit.
double measure_copy_gbps(double seconds = 1.0);

}  // namespace engram
