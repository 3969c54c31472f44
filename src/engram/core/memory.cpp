#include "engram/core/memory.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>

namespace engram {

void keep_freed_memory() {
  const char* env = std::getenv("ENGRAM_KEEP_MEMORY");
  if (env && std::strcmp(env, "0") == 0) return;
  // Some glibc versions cap the threshold (32 MiB); then serve everything from the heap.
  if (::mallopt(M_MMAP_THRESHOLD, 1 << 30) != 1) ::mallopt(M_MMAP_MAX, 0);
  ::mallopt(M_TRIM_THRESHOLD, -1);  // never give the heap top back
  ::mallopt(M_ARENA_MAX, 1);        // one heap for every thread, so memory freed anywhere is reused
}

}  // namespace engram
