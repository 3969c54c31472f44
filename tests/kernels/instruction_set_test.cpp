#include "engram/kernels/instruction_set.h"

#include <gtest/gtest.h>

#include <string>

namespace engram {
namespace {

// The loader's choice follows the CPU: AVX-512 (x86-64-v4's F, BW, CD, DQ, VL) gets the 16-float
// copy, AVX2 with FMA the 8-float v3 copy.
TEST(KernelInstructionSet, IsTheCopyForThisCpu) {
  const std::string isa = kernel_instruction_set();
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  const bool v4 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
                  __builtin_cpu_supports("avx512vl");
  const bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (v4)
    EXPECT_EQ(isa, "AVX-512 (16-float tiles)");
  else if (v3)
    EXPECT_EQ(isa, "AVX2 (8-float tiles)");
  else
    EXPECT_EQ(isa, "x86-64 baseline (8-float tiles)");
#else
  EXPECT_EQ(isa, "portable (8-float tiles)");
#endif
}

}  // namespace
}  // namespace engram
