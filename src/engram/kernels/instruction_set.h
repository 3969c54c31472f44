// Which copy of engram's kernels the loader picked on this machine (kernels/tile_math.h): speed
// measurements differ by it, so `engram info` and `engram bench --json` report it.
#pragma once

namespace engram {

// "AVX-512 (16-float tiles)", "AVX2 (8-float tiles)" or "x86-64 baseline (8-float tiles)"; on other
// compilers and architectures "portable (8-float tiles)".
const char* kernel_instruction_set();

}  // namespace engram
