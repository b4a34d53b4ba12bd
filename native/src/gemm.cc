// Gemm over OpenBLAS or the builtin GEMM (chosen at run time), the GEMM epilogue, and the
// matMul kernel.
#include "gemm.h"

#ifdef FASHION_HAVE_OPENBLAS
#include <cblas.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "gemm_builtin.h"

#include "kernels.h"
#include "napi_args.h"
#include "pool.h"

namespace fg {

namespace {
void ApplyAct(float* __restrict y, i64 n, int act, float alpha) {
  switch (act) {
    case kRelu: for (i64 i = 0; i < n; i++) y[i] = y[i] < 0.f ? 0.f : y[i]; break;
    case kRelu6: for (i64 i = 0; i < n; i++) y[i] = std::min(std::max(y[i], 0.f), 6.f); break;
    case kLeaky: for (i64 i = 0; i < n; i++) y[i] = y[i] < 0.f ? alpha * y[i] : y[i]; break;
    case kSigmoid: for (i64 i = 0; i < n; i++) y[i] = 1.f / (1.f + std::exp(-y[i])); break;
    case kElu: for (i64 i = 0; i < n; i++) y[i] = y[i] >= 0.f ? y[i] : std::expm1(y[i]); break;
    case kTanh: for (i64 i = 0; i < n; i++) y[i] = std::tanh(y[i]); break;
    default: break;
  }
}
}  // namespace

// y[rows, cols] += bias[cols] (if any), then activation. Parallel over rows.
void Epilogue(float* y, i64 rows, i64 cols, const float* bias, int act, float alpha) {
  if (!bias && act == kLinear) return;
  pool().For(rows, std::max<i64>(1, 32768 / std::max<i64>(1, cols)), [&](i64 b, i64 e) {
    for (i64 r = b; r < e; r++) {
      float* row = y + r * cols;
      if (bias) AddRow(row, bias, cols);
      ApplyAct(row, cols, act, alpha);
    }
  });
}

namespace {
#ifdef FASHION_HAVE_OPENBLAS
constexpr bool kHaveOpenblas = true;
#else
constexpr bool kHaveOpenblas = false;
#endif
// The builtin GEMM unless OpenBLAS is asked for; without FASHION_NATIVE_BLAS, OpenBLAS where the
// builtin one has no AVX-512 micro-kernels (on AVX-512 the builtin convolutions measured
// 1.2–1.5× OpenBLAS's train step; the README's Speed section).
bool DefaultBuiltin() {
  const char* e = std::getenv("FASHION_NATIVE_BLAS");
  if (!kHaveOpenblas || (e && std::strcmp(e, "builtin") == 0)) return true;
  if (e && std::strcmp(e, "openblas") == 0) return false;
  return std::strcmp(Kernels().name, "avx512") == 0;
}
int use_builtin = -1;  // decided on first use (after the CPU is known)
bool Builtin() {
  if (use_builtin < 0) use_builtin = DefaultBuiltin();
  return use_builtin;
}

// One product on the calling thread.
void GemmCall(bool ta, bool tb, i64 M, i64 N, i64 K, const float* A, i64 lda, const float* B, i64 ldb, float beta,
              float* C, i64 ldc) {
#ifdef FASHION_HAVE_OPENBLAS
  if (!Builtin()) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.f, A, lda, B,
                ldb, beta, C, ldc);
    return;
  }
#endif
  BuiltinSgemm(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
}
}  // namespace

bool HaveOpenblas() { return kHaveOpenblas; }
bool UseBuiltinGemm() { return Builtin(); }
bool SetGemm(const char* name) {
  if (!name || !*name) {
    use_builtin = DefaultBuiltin();
    return true;
  }
  if (std::strcmp(name, "builtin") == 0) {
    use_builtin = true;
    return true;
  }
  if (std::strcmp(name, "openblas") == 0 && kHaveOpenblas) {
    use_builtin = false;
    return true;
  }
  return false;
}
const char* OpenblasConfig() {
#ifdef FASHION_HAVE_OPENBLAS
  return openblas_get_config();
#else
  return "";
#endif
}
void SetOpenblasThreads(int n) {
#ifdef FASHION_HAVE_OPENBLAS
  openblas_set_num_threads(n);
#endif
}
int OpenblasThreads() {
#ifdef FASHION_HAVE_OPENBLAS
  return openblas_get_num_threads();
#else
  return 0;
#endif
}

// C = op(A)·op(B) (+ beta·C), row-major. The library runs single-threaded; on the JS thread a large
// product is cut into row (or column) blocks that the pool's threads multiply independently.
// The blocks follow from the shape alone (one per pool chunk), and inside a parallel job the
// product is one call, so every element is computed by the same library call on any number of
// threads.
void Gemm(bool ta, bool tb, i64 M, i64 N, i64 K, const float* A, i64 lda, const float* B, i64 ldb, float beta,
          float* C, i64 ldc) {
  if (M <= 0 || N <= 0) return;
  const double macs = static_cast<double>(M) * N * std::max<i64>(K, 1);
  if (tls_in_parallel || macs < 2e6 || (M < 32 && N < 32) || (Builtin() && N == 1 && ldc == 1)) {
    GemmCall(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  // 16-row (or column) blocks, grouped into at most Pool::kMaxChunks parts; For's chunks over
  // `parts` items with grain 1 are exactly the parts.
  const bool rows = M >= N;
  const i64 blocks = ((rows ? M : N) + 15) / 16, parts = std::min(Pool::kMaxChunks, blocks);
  if (Builtin()) {
    // The operand all parts share is packed once.
    const PackedStore shared = rows ? PrepackB(DenseB{B, ldb, tb}, N, K) : PrepackA(DenseA{A, lda, ta}, M, K);
    pool().For(parts, 1, [&](i64 pb, i64 pe) {
      for (i64 p = pb; p < pe; p++) {
        const i64 lo = std::min(rows ? M : N, blocks * p / parts * 16), hi = std::min(rows ? M : N, blocks * (p + 1) / parts * 16);
        if (hi <= lo) continue;
        if (rows)
          BuiltinGemm(hi - lo, N, K, DenseA{ta ? A + lo : A + lo * lda, lda, ta}, PackedB{&shared}, DenseC{C + lo * ldc, ldc}, beta != 0.f);
        else
          BuiltinGemm(M, hi - lo, K, PackedA{&shared}, DenseB{tb ? B + lo * ldb : B + lo, ldb, tb}, DenseC{C + lo, ldc}, beta != 0.f);
      }
    });
    return;
  }
  pool().For(parts, 1, [&](i64 pb, i64 pe) {
    for (i64 p = pb; p < pe; p++) {
      const i64 lo = std::min(rows ? M : N, blocks * p / parts * 16), hi = std::min(rows ? M : N, blocks * (p + 1) / parts * 16);
      if (hi <= lo) continue;
      if (rows) {
        const float* a = ta ? A + lo : A + lo * lda;
        GemmCall(ta, tb, hi - lo, N, K, a, lda, B, ldb, beta, C + lo * ldc, ldc);
      } else {
        const float* bb = tb ? B + lo * ldb : B + lo;
        GemmCall(ta, tb, M, hi - lo, K, A, lda, bb, ldb, beta, C + lo, ldc);
      }
    }
  });
}

// matMul(a, b, c, batchA, batchB, M, N, K, transA, transB, bias|null, act, alpha)
// a: [batchA, M, K] (or [batchA, K, M] if transA), b: [batchB, K, N] (or [batchB, N, K]),
// c: [max(batchA, batchB), M, N]. Batches broadcast when one of them is 1.
Napi::Value MatMulFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *a, *b, *c;
  size_t na, nb, nc;
  if (!Get(info, 0, a, na) || !Get(info, 1, b, nb) || !Get(info, 2, c, nc)) return env.Undefined();
  i64 ba = Int(info, 3), bb = Int(info, 4), M = Int(info, 5), N = Int(info, 6), K = Int(info, 7);
  bool ta = Bool(info, 8), tb = Bool(info, 9);
  const float* bias = nullptr;
  size_t nbias = 0;
  if (info.Length() > 10 && info[10].IsTypedArray()) {
    float* bp;
    if (!Get(info, 10, bp, nbias)) return env.Undefined();
    if (static_cast<i64>(nbias) != N) return Fail(env, "matMul: bias must have N elements"), env.Undefined();
    bias = bp;
  }
  int act = info.Length() > 11 ? static_cast<int>(Int(info, 11)) : 0;
  float alpha = info.Length() > 12 ? static_cast<float>(Num(info, 12)) : 0.f;
  i64 batch = std::max(ba, bb);
  if ((ba != bb && ba != 1 && bb != 1) || static_cast<i64>(na) < ba * M * K ||
      static_cast<i64>(nb) < bb * K * N || static_cast<i64>(nc) < batch * M * N)
    return Fail(env, "matMul: bad sizes"), env.Undefined();
  const i64 lda = ta ? M : K, ldb = tb ? K : N;
  if (K == 0) {
    std::fill(c, c + batch * M * N, 0.f);
  } else if (bb == 1 && !ta) {
    // [batch*M, K] x [K, N]: one GEMM.
    Gemm(ta, tb, batch * M, N, K, a, lda, b, ldb, 0.f, c, N);
  } else {
    auto one = [&](i64 i) {
      const float* ai = a + (ba == 1 ? 0 : i) * M * K;
      const float* bi = b + (bb == 1 ? 0 : i) * K * N;
      Gemm(ta, tb, M, N, K, ai, lda, bi, ldb, 0.f, c + i * M * N, N);
    };
    if (batch >= 8) {  // by shape, not thread count: each product is then one library call
      pool().For(batch, 1, [&](i64 s, i64 e) {
        for (i64 i = s; i < e; i++) one(i);
      });
    } else {
      for (i64 i = 0; i < batch; i++) one(i);
    }
  }
  Epilogue(c, batch * M, N, bias, act, alpha);
  return env.Undefined();
}

// gemm(transA, transB, M, N, K, a, lda, b, ldb, beta, c, ldc): C = op(A)·op(B) + beta·C with
// leading dimensions, beta 0 or 1, through Gemm (for tests of both GEMMs).
Napi::Value GemmFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *a, *b, *c;
  size_t na, nb, nc;
  if (!Get(info, 5, a, na) || !Get(info, 7, b, nb) || !Get(info, 10, c, nc)) return env.Undefined();
  const bool ta = Bool(info, 0), tb = Bool(info, 1);
  const i64 M = Int(info, 2), N = Int(info, 3), K = Int(info, 4), lda = Int(info, 6), ldb = Int(info, 8), ldc = Int(info, 11);
  const double beta = Num(info, 9);
  const i64 aRows = ta ? K : M, aCols = ta ? M : K, bRows = tb ? N : K, bCols = tb ? K : N;
  const auto fits = [](i64 rows, i64 cols, i64 ld, size_t n) { return rows == 0 || (ld >= cols && (rows - 1) * ld + cols <= static_cast<i64>(n)); };
  if (M < 0 || N < 0 || K < 0 || (beta != 0 && beta != 1) || !fits(aRows, aCols, lda, na) || !fits(bRows, bCols, ldb, nb) ||
      !fits(M, N, ldc, nc))
    return Fail(env, "gemm: bad sizes"), env.Undefined();
  if (K == 0) {
    if (beta == 0)
      for (i64 i = 0; i < M; i++) std::fill(c + i * ldc, c + i * ldc + N, 0.f);
    return env.Undefined();
  }
  Gemm(ta, tb, M, N, K, a, lda, b, ldb, static_cast<float>(beta), c, ldc);
  return env.Undefined();
}

}  // namespace fg
