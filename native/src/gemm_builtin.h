// The project's own single-precision GEMM: C = A·B (+ C), blocked and packed in the BLIS way
// (NC → KC → MC loops, MR×NR register tiles), single-threaded (callers split M or N).
//
// Operands come from "packers", so a convolution can pack its im2col rows straight from the
// image instead of materialising the column matrix. A packer fills `dst` and returns it, or
// returns a panel it packed earlier (Prepacked):
//   packA(dst, i0, m, k0, kc):     rows i0..i0+m (m ≤ MR) of A, columns k0..k0+kc, as
//                                  dst[r * kKC + k];
//   packB(dst, j0, n, k0, kc, NR): rows k0..k0+kc of B, columns j0..j0+n (n ≤ NR), as
//                                  dst[k * NR + j], zero in columns n..NR;
//   crow(i): where row i of C starts (its columns are contiguous).
//
// Every element of C is one fixed sequence of operations: for each block of kKC values of k
// (the same blocks whatever M and N), acc = 0, acc = fma(a_k, b_k, acc) in k order, then
// C = acc (first block, not accumulating) or C = C + acc. The register tile an element falls in,
// the split of M and N between calls or threads, and the micro-kernel (AVX-512, AVX2 or portable,
// all fused multiply-adds) do not change its bits.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

#include "pool.h"

namespace fg {

using i64 = int64_t;

constexpr i64 kKC = 256;  // k block: fixed, it decides the order of the sums

// A micro-kernel: C tile (m ≤ MR rows, n ≤ NR columns) = (accumulate ? C : 0) + A-panel · B-panel.
using MicroKernel = void (*)(i64 kc, const float* a, const float* b, float* const* c, int m, int n, bool accumulate);

struct KernelSet {
  const char* name;
  int mr, nr;
  MicroKernel kernel;
};

// The micro-kernels in use: AVX-512 where the CPU has it, else AVX2+FMA, else portable; or the
// ones FASHION_NATIVE_GEMM_KERNEL / SetKernels names (avx512, avx2, portable; "" = default).
const KernelSet& Kernels();
bool SetKernels(const char* name);

// Grow-only per-thread packing buffers, 64-byte aligned.
float* PackBufferA(size_t n);
float* PackBufferB(size_t n);

// Rows m..MR of an A panel (so that no garbage, e.g. denormals, meets the multipliers).
inline void ZeroRows(float* panel, i64 m, i64 MR, i64 kc) {
  for (i64 r = m; r < MR; r++) std::memset(panel + r * kKC, 0, sizeof(float) * static_cast<size_t>(kc));
}

template <class PA, class PB, class CR>
void BuiltinGemm(i64 M, i64 N, i64 K, const PA& packA, const PB& packB, const CR& crow, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  const KernelSet& ks = Kernels();
  const i64 MR = ks.mr, NR = ks.nr;
  if (K <= 0) {
    if (!accumulate)
      for (i64 i = 0; i < M; i++) std::memset(crow(i), 0, sizeof(float) * static_cast<size_t>(N));
    return;
  }
  const i64 MC = MR * (240 / MR), NC = NR * (1024 / NR);
  float* bufA = PackBufferA(static_cast<size_t>(MC * kKC));
  float* bufB = PackBufferB(static_cast<size_t>(NC * kKC));
  const float* panelsB[1024 / 16];
  float* rows[32];
  for (i64 jc = 0; jc < N; jc += NC) {
    const i64 nc = std::min(NC, N - jc);
    for (i64 pc = 0; pc < K; pc += kKC) {
      const i64 kc = std::min(kKC, K - pc);
      for (i64 jr = 0; jr < nc; jr += NR) panelsB[jr / NR] = packB(bufB + jr * kKC, jc + jr, std::min(NR, nc - jr), pc, kc, NR);
      const bool acc = accumulate || pc > 0;
      for (i64 ic = 0; ic < M; ic += MC) {
        const i64 mc = std::min(MC, M - ic);
        const float* panelsA[240 / 6];
        for (i64 ir = 0; ir < mc; ir += MR) {
          float* dst = bufA + ir * kKC;
          const i64 m = std::min(MR, mc - ir);
          panelsA[ir / MR] = packA(dst, ic + ir, m, pc, kc);
          if (m < MR && panelsA[ir / MR] == dst) ZeroRows(dst, m, MR, kc);
        }
        for (i64 jr = 0; jr < nc; jr += NR) {
          const int n = static_cast<int>(std::min(NR, nc - jr));
          for (i64 ir = 0; ir < mc; ir += MR) {
            const int m = static_cast<int>(std::min(MR, mc - ir));
            for (int r = 0; r < m; r++) rows[r] = crow(ic + ir + r) + jc + jr;
            ks.kernel(kc, panelsA[ir / MR], panelsB[jr / NR], rows, m, n, acc);
          }
        }
      }
    }
  }
}

// Dense operands, row-major: A is [M, K] (lda) or, transposed, [K, M]; B is [K, N] (ldb) or [N, K].
struct DenseA {
  const float* a;
  i64 lda;
  bool trans;
  const float* operator()(float* dst, i64 i0, i64 m, i64 k0, i64 kc) const {
    if (!trans) {
      for (i64 r = 0; r < m; r++) std::memcpy(dst + r * kKC, a + (i0 + r) * lda + k0, sizeof(float) * static_cast<size_t>(kc));
    } else {
      for (i64 k = 0; k < kc; k++) {
        const float* src = a + (k0 + k) * lda + i0;
        for (i64 r = 0; r < m; r++) dst[r * kKC + k] = src[r];
      }
    }
    return dst;
  }
};
struct DenseB {
  const float* b;
  i64 ldb;
  bool trans;
  const float* operator()(float* dst, i64 j0, i64 n, i64 k0, i64 kc, i64 nr) const {
    if (!trans) {
      for (i64 k = 0; k < kc; k++) {
        float* d = dst + k * nr;
        std::memcpy(d, b + (k0 + k) * ldb + j0, sizeof(float) * static_cast<size_t>(n));
        for (i64 j = n; j < nr; j++) d[j] = 0.f;
      }
    } else {
      if (n < nr) std::memset(dst, 0, sizeof(float) * static_cast<size_t>(kc * nr));
      for (i64 j = 0; j < n; j++) {
        const float* src = b + (j0 + j) * ldb + k0;
        for (i64 k = 0; k < kc; k++) dst[k * nr + j] = src[k];
      }
    }
    return dst;
  }
};
// B as rows: row k of B starts at row(k) and holds the N values contiguously.
template <class Row>
struct RowsB {
  Row row;
  const float* operator()(float* dst, i64 j0, i64 n, i64 k0, i64 kc, i64 nr) const {
    for (i64 k = 0; k < kc; k++) {
      float* d = dst + k * nr;
      std::memcpy(d, row(k0 + k) + j0, sizeof(float) * static_cast<size_t>(n));
      for (i64 j = n; j < nr; j++) d[j] = 0.f;
    }
    return dst;
  }
};
struct DenseC {
  float* c;
  i64 ldc;
  float* operator()(i64 i) const { return c + i * ldc; }
};

// An operand packed once, whole, so that several GEMMs (threads) can share it.
struct PackedStore {
  std::unique_ptr<float[]> data;
  i64 rows = 0, k = 0;  // padded rows (A) or columns (B), and K
};
// Packs the whole of A (or B) once, its k blocks in parallel on the pool.
template <class PA>
PackedStore PrepackA(const PA& packA, i64 M, i64 K) {
  const i64 MR = Kernels().mr, Mp = (M + MR - 1) / MR * MR, blocks = (K + kKC - 1) / kKC;
  PackedStore s{std::unique_ptr<float[]>(new float[static_cast<size_t>(Mp * blocks * kKC)]), Mp, K};
  pool().For(blocks, 1, [&](i64 bb, i64 be) {
    for (i64 pc = bb * kKC; pc < be * kKC; pc += kKC)
      for (i64 i = 0; i < M; i += MR) {
        float* dst = s.data.get() + pc * Mp + i * kKC;
        const i64 m = std::min(MR, M - i), kc = std::min(kKC, K - pc);
        const float* got = packA(dst, i, m, pc, kc);
        if (got != dst) std::memcpy(dst, got, sizeof(float) * static_cast<size_t>(MR * kKC));
        if (m < MR) ZeroRows(dst, m, MR, kc);
      }
  });
  return s;
}
template <class PB>
PackedStore PrepackB(const PB& packB, i64 N, i64 K) {
  const i64 NR = Kernels().nr, Np = (N + NR - 1) / NR * NR, blocks = (K + kKC - 1) / kKC;
  PackedStore s{std::unique_ptr<float[]>(new float[static_cast<size_t>(Np * blocks * kKC)]), Np, K};
  pool().For(blocks, 1, [&](i64 bb, i64 be) {
    for (i64 pc = bb * kKC; pc < be * kKC; pc += kKC)
      for (i64 j = 0; j < N; j += NR) {
        float* dst = s.data.get() + pc * Np + j * kKC;
        const float* got = packB(dst, j, std::min(NR, N - j), pc, std::min(kKC, K - pc), NR);
        if (got != dst) std::memcpy(dst, got, sizeof(float) * static_cast<size_t>(NR * kKC));
      }
  });
  return s;
}
// Panels of a PrepackA / PrepackB store (i0, j0 multiples of MR / NR).
// koff (a multiple of kKC) starts the product at that k of the store.
struct PackedA {
  const PackedStore* s;
  i64 koff = 0;
  const float* operator()(float*, i64 i0, i64, i64 k0, i64) const { return s->data.get() + (koff + k0) * s->rows + i0 * kKC; }
};
struct PackedB {
  const PackedStore* s;
  i64 koff = 0;
  const float* operator()(float*, i64 j0, i64, i64 k0, i64, i64) const { return s->data.get() + (koff + k0) * s->rows + j0 * kKC; }
};

// C[M, N] (ldc) = op(A)·op(B) + (beta == 1 ? C : 0); beta must be 0 or 1.
void BuiltinSgemm(bool ta, bool tb, i64 M, i64 N, i64 K, const float* A, i64 lda, const float* B, i64 ldb, float beta,
                  float* C, i64 ldc);

}  // namespace fg
