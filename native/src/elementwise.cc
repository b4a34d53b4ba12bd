// Elementwise kernels: unary ops, broadcasting binary ops and comparisons, select, and the
// one-pass LeakyRelu gradient. Every pooled loop lives in a function with __restrict array
// parameters and functors by value: GCC honours restrict only on parameters, and through a
// lambda's captures it must assume each store may change the pointers or constants, which keeps
// the loop scalar (a branchy scalar loop ran 10–30× slower than the vectorised one on two threads).
#include <algorithm>
#include <cmath>

#include "kernels.h"
#include "napi_args.h"
#include "pool.h"

namespace fg {

namespace {
// Unary ops: unary(op, x, y, alpha)
enum Unary {
  uRelu = 1, uRelu6, uLeaky, uSigmoid, uElu, uTanh, uNeg, uExp, uLog, uSqrt, uRsqrt, uSquare, uAbs,
  uReciprocal, uSoftplus, uLog1p, uExpm1, uStep, uSign, uFloor, uCeil, uSin, uCos, uIdentity
};

// Parallel loops run in functions whose array parameters are __restrict and whose functors come
// by value: GCC honours restrict only on parameters, and through a lambda's captures it must
// assume each store may change the pointers or constants, which keeps the loop scalar (a branchy
// scalar loop ran 10–30× slower than the vectorised one on two threads).
template <class F>
void MapRange(const float* __restrict x, float* __restrict y, i64 b, i64 e, F f) {
  for (i64 i = b; i < e; i++) y[i] = f(x[i]);
}
// grain: elements per chunk at least; the transcendental functions cost ~20 ns an element, so
// they split smaller arrays (a 28×28 batch of 64 through tanh) over the threads too.
constexpr i64 kCheap = 32768, kCostly = 4096;
template <class F>
void Map(const float* x, float* y, i64 n, F f, i64 grain = kCheap) {
  pool().For(n, grain, [x, y, f](i64 b, i64 e) { MapRange(x, y, b, e, f); });
}

}  // namespace

Napi::Value UnaryFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int op = static_cast<int>(Int(info, 0));
  float *x, *y;
  size_t nx, ny;
  if (!Get(info, 1, x, nx) || !Get(info, 2, y, ny)) return env.Undefined();
  if (ny < nx) return Fail(env, "unary: output too small"), env.Undefined();
  const float alpha = info.Length() > 3 ? static_cast<float>(Num(info, 3)) : 0.f;
  const i64 n = static_cast<i64>(nx);
  // Softplus thresholds as in tfjs-backend-cpu.
  const float sp = static_cast<float>(std::log(1.1920928955078125e-7) + 2.0);
  switch (op) {
    case uRelu: Map(x, y, n, [](float v) { return v < 0.f ? 0.f : v; }); break;
    case uRelu6: Map(x, y, n, [](float v) { return std::min(std::max(v, 0.f), 6.f); }); break;
    case uLeaky: Map(x, y, n, [alpha](float v) { return v < 0.f ? alpha * v : v; }); break;
    case uSigmoid: Map(x, y, n, [](float v) { return 1.f / (1.f + std::exp(-v)); }, kCostly); break;
    case uElu: Map(x, y, n, [](float v) { return v >= 0.f ? v : std::expm1(v); }, kCostly); break;
    case uTanh: Map(x, y, n, [](float v) { return std::tanh(v); }, kCostly); break;
    case uNeg: Map(x, y, n, [](float v) { return -v; }); break;
    case uExp: Map(x, y, n, [](float v) { return std::exp(v); }, kCostly); break;
    case uLog: Map(x, y, n, [](float v) { return std::log(v); }, kCostly); break;
    case uSqrt: Map(x, y, n, [](float v) { return std::sqrt(v); }); break;
    case uRsqrt: Map(x, y, n, [](float v) { return static_cast<float>(1.0 / std::sqrt(static_cast<double>(v))); }); break;
    case uSquare: Map(x, y, n, [](float v) { return v * v; }); break;
    case uAbs: Map(x, y, n, [](float v) { return std::fabs(v); }); break;
    case uReciprocal: Map(x, y, n, [](float v) { return 1.f / v; }); break;
    case uSoftplus:
      Map(x, y, n, [sp](float v) {
        if (v < sp) return std::exp(v);
        if (v > -sp) return v;
        return std::log1p(std::exp(v));
      });
      break;
    case uLog1p: Map(x, y, n, [](float v) { return std::log1p(v); }, kCostly); break;
    case uExpm1: Map(x, y, n, [](float v) { return std::expm1(v); }, kCostly); break;
    case uStep: Map(x, y, n, [alpha](float v) { return std::isnan(v) ? v : (v > 0.f ? 1.f : alpha); }); break;
    case uSign: Map(x, y, n, [](float v) { return v < 0.f ? -1.f : (v > 0.f ? 1.f : 0.f); }); break;
    case uFloor: Map(x, y, n, [](float v) { return std::floor(v); }); break;
    case uCeil: Map(x, y, n, [](float v) { return std::ceil(v); }); break;
    case uSin: Map(x, y, n, [](float v) { return std::sin(v); }, kCostly); break;
    case uCos: Map(x, y, n, [](float v) { return std::cos(v); }, kCostly); break;
    case uIdentity: Map(x, y, n, [](float v) { return v; }); break;
    default: return Fail(env, "unary: unknown op"), env.Undefined();
  }
  return env.Undefined();
}

namespace {
// Binary ops with broadcasting: binary(op, a, b, y, shape, aStrides, bStrides)
// shape/strides: Int32Array of the (already collapsed) output rank; a stride 0 broadcasts.
enum Binary {
  bAdd = 1, bSub, bMul, bDiv, bMax, bMin, bSqDiff, bPow, bPreluLike,
  bGreater = 100, bGreaterEqual, bLess, bLessEqual, bEqual, bNotEqual
};

struct OAdd { float operator()(float a, float b) const { return a + b; } };
struct OSub { float operator()(float a, float b) const { return a - b; } };
struct OMul { float operator()(float a, float b) const { return a * b; } };
struct ODiv { float operator()(float a, float b) const { return a / b; } };
struct OMax { float operator()(float a, float b) const { return a > b ? a : b; } };
struct OMin { float operator()(float a, float b) const { return a < b ? a : b; } };
struct OSqDiff { float operator()(float a, float b) const { float d = a - b; return d * d; } };
struct OPow { float operator()(float a, float b) const { return static_cast<float>(std::pow(static_cast<double>(a), static_cast<double>(b))); } };
struct OGt { uint8_t operator()(float a, float b) const { return a > b; } };
struct OGe { uint8_t operator()(float a, float b) const { return a >= b; } };
struct OLt { uint8_t operator()(float a, float b) const { return a < b; } };
struct OLe { uint8_t operator()(float a, float b) const { return a <= b; } };
struct OEq { uint8_t operator()(float a, float b) const { return a == b; } };
struct ONe { uint8_t operator()(float a, float b) const { return a != b; } };

template <class Out, class Op>
inline void Row(const float* __restrict a, i64 sa, const float* __restrict b, i64 sb, Out* __restrict y, i64 n, Op op) {
  if (sa == 1 && sb == 1) {
    for (i64 i = 0; i < n; i++) y[i] = op(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float bv = *b;
    for (i64 i = 0; i < n; i++) y[i] = op(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const float av = *a;
    for (i64 i = 0; i < n; i++) y[i] = op(av, b[i]);
  } else {
    for (i64 i = 0; i < n; i++) y[i] = op(a[i * sa], b[i * sb]);
  }
}

template <class Out, class Op>
void Broadcast(const float* a, const float* b, Out* y, const std::vector<i64>& shape,
               const std::vector<i64>& sa, const std::vector<i64>& sb, Op op) {
  const int r = static_cast<int>(shape.size());
  const i64 inner = shape[r - 1];
  i64 rows = 1;
  for (int d = 0; d < r - 1; d++) rows *= shape[d];
  if (rows == 1) {
    pool().For(inner, 32768, [&](i64 s, i64 e) {
      Row(a + s * sa[r - 1], sa[r - 1], b + s * sb[r - 1], sb[r - 1], y + s, e - s, op);
    });
    return;
  }
  pool().For(rows, std::max<i64>(1, 32768 / std::max<i64>(1, inner)), [&](i64 s, i64 e) {
    std::vector<i64> idx(r > 1 ? r - 1 : 1, 0);
    i64 rem = s, offA = 0, offB = 0;
    for (int d = r - 2; d >= 0; d--) {
      idx[d] = rem % shape[d];
      rem /= shape[d];
      offA += idx[d] * sa[d];
      offB += idx[d] * sb[d];
    }
    for (i64 row = s; row < e; row++) {
      Row(a + offA, sa[r - 1], b + offB, sb[r - 1], y + row * inner, inner, op);
      for (int d = r - 2; d >= 0; d--) {
        offA += sa[d];
        offB += sb[d];
        if (++idx[d] < shape[d]) break;
        offA -= sa[d] * shape[d];
        offB -= sb[d] * shape[d];
        idx[d] = 0;
      }
    }
  });
}

}  // namespace

Napi::Value BinaryFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int op = static_cast<int>(Int(info, 0));
  float *a, *b;
  size_t na, nb;
  if (!Get(info, 1, a, na) || !Get(info, 2, b, nb)) return env.Undefined();
  std::vector<i64> shape = Ints(info, 4), sa = Ints(info, 5), sb = Ints(info, 6);
  if (shape.empty() || sa.size() != shape.size() || sb.size() != shape.size())
    return Fail(env, "binary: bad shape/strides"), env.Undefined();
  i64 total = 1, lastA = 0, lastB = 0;
  for (size_t d = 0; d < shape.size(); d++) {
    total *= shape[d];
    if (shape[d] > 0) {
      lastA += (shape[d] - 1) * sa[d];
      lastB += (shape[d] - 1) * sb[d];
    }
  }
  if (total == 0) return env.Undefined();
  if (lastA >= static_cast<i64>(na) || lastB >= static_cast<i64>(nb))
    return Fail(env, "binary: strides exceed input"), env.Undefined();
  if (op >= 100) {
    uint8_t* y;
    size_t ny;
    if (!Get(info, 3, y, ny)) return env.Undefined();
    if (static_cast<i64>(ny) < total) return Fail(env, "binary: output too small"), env.Undefined();
    switch (op) {
      case bGreater: Broadcast(a, b, y, shape, sa, sb, OGt()); break;
      case bGreaterEqual: Broadcast(a, b, y, shape, sa, sb, OGe()); break;
      case bLess: Broadcast(a, b, y, shape, sa, sb, OLt()); break;
      case bLessEqual: Broadcast(a, b, y, shape, sa, sb, OLe()); break;
      case bEqual: Broadcast(a, b, y, shape, sa, sb, OEq()); break;
      case bNotEqual: Broadcast(a, b, y, shape, sa, sb, ONe()); break;
      default: return Fail(env, "binary: unknown op"), env.Undefined();
    }
    return env.Undefined();
  }
  float* y;
  size_t ny;
  if (!Get(info, 3, y, ny)) return env.Undefined();
  if (static_cast<i64>(ny) < total) return Fail(env, "binary: output too small"), env.Undefined();
  switch (op) {
    case bAdd: Broadcast(a, b, y, shape, sa, sb, OAdd()); break;
    case bSub: Broadcast(a, b, y, shape, sa, sb, OSub()); break;
    case bMul: Broadcast(a, b, y, shape, sa, sb, OMul()); break;
    case bDiv: Broadcast(a, b, y, shape, sa, sb, ODiv()); break;
    case bMax: Broadcast(a, b, y, shape, sa, sb, OMax()); break;
    case bMin: Broadcast(a, b, y, shape, sa, sb, OMin()); break;
    case bSqDiff: Broadcast(a, b, y, shape, sa, sb, OSqDiff()); break;
    case bPow: Broadcast(a, b, y, shape, sa, sb, OPow()); break;
    default: return Fail(env, "binary: unknown op"), env.Undefined();
  }
  return env.Undefined();
}

namespace {
void SelectRange(const uint8_t* __restrict c, const float* __restrict t, const float* __restrict e, float* __restrict y, i64 b, i64 end) {
  for (i64 i = b; i < end; i++) y[i] = c[i] == 1 ? t[i] : e[i];
}
}  // namespace

// select(cond:Uint8Array, t, e, y) — all of one size.
Napi::Value SelectFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* c;
  float *t, *e, *y;
  size_t nc, nt, ne, ny;
  if (!Get(info, 0, c, nc) || !Get(info, 1, t, nt) || !Get(info, 2, e, ne) || !Get(info, 3, y, ny))
    return env.Undefined();
  if (nt < nc || ne < nc || ny < nc) return Fail(env, "select: bad sizes"), env.Undefined();
  pool().For(static_cast<i64>(nc), 32768, [c, t, e, y](i64 b, i64 end) { SelectRange(c, t, e, y, b, end); });
  return env.Undefined();
}

namespace {
// dy·1 is dy exactly, so the multiply is branch-free and equal to where(x > 0, dy, dy·alpha).
void LeakyReluGradRange(const float* __restrict dy, const float* __restrict x, float* __restrict dx, i64 b, i64 e, float alpha) {
  for (i64 i = b; i < e; i++) dx[i] = dy[i] * (x[i] > 0.f ? 1.f : alpha);
}
}  // namespace

// leakyReluGrad(dy, x, dx, alpha): dx = x > 0 ? dy : dy·alpha — TF.js's where(x > 0, dy, dy·alpha)
// in one pass.
Napi::Value LeakyReluGradFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *dy, *x, *dx;
  size_t ndy, nx, ndx;
  if (!Get(info, 0, dy, ndy) || !Get(info, 1, x, nx) || !Get(info, 2, dx, ndx)) return env.Undefined();
  if (nx != ndy || ndx != ndy) return Fail(env, "leakyReluGrad: arrays differ in length"), env.Undefined();
  const float alpha = static_cast<float>(Num(info, 3));
  pool().For(static_cast<i64>(ndy), 32768, [=](i64 b, i64 e) { LeakyReluGradRange(dy, x, dx, b, e, alpha); });
  return env.Undefined();
}

}  // namespace fg
