// One thread policy for the whole process, and what the machine's BLAS can do.
//
// LibTorch parallelises element-wise and reduction kernels with its intra-op (OpenMP) threads and
// hands matrix products to the BLAS, which has its own thread pool. On 2 cores the two pools
// oversubscribe each other when both are >1, so engram sets both once at start-up
// (docs/RESULTS.md, "Thread policy", has the measurements behind the default).
#pragma once

#include <string>

namespace engram {

struct ThreadPolicy {
  int torch_threads = 0;  // LibTorch intra-op threads
  int blas_threads = 0;   // BLAS (OpenBLAS) threads
};

// Idle threads of one pool spin for a while after each parallel region by default, stealing the
// cores the other pool needs: LibTorch's OpenMP threads (and so engram's kernels) against OpenBLAS's
// threads and back. With OMP_WAIT_POLICY=PASSIVE and OPENBLAS_THREAD_TIMEOUT=4 (2⁴ cycles, its
// shortest spin) both sleep soon and both pools can use every core (the fastest policy measured
// here; docs/RESULTS.md "Thread policy"). The libraries read the variables when they are loaded,
// before main(), so when one is unset this re-executes the program with it set; a value the user
// set is kept. Call first thing in main(); returns normally when nothing needs doing or the
// re-exec is impossible.
void ensure_passive_thread_pools(char** argv);

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
