// Matrix products for the kernels: Gemm (OpenBLAS sgemm or the builtin GEMM, split over the pool
// by shape) and the bias + activation epilogue shared by matMul and the convolutions.
#pragma once

#include <cstdint>

namespace fg {

using i64 = int64_t;

// Activation codes, shared with src/backends/native/kernels.ts (ACT).
enum Act { kLinear = 0, kRelu = 1, kRelu6 = 2, kLeaky = 3, kSigmoid = 4, kElu = 5, kTanh = 6 };

// C = op(A)·op(B) (+ beta·C), row-major, alpha 1.
void Gemm(bool ta, bool tb, i64 M, i64 N, i64 K, const float* A, i64 lda, const float* B, i64 ldb, float beta,
          float* C, i64 ldc);

// y[rows, cols] += bias[cols] (if any), then the activation. Parallel over rows.
void Epilogue(float* y, i64 rows, i64 cols, const float* bias, int act, float alpha);

// y[i] += b[i]
inline void AddRow(float* __restrict y, const float* __restrict b, i64 n) {
  for (i64 i = 0; i < n; i++) y[i] += b[i];
}

// Which GEMM runs: FASHION_NATIVE_BLAS=builtin|openblas, else the builtin one where its
// micro-kernels are AVX-512 or OpenBLAS is missing, else OpenBLAS. SetGemm("openblas" | "builtin" | "" for the default) returns false when
// the choice is unavailable.
bool HaveOpenblas();
bool UseBuiltinGemm();
bool SetGemm(const char* name);
const char* OpenblasConfig();
void SetOpenblasThreads(int n);
int OpenblasThreads();

}  // namespace fg
