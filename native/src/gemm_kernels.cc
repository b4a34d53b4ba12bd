// Register micro-kernels of the builtin GEMM (gemm_builtin.h): a tile of C = A-panel · B-panel.
// AVX-512 (12×32, 24 zmm accumulators), AVX2+FMA (6×16, 12 ymm) and a portable one in GCC/Clang
// vector extensions (6×16). All compute every element as acc = fma(a_k, b_k, acc) from 0 in k
// order and then C = acc or C + acc, so they give the same bits wherever they run with FMA.
#if defined(__x86_64__) || defined(__i386__)
#define FG_X86 1
#include <immintrin.h>
#endif

#include <cstdlib>
#include <cmath>
#include <cstring>
#include <memory>

#include "gemm_builtin.h"

namespace fg {
namespace {

#ifdef FG_X86
__attribute__((target("avx512f,fma"))) void KernelAvx512(i64 kc, const float* a, const float* b, float* const* c, int m, int n, bool accumulate) {
  constexpr int MR = 12;
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
  for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm512_setzero_ps();
  for (i64 k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_loadu_ps(b + k * 32), b1 = _mm512_loadu_ps(b + k * 32 + 16);
#pragma GCC unroll 12
    for (int r = 0; r < MR; r++) {
      const __m512 av = _mm512_set1_ps(a[r * kKC + k]);
      c0[r] = _mm512_fmadd_ps(av, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(av, b1, c1[r]);
    }
  }
  const __mmask16 m0 = n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1);
  const __mmask16 m1 = n >= 32 ? __mmask16(0xffff) : n > 16 ? __mmask16((1u << (n - 16)) - 1) : __mmask16(0);
  for (int r = 0; r < m; r++) {
    float* cr = c[r];
    __m512 v0 = c0[r], v1 = c1[r];
    if (accumulate) {
      v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, cr), v0);
      v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, cr + 16), v1);
    }
    _mm512_mask_storeu_ps(cr, m0, v0);
    _mm512_mask_storeu_ps(cr + 16, m1, v1);
  }
}

__attribute__((target("avx2,fma"))) void KernelAvx2(i64 kc, const float* a, const float* b, float* const* c, int m, int n, bool accumulate) {
  constexpr int MR = 6;
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
  for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm256_setzero_ps();
  for (i64 k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_loadu_ps(b + k * 16), b1 = _mm256_loadu_ps(b + k * 16 + 8);
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
      const __m256 av = _mm256_broadcast_ss(a + r * kKC + k);
      c0[r] = _mm256_fmadd_ps(av, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps(av, b1, c1[r]);
    }
  }
  alignas(32) float tile[16];
  for (int r = 0; r < m; r++) {
    float* cr = c[r];
    if (n == 16) {
      __m256 v0 = c0[r], v1 = c1[r];
      if (accumulate) {
        v0 = _mm256_add_ps(_mm256_loadu_ps(cr), v0);
        v1 = _mm256_add_ps(_mm256_loadu_ps(cr + 8), v1);
      }
      _mm256_storeu_ps(cr, v0);
      _mm256_storeu_ps(cr + 8, v1);
      continue;
    }
    _mm256_store_ps(tile, c0[r]);
    _mm256_store_ps(tile + 8, c1[r]);
    for (int j = 0; j < n; j++) cr[j] = accumulate ? cr[j] + tile[j] : tile[j];
  }
}
#endif

// Portable: 6×16 with 8-wide vector types; the compiler fuses a * b + acc where the CPU has FMA.
typedef float v8 __attribute__((vector_size(32)));
__attribute__((optimize("fp-contract=fast"))) void KernelPortable(i64 kc, const float* a, const float* b, float* const* c, int m, int n, bool accumulate) {
  constexpr int MR = 6;
  v8 c0[MR], c1[MR];
  for (int r = 0; r < MR; r++) c0[r] = c1[r] = v8{};
  for (i64 k = 0; k < kc; k++) {
    v8 b0, b1;
    std::memcpy(&b0, b + k * 16, sizeof b0);
    std::memcpy(&b1, b + k * 16 + 8, sizeof b1);
    for (int r = 0; r < MR; r++) {
      const float av = a[r * kKC + k];
      c0[r] = av * b0 + c0[r];
      c1[r] = av * b1 + c1[r];
    }
  }
  for (int r = 0; r < m; r++) {
    float* cr = c[r];
    float tile[16];
    std::memcpy(tile, &c0[r], sizeof c0[r]);
    std::memcpy(tile + 8, &c1[r], sizeof c1[r]);
    for (int j = 0; j < n; j++) cr[j] = accumulate ? cr[j] + tile[j] : tile[j];
  }
}

const KernelSet kSets[] = {
#ifdef FG_X86
    {"avx512", 12, 32, KernelAvx512},
    {"avx2", 6, 16, KernelAvx2},
#endif
    {"portable", 6, 16, KernelPortable},
};

bool Runs(const KernelSet& k) {
#ifdef FG_X86
  __builtin_cpu_init();
  if (std::strcmp(k.name, "avx512") == 0) return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  if (std::strcmp(k.name, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  return true;
}

const KernelSet* FindKernels(const char* name) {
  for (const KernelSet& k : kSets)
    if (std::strcmp(k.name, name) == 0 && Runs(k)) return &k;
  return nullptr;
}

const KernelSet* Default() {
  if (const char* env = std::getenv("FASHION_NATIVE_GEMM_KERNEL"))
    if (const KernelSet* k = FindKernels(env)) return k;
  for (const KernelSet& k : kSets)
    if (Runs(k)) return &k;
  return &kSets[0];
}

const KernelSet* current = nullptr;

}  // namespace

const KernelSet& Kernels() {
  if (!current) current = Default();
  return *current;
}

bool SetKernels(const char* name) {
  if (!name || !*name) {
    current = Default();
    return true;
  }
  const KernelSet* k = FindKernels(name);
  if (!k) return false;
  current = k;
  return true;
}

namespace {
struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};
float* Grow(std::unique_ptr<float[], FreeDeleter>& buf, size_t& cap, size_t n) {
  if (n > cap) {
    buf.reset(static_cast<float*>(std::aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64)));
    cap = n;
  }
  return buf.get();
}
}  // namespace

float* PackBufferA(size_t n) {
  thread_local std::unique_ptr<float[], FreeDeleter> buf;
  thread_local size_t cap = 0;
  return Grow(buf, cap, n);
}

float* PackBufferB(size_t n) {
  thread_local std::unique_ptr<float[], FreeDeleter> buf;
  thread_local size_t cap = 0;
  return Grow(buf, cap, n);
}

namespace {
// Thin products, on which the packed GEMM would fill one row of its MR×NR register tile: a row
// times a matrix (M = 1, B not transposed: the vector form of a column C = A·b too) and outer
// products (K = 1). Each element is the GEMM's own sequence — acc = 0, acc = fma(a_k, b_k, acc)
// in k order, restarted every kKC and added to C — so the bits are the packed GEMM's.
bool ThinGemm(bool ta, bool tb, i64 M, i64 N, i64 K, const float* A, i64 lda, const float* B, i64 ldb, bool accumulate,
              float* C, i64 ldc) {
  if (K == 1) {
    for (i64 i = 0; i < M; i++) {
      const float a = A[ta ? i : i * lda];
      float* __restrict c = C + i * ldc;
      if (tb) {
        for (i64 j = 0; j < N; j++) c[j] = accumulate ? c[j] + std::fma(a, B[j * ldb], 0.f) : std::fma(a, B[j * ldb], 0.f);
      } else if (accumulate) {
        for (i64 j = 0; j < N; j++) c[j] += std::fma(a, B[j], 0.f);
      } else {
        for (i64 j = 0; j < N; j++) c[j] = std::fma(a, B[j], 0.f);
      }
    }
    return true;
  }
  if (M != 1) return false;
  if (tb) {
    // Dot products of the row with rows of B, eight at a time (independent chains hide the
    // latency of each one's fma sequence).
    constexpr int kT = 8;
    for (i64 j0 = 0; j0 < N; j0 += kT) {
      const int t = static_cast<int>(std::min<i64>(kT, N - j0));
      float out[kT] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int u = 0; u < t && accumulate; u++) out[u] = C[j0 + u];
      for (i64 pc = 0; pc < K; pc += kKC) {
        float acc[kT] = {0, 0, 0, 0, 0, 0, 0, 0};
        for (i64 k = pc; k < std::min(K, pc + kKC); k++) {
          const float a = A[ta ? k * lda : k];
          for (int u = 0; u < t; u++) acc[u] = std::fma(a, B[(j0 + u) * ldb + k], acc[u]);
        }
        for (int u = 0; u < t; u++) out[u] = accumulate || pc > 0 ? out[u] + acc[u] : acc[u];
      }
      for (int u = 0; u < t; u++) C[j0 + u] = out[u];
    }
    return true;
  }
  constexpr i64 kJ = 512;  // columns per pass, their accumulators in L1
  alignas(64) float acc[kJ];
  for (i64 j0 = 0; j0 < N; j0 += kJ) {
    const i64 n = std::min(kJ, N - j0);
    for (i64 pc = 0; pc < K; pc += kKC) {
      std::fill(acc, acc + n, 0.f);
      for (i64 k = pc; k < std::min(K, pc + kKC); k++) {
        const float a = A[ta ? k * lda : k];
        const float* __restrict b = B + k * ldb + j0;
        for (i64 j = 0; j < n; j++) acc[j] = std::fma(a, b[j], acc[j]);
      }
      float* __restrict c = C + j0;
      if (accumulate || pc > 0) {
        for (i64 j = 0; j < n; j++) c[j] += acc[j];
      } else {
        std::memcpy(c, acc, sizeof(float) * static_cast<size_t>(n));
      }
    }
  }
  return true;
}
}  // namespace

void BuiltinSgemm(bool ta, bool tb, i64 M, i64 N, i64 K, const float* A, i64 lda, const float* B, i64 ldb, float beta,
                  float* C, i64 ldc) {
  if (N == 1 && ldc == 1 && M > 1) {
    // A column: as the row Cᵀ = Bᵀ·Aᵀ. Same bits: each element is the same fused multiply-adds
    // with the factors swapped.
    if (!ThinGemm(!tb, !ta, 1, M, K, B, ldb, A, lda, beta != 0.f, C, M))
      BuiltinGemm(1, M, K, DenseA{B, ldb, !tb}, DenseB{A, lda, !ta}, DenseC{C, M}, beta != 0.f);
    return;
  }
  if (ThinGemm(ta, tb, M, N, K, A, lda, B, ldb, beta != 0.f, C, ldc)) return;
  BuiltinGemm(M, N, K, DenseA{A, lda, ta}, DenseB{B, ldb, tb}, DenseC{C, ldc}, beta != 0.f);
}

}  // namespace fg
