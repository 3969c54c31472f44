// How freed tensor memory goes back to the system, and how much of it the process holds.
//
// glibc serves large allocations (above a dynamic threshold of at most 32 MB) with fresh mmap()s
// and returns them on free, so every large tensor of every step is page-faulted in again. On the
// machines engram was measured on, first-touch page faults cost ~4 ns per byte: a 490 MB attention
// tensor takes ~2 s to touch, more than the arithmetic on it (docs/RESULTS.md, "Allocator").
// Keeping freed memory in the heap for reuse makes the steady state fault-free.
#pragma once

namespace engram {

// Serve allocations below 1 GiB from the heap and keep up to 1 GiB of freed memory at its top.
// ENGRAM_KEEP_MEMORY=0 leaves glibc's defaults (for comparisons). Call once, early in main().
void keep_freed_memory();

// Resident memory of this process in MB: now, and the peak since the last reset_peak_resident()
// (Linux /proc/self/status VmRSS / VmHWM; 0 where unavailable).
double resident_mb();
double peak_resident_mb();
void reset_peak_resident();

// Memory the system could give this process now without swapping, in MB (/proc/meminfo's
// MemAvailable; 0 where unavailable).
double available_mb();

}  // namespace engram
