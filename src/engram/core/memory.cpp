#include "engram/core/memory.h"

#include <malloc.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace engram {

void keep_freed_memory() {
  const char* env = std::getenv("ENGRAM_KEEP_MEMORY");
  if (env && std::strcmp(env, "0") == 0) return;
  // Some glibc versions cap the threshold (32 MiB); then serve everything from the heap.
  if (::mallopt(M_MMAP_THRESHOLD, 1 << 30) != 1) ::mallopt(M_MMAP_MAX, 0);
  ::mallopt(M_TRIM_THRESHOLD, -1);  // never give the heap top back
  ::mallopt(M_ARENA_MAX, 1);        // one heap for every thread, so memory freed anywhere is reused
}

namespace {

// The value of `key` in a /proc file of "Key:   1234 kB" lines, in MB (0 when absent).
double proc_mb(const char* file, const char* key) {
  std::ifstream in(file);
  std::string line;
  const size_t n = std::strlen(key);
  while (std::getline(in, line))
    if (line.compare(0, n, key) == 0) return std::atof(line.c_str() + n) / 1024.0;  // "VmHWM:   1234 kB"
  return 0;
}

}  // namespace

double resident_mb() { return proc_mb("/proc/self/status", "VmRSS:"); }
double peak_resident_mb() { return proc_mb("/proc/self/status", "VmHWM:"); }
double available_mb() { return proc_mb("/proc/meminfo", "MemAvailable:"); }

void reset_peak_resident() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";  // resets VmHWM to the current resident size (Linux ≥ 4.0)
}

}  // namespace engram
