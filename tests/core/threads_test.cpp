// Which BLAS build is live, and the environment its thread pools are given.
#include <gtest/gtest.h>

#include "engram/core/threads.h"

namespace engram {
namespace {

TEST(ThreadPools, OnlyASecondPoolNeedsItsThreadsPutToSleep) {
  EXPECT_TRUE(thread_pool_environment(BlasThreading::openmp).empty());
  EXPECT_TRUE(thread_pool_environment(BlasThreading::sequential).empty());
  using Env = std::vector<std::pair<std::string, std::string>>;
  const Env passive{{"OMP_WAIT_POLICY", "PASSIVE"}, {"OPENBLAS_THREAD_TIMEOUT", "4"}};
  EXPECT_EQ(thread_pool_environment(BlasThreading::pthreads), passive);
  EXPECT_EQ(thread_pool_environment(BlasThreading::unknown), passive);  // another BLAS may have a pool
}

// Debian installs each OpenBLAS build in a folder named for its threading; what the library says
// of itself must agree with where it was loaded from.
TEST(ThreadPools, TheBlasSaysHowItThreadsAsItsFolderDoes) {
  const BlasInfo blas = detect_blas();
  ASSERT_EQ(blas.vendor, "OpenBLAS") << "mapped BLAS: " << blas.library << " (scripts/setup-deps installs OpenBLAS)";
  const auto from = [&](const char* folder) { return blas.library.find(folder) != std::string::npos; };
  if (from("/openblas-openmp/")) EXPECT_EQ(blas.threading, BlasThreading::openmp);
  else if (from("/openblas-pthread/")) EXPECT_EQ(blas.threading, BlasThreading::pthreads);
  else if (from("/openblas-serial/")) EXPECT_EQ(blas.threading, BlasThreading::sequential);
  else ADD_FAILURE() << "OpenBLAS from an unexpected place: " << blas.library;
}

}  // namespace
}  // namespace engram
