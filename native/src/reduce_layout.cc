// Reductions (sum, max, min, prod over the middle axis of [outer, mid, inner]), addN, and the
// layout kernels transpose and tile (any 4-byte element type).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels.h"
#include "napi_args.h"
#include "pool.h"

namespace fg {

// reduce(op, x, y, outer, mid, inner, scale): y[o, i] = scale * R_m x[o, m, i]
// op: 0 sum, 1 max, 2 min, 3 prod. Accumulates in double like the JS reference.
Napi::Value ReduceFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int op = static_cast<int>(Int(info, 0));
  float *x, *y;
  size_t nx, ny;
  if (!Get(info, 1, x, nx) || !Get(info, 2, y, ny)) return env.Undefined();
  const i64 outer = Int(info, 3), mid = Int(info, 4), inner = Int(info, 5);
  const double scale = Num(info, 6);
  if (static_cast<i64>(nx) < outer * mid * inner || static_cast<i64>(ny) < outer * inner || op < 0 || op > 3)
    return Fail(env, "reduce: bad sizes"), env.Undefined();
  const double init = op == 0 ? 0.0 : op == 1 ? -INFINITY : op == 2 ? INFINITY : 1.0;
  auto combine = [op](double acc, double v) {
    switch (op) {
      case 0: return acc + v;
      case 1: return (v > acc || std::isnan(v)) ? v : acc;
      case 2: return (v < acc || std::isnan(v)) ? v : acc;
      default: return acc * v;
    }
  };
  // Reduces x[o, m0:m1, :] into acc[inner].
  auto part = [&](i64 o, i64 m0, i64 m1, double* acc) {
    const float* base = x + o * mid * inner;
    if (inner == 1) {
      double s = acc[0];
      if (op == 0) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        i64 m = m0;
        for (; m + 4 <= m1; m += 4) {
          s0 += base[m];
          s1 += base[m + 1];
          s2 += base[m + 2];
          s3 += base[m + 3];
        }
        for (; m < m1; m++) s0 += base[m];
        s += (s0 + s1) + (s2 + s3);
      } else {
        for (i64 m = m0; m < m1; m++) s = combine(s, base[m]);
      }
      acc[0] = s;
      return;
    }
    for (i64 m = m0; m < m1; m++) {
      const float* row = base + m * inner;
      if (op == 0) {
        for (i64 i = 0; i < inner; i++) acc[i] += row[i];
      } else {
        for (i64 i = 0; i < inner; i++) acc[i] = combine(acc[i], row[i]);
      }
    }
  };
  // The strategy follows from the shape, never the thread count: the two group the sums differently.
  if (outer >= 8 || outer * mid * inner < 65536) {
    pool().For(outer, std::max<i64>(1, 65536 / std::max<i64>(1, mid * inner)), [&](i64 b, i64 e) {
      std::vector<double> acc(inner);
      for (i64 o = b; o < e; o++) {
        std::fill(acc.begin(), acc.end(), init);
        part(o, 0, mid, acc.data());
        for (i64 i = 0; i < inner; i++) y[o * inner + i] = static_cast<float>(acc[i] * scale);
      }
    });
  } else {
    // Few output rows, long reductions: split `mid` into P parts, then combine in order.
    const i64 P = std::min<i64>(8, mid);
    std::vector<std::vector<double>> accs(P, std::vector<double>(inner));
    for (i64 o = 0; o < outer; o++) {
      pool().For(P, 1, [&](i64 b, i64 e) {
        for (i64 t = b; t < e; t++) {
          std::fill(accs[t].begin(), accs[t].end(), init);
          part(o, mid * t / P, mid * (t + 1) / P, accs[t].data());
        }
      });
      for (i64 i = 0; i < inner; i++) {
        double v = accs[0][i];
        for (i64 t = 1; t < P; t++) v = combine(v, accs[t][i]);
        y[o * inner + i] = static_cast<float>(v * scale);
      }
    }
  }
  return env.Undefined();
}

// transpose(x, y, shape, perm) for any 4-byte element type (float32/int32).
Napi::Value TransposeFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t *x, *y;
  size_t nx, ny;
  if (!Get(info, 0, x, nx) || !Get(info, 1, y, ny)) return env.Undefined();
  std::vector<i64> shape = Ints(info, 2), perm = Ints(info, 3);
  const int r = static_cast<int>(shape.size());
  if (r == 0 || static_cast<int>(perm.size()) != r) return Fail(env, "transpose: bad shape"), env.Undefined();
  std::vector<i64> inStride(r), outShape(r), st(r);
  i64 total = 1;
  for (int d = r - 1; d >= 0; d--) {
    inStride[d] = total;
    total *= shape[d];
  }
  if (static_cast<i64>(nx) < total || static_cast<i64>(ny) < total)
    return Fail(env, "transpose: bad sizes"), env.Undefined();
  for (int d = 0; d < r; d++) {
    outShape[d] = shape[perm[d]];
    st[d] = inStride[perm[d]];
  }
  if (total == 0) return env.Undefined();
  const i64 inner = outShape[r - 1], sIn = st[r - 1];
  const i64 rows = total / inner;
  pool().For(rows, std::max<i64>(1, 16384 / std::max<i64>(1, inner)), [&](i64 s, i64 e) {
    std::vector<i64> idx(r, 0);
    i64 rem = s, off = 0;
    for (int d = r - 2; d >= 0; d--) {
      idx[d] = rem % outShape[d];
      rem /= outShape[d];
      off += idx[d] * st[d];
    }
    for (i64 row = s; row < e; row++) {
      uint32_t* __restrict dst = y + row * inner;
      const uint32_t* __restrict src = x + off;
      for (i64 i = 0; i < inner; i++) dst[i] = src[i * sIn];
      for (int d = r - 2; d >= 0; d--) {
        off += st[d];
        if (++idx[d] < outShape[d]) break;
        off -= st[d] * outShape[d];
        idx[d] = 0;
      }
    }
  });
  return env.Undefined();
}

// tile(x, y, inShape, outShape) for any 4-byte element type: y[i] = x[i mod inShape] per axis.
Napi::Value TileFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t *x, *y;
  size_t nx, ny;
  if (!Get(info, 0, x, nx) || !Get(info, 1, y, ny)) return env.Undefined();
  std::vector<i64> in = Ints(info, 2), outS = Ints(info, 3);
  const int r = static_cast<int>(in.size());
  if (r == 0 || static_cast<int>(outS.size()) != r) return Fail(env, "tile: bad shape"), env.Undefined();
  std::vector<i64> inStride(r);
  i64 tin = 1, tout = 1;
  for (int d = r - 1; d >= 0; d--) {
    inStride[d] = tin;
    tin *= in[d];
    tout *= outS[d];
    if (in[d] <= 0 || outS[d] % in[d] != 0) return Fail(env, "tile: bad shape"), env.Undefined();
  }
  if (static_cast<i64>(nx) < tin || static_cast<i64>(ny) < tout) return Fail(env, "tile: bad sizes"), env.Undefined();
  const i64 inner = outS[r - 1], inInner = in[r - 1];
  const i64 rows = tout / inner;
  pool().For(rows, std::max<i64>(1, 16384 / std::max<i64>(1, inner)), [&](i64 s, i64 e) {
    std::vector<i64> idx(r, 0);
    i64 rem = s;
    for (int d = r - 2; d >= 0; d--) {
      idx[d] = rem % outS[d];
      rem /= outS[d];
    }
    for (i64 row = s; row < e; row++) {
      i64 off = 0;
      for (int d = 0; d < r - 1; d++) off += (idx[d] % in[d]) * inStride[d];
      uint32_t* dst = y + row * inner;
      for (i64 j = 0; j < inner; j += inInner) std::memcpy(dst + j, x + off, sizeof(uint32_t) * inInner);
      for (int d = r - 2; d >= 0; d--) {
        if (++idx[d] < outS[d]) break;
        idx[d] = 0;
      }
    }
  });
  return env.Undefined();
}

// addN([arrays], y)
Napi::Value AddNFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) return Fail(env, "addN: expected an array"), env.Undefined();
  Napi::Array arr = info[0].As<Napi::Array>();
  float* y;
  size_t ny;
  if (!Get(info, 1, y, ny)) return env.Undefined();
  std::vector<const float*> xs;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsTypedArray()) return Fail(env, "addN: expected typed arrays"), env.Undefined();
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    if (ta.ElementSize() != 4 || ta.ElementLength() < ny) return Fail(env, "addN: bad input"), env.Undefined();
    xs.push_back(reinterpret_cast<const float*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset()));
  }
  pool().For(static_cast<i64>(ny), 32768, [&xs, y](i64 b, i64 e) {
    float* __restrict yy = y;
    const size_t k = xs.size();
    const float* const* ps = xs.data();
    for (i64 i = b; i < e; i++) {
      double s = 0;  // the JS reference adds in double
      for (size_t j = 0; j < k; j++) s += ps[j][i];
      yy[i] = static_cast<float>(s);
    }
  });
  return env.Undefined();
}

}  // namespace fg
