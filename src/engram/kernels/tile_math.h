// The arithmetic inside engram's CPU kernels: a register-tiled product of small packed matrices, a
// vectorised exp, and the counter-hash dropout mask, written on GCC's vector types (8 or 16
// floats) and templated on that width. Callers compile them once per instruction set, each copy
// picked at load time: with `ENGRAM_SIMD_CLONES` (the same code, 8-float vectors) or, where the
// width differs by instruction set, with `ENGRAM_PER_ISA` (16 floats on AVX-512).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

// Every vector function here is inlined into its caller's copy: no vector crosses an ABI boundary.
#pragma GCC diagnostic ignored "-Wpsabi"

namespace engram::tile {

// x86-64 baseline, AVX2+FMA (v3) and AVX-512 (v4) copies of a function, chosen by the loader: the
// same binary runs everywhere and uses what the machine has. The helpers below are forced inline so
// that each copy compiles them for its own instruction set.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define ENGRAM_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define ENGRAM_TILE_INLINE __attribute__((always_inline)) inline
// The same choice where the copies need different code (the product's vector width): a function
// defined three times, once per ENGRAM_ISA_* attribute (GCC's function multi-versioning).
#define ENGRAM_ISA_COPIES 1
#define ENGRAM_ISA_V4 __attribute__((target("arch=x86-64-v4")))
#define ENGRAM_ISA_V3 __attribute__((target("arch=x86-64-v3")))
#define ENGRAM_ISA_BASE __attribute__((target("default")))
#else
#define ENGRAM_ISA_COPIES 0
#define ENGRAM_SIMD_CLONES
#define ENGRAM_TILE_INLINE inline
#endif

// The product's granularity: its callers pack operands into buffers whose row counts are multiples
// of kRows and column counts multiples of kCols (a tile is kRows or 2·kRows rows, one or two vectors).
constexpr int64_t kRows = 4;
constexpr int64_t kCols = 16;

constexpr int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// Eight floats as one value (GCC's vector extension: a ymm register on AVX2/AVX-512, two xmm on the
// baseline); the unaligned variant is for loads and stores at any float address. vec16 is one zmm
// register on AVX-512: the product's width there, twice the multiply–adds per instruction.
typedef float vec8 __attribute__((vector_size(32)));
typedef float vec8u __attribute__((vector_size(32), aligned(4)));
typedef float vec16 __attribute__((vector_size(64)));

// Defines `void name params` once per instruction set, each calling the template name_as<V> (which
// must exist, forced inline) with `args` and V that set's vector for the product: vec16 on AVX-512,
// vec8 elsewhere. `grep name_as` finds the code; the macro only spells out the three copies. Call
// them from the file that defines them: GCC builds the dispatcher where a call is compiled, and a
// call from another file would always reach the baseline copy (kernels/instruction_set.cpp).
#if ENGRAM_ISA_COPIES
#define ENGRAM_PER_ISA(name, params, args)                                   \
  ENGRAM_ISA_V4 void name params { name##_as<::engram::tile::vec16> args; } \
  ENGRAM_ISA_V3 void name params { name##_as<::engram::tile::vec8> args; }  \
  ENGRAM_ISA_BASE void name params { name##_as<::engram::tile::vec8> args; }
#else
#define ENGRAM_PER_ISA(name, params, args) \
  void name params { name##_as<::engram::tile::vec8> args; }
#endif

template <class V>
constexpr int64_t kLanes = sizeof(V) / sizeof(float);

template <class V>
ENGRAM_TILE_INLINE V load(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <class V>
ENGRAM_TILE_INLINE void store(float* p, V v) {
  std::memcpy(p, &v, sizeof v);
}

// C[0 … R−1][0 … NV·lanes−1] (+)= A · B over k < K, row r of A at a + r·a_row, its k-th element
// a_step further: R × NV accumulators stay in registers while k runs. Without kAdd, C is
// overwritten (a block that would otherwise be zeroed first: the zeroing was 2 % of a step).
template <class V, int R, int NV, bool kAdd>
ENGRAM_TILE_INLINE void gemm_tile(int64_t K, const float* a, int64_t a_row, int64_t a_step, const float* b, int64_t ldb,
                                  float* c, int64_t ldc) {
  constexpr int64_t W = kLanes<V>;
  V acc[R][NV] = {};
  for (int64_t k = 0; k < K; ++k, b += ldb) {
    V bk[NV];
    for (int n = 0; n < NV; ++n) bk[n] = load<V>(b + n * W);
    for (int r = 0; r < R; ++r) {
      const float ark = a[r * a_row + k * a_step];
      for (int n = 0; n < NV; ++n) acc[r][n] += ark * bk[n];
    }
  }
  for (int r = 0; r < R; ++r)
    for (int n = 0; n < NV; ++n)
      store<V>(c + r * ldc + n * W, kAdd ? load<V>(c + r * ldc + n * W) + acc[r][n] : acc[r][n]);
}

// Rows [i, i + R) of C: tiles two vectors wide, one where the columns leave less.
template <class V, int R, bool kAdd>
ENGRAM_TILE_INLINE void gemm_rows(int64_t i, int64_t N, int64_t K, const float* A, int64_t a_row, int64_t a_step,
                                  const float* B, int64_t ldb, float* C, int64_t ldc) {
  constexpr int64_t W = kLanes<V>;
  const float* a = A + i * a_row;
  int64_t j = 0;
  for (; j + 2 * W <= N; j += 2 * W) gemm_tile<V, R, 2, kAdd>(K, a, a_row, a_step, B + j, ldb, C + i * ldc + j, ldc);
  if (j < N) gemm_tile<V, R, 1, kAdd>(K, a, a_row, a_step, B + j, ldb, C + i * ldc + j, ldc);
}

// C[M, N] (+)= A · B with A[m, k] at A[m·a_row + k·a_step] and B [K, N], C [M, N] row-major with
// leading dimensions; M a multiple of kRows and N a multiple of kCols (the callers pack operands
// into padded buffers); K anything. With 16-float vectors (32 registers) eight rows at a time,
// sixteen accumulators: four rows (eight accumulators) left both multiply–add units waiting on
// each other's latency. With 8-float vectors (AVX2's 16 registers) four rows. The wrappers below
// pass constant strides, which the forced inlining turns into each layout's own loop.
template <class V, bool kAdd = true>
ENGRAM_TILE_INLINE void gemm_strided(int64_t M, int64_t N, int64_t K, const float* A, int64_t a_row, int64_t a_step,
                                         const float* B, int64_t ldb, float* C, int64_t ldc) {
  static_assert(kCols % kLanes<V> == 0, "a padded row must hold whole vectors");
  constexpr int R = kLanes<V> == 16 ? 2 * kRows : kRows;
  int64_t i = 0;
  for (; i + R <= M; i += R) gemm_rows<V, R, kAdd>(i, N, K, A, a_row, a_step, B, ldb, C, ldc);
  for (; i < M; i += kRows) gemm_rows<V, kRows, kAdd>(i, N, K, A, a_row, a_step, B, ldb, C, ldc);
}

// C[M, N] += A[M, K] · B[K, N], A row-major with leading dimension lda.
template <class V>
ENGRAM_TILE_INLINE void gemm_acc(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                                 int64_t ldb, float* C, int64_t ldc) {
  gemm_strided<V>(M, N, K, A, lda, 1, B, ldb, C, ldc);
}

// C[M, N] = A[M, K] · B[K, N]: gemm_acc without reading C.
template <class V>
ENGRAM_TILE_INLINE void gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb,
                             float* C, int64_t ldc) {
  gemm_strided<V, false>(M, N, K, A, lda, 1, B, ldb, C, ldc);
}

// C[M, N] += Aᵀ · B with A stored as [K, M] (leading dimension lda). The backward's key-side
// products read the [rows, keys] weight blocks this way instead of transposing them first.
template <class V>
ENGRAM_TILE_INLINE void gemm_tn_acc(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                                    int64_t ldb, float* C, int64_t ldc) {
  gemm_strided<V>(M, N, K, A, 1, lda, B, ldb, C, ldc);
}

// dst[c, r] = src[r, c] for an [R, C] block (leading dimensions given).
ENGRAM_TILE_INLINE void transpose(int64_t R, int64_t C, const float* src, int64_t lds, float* dst, int64_t ldd) {
  for (int64_t r = 0; r < R; ++r)
    for (int64_t c = 0; c < C; ++c) dst[c * ldd + r] = src[r * lds + c];
}

// The signed and unsigned 32-bit integer vectors of V's width.
template <class V>
using IntsOf = decltype(V{} < V{});
template <class V>
struct Uints {
  typedef uint32_t type __attribute__((vector_size(sizeof(V))));
};
template <class V>
using UintsOf = typename Uints<V>::type;

// e^x for x ≤ 0 (softmax arguments after subtracting the row maximum), Cephes' polynomial on the
// range-reduced argument: relative error ≈ 1e-7. Below −87 the result is tiny but not 0; callers
// zero masked entries themselves. Written on vectors because GCC vectorises no loop that contains
// floor and a bit cast, and no float reduction at all without -ffast-math.
template <class V>
ENGRAM_TILE_INLINE V exp_nonpositive(V x) {
  using VI = IntsOf<V>;
  x = x < -87.0f ? V{} - 87.0f : x;
  const V y0 = x * 1.44269504088896341f + 0.5f;
  V fx = __builtin_convertvector(__builtin_convertvector(y0, VI), V);  // truncates toward 0
  fx += __builtin_convertvector(fx > y0, V);                           // (−1 where true): floor
  const V r = x - fx * 0.693359375f + fx * 2.12194440e-4f;
  const V z = r * r;
  V y = r * 1.9875691500e-4f + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * z + r + 1.0f;
  const VI e = (__builtin_convertvector(fx, VI) + 127) << 23;
  return y * reinterpret_cast<V>(e);  // the bits of 2^fx as floats
}

// tanh(x) = sign(x) (1 − e)/(1 + e) with e = e^(−2|x|) ≤ 1: absolute error ≈ 1e-7 (relative error
// grows as x → 0, where 1 − e cancels; GELU and its derivative only need the absolute error small).
ENGRAM_TILE_INLINE vec8 tanh(vec8 x) {
  const vec8 ax = x < 0 ? -x : x;
  const vec8 e = exp_nonpositive(-2.0f * ax);
  const vec8 t = (1.0f - e) / (1.0f + e);
  return x < 0 ? -t : t;
}

ENGRAM_TILE_INLINE float exp_nonpositive(float x) {
  const vec8 v = exp_nonpositive(vec8{} + x);
  return v[0];
}

ENGRAM_TILE_INLINE float hsum(vec8 v) {
  const float a = (v[0] + v[4]) + (v[1] + v[5]), b = (v[2] + v[6]) + (v[3] + v[7]);
  return a + b;
}

ENGRAM_TILE_INLINE float hsum(vec16 v) {
  vec8 lo, hi;
  std::memcpy(&lo, &v, sizeof lo);
  std::memcpy(&hi, reinterpret_cast<const char*>(&v) + sizeof lo, sizeof hi);
  return hsum(lo + hi);
}

ENGRAM_TILE_INLINE vec8 load8(const float* p) { return *reinterpret_cast<const vec8u*>(p); }
ENGRAM_TILE_INLINE void store8(float* p, vec8 v) { *reinterpret_cast<vec8u*>(p) = v; }

// Σ a[i]·b[i], sixteen lanes at a time in two registers (GCC vectorises no float reduction
// without -ffast-math).
ENGRAM_TILE_INLINE float dot(const float* a, const float* b, int64_t n) {
  vec8 acc0 = {}, acc1 = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 += load8(a + i) * load8(b + i);
    acc1 += load8(a + i + 8) * load8(b + i + 8);
  }
  for (; i + 8 <= n; i += 8) acc0 += load8(a + i) * load8(b + i);
  float s = hsum(acc0 + acc1);
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

// Lane indices 0 … lanes − 1, for masking the tail of a row.
template <class V>
ENGRAM_TILE_INLINE IntsOf<V> lanes() {
  IntsOf<V> l = {};
  for (int i = 0; i < kLanes<V>; ++i) l[i] = i;
  return l;
}

// murmur3's 32-bit finaliser: a cheap, well-mixed hash that the compiler vectorises.
ENGRAM_TILE_INLINE uint32_t mix(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

// Dropout of softmax weights without storing a mask: weight (row, col) is kept when a hash of
// (seed, row, col) is at or above p·2³², and kept weights are scaled by 1/(1 − p). The backward
// recomputes the same mask from the same numbers.
struct DropoutMask {
  uint64_t seed = 0;
  uint32_t threshold = 0;
  float scale = 1.0f;
  bool active = false;

  DropoutMask() = default;
  DropoutMask(uint64_t s, double p)
      : seed(s),
        threshold(static_cast<uint32_t>(p * 4294967296.0 < 4294967295.0 ? p * 4294967296.0 : 4294967295.0)),
        scale(static_cast<float>(1.0 / (1.0 - p))),
        active(p > 0) {}

  ENGRAM_TILE_INLINE uint32_t row_key(int64_t row) const {
    return mix(static_cast<uint32_t>(seed) ^ mix(static_cast<uint32_t>(seed >> 32) + static_cast<uint32_t>(row)));
  }
  // The factor (0 or 1/(1 − p)) of column `col` in a row with key `key`.
  ENGRAM_TILE_INLINE float factor(uint32_t key, int64_t col) const {
    return mix(key + static_cast<uint32_t>(col) * 0x9e3779b1u) >= threshold ? scale : 0.0f;
  }
  // The factors of columns col … col + lanes − 1.
  template <class V>
  ENGRAM_TILE_INLINE V factors(uint32_t key, int64_t col) const {
    using VU = UintsOf<V>;
    VU h = key + (static_cast<uint32_t>(col) + __builtin_convertvector(lanes<V>(), VU)) * 0x9e3779b1u;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return __builtin_convertvector(-(h >= threshold), V) * scale;
  }
};

}  // namespace engram::tile
