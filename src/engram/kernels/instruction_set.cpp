#include "engram/kernels/instruction_set.h"

#include "engram/kernels/tile_math.h"

namespace engram {
namespace {

// GCC builds the dispatcher of multi-versioned functions where they are called: calls from other
// files would go straight to the default copy, so the copies stay here, behind one plain function.
#if ENGRAM_ISA_COPIES
ENGRAM_ISA_V4 const char* copy_name() { return "AVX-512 (16-float tiles)"; }
ENGRAM_ISA_V3 const char* copy_name() { return "AVX2 (8-float tiles)"; }
ENGRAM_ISA_BASE const char* copy_name() { return "x86-64 baseline (8-float tiles)"; }
#else
const char* copy_name() { return "portable (8-float tiles)"; }
#endif

}  // namespace

const char* kernel_instruction_set() { return copy_name(); }

}  // namespace engram
