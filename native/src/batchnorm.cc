// FusedBatchNorm: y = (x − mean) · scale / √(variance + ε) + offset, as one multiply-add per element.
#include <cmath>
#include <vector>

#include "kernels.h"
#include "napi_args.h"
#include "pool.h"

namespace fg {

namespace {
void AffineRow(const float* __restrict x, float* __restrict y, const float* __restrict mul, const float* __restrict add, i64 C) {
  for (i64 c = 0; c < C; c++) y[c] = x[c] * mul[c] + add[c];
}
}  // namespace

// batchNorm(x, mean, variance, offset|null, scale|null, eps, y, channels): every parameter
// array holds `channels` or 1 values; channel = i % channels (the JS reference's cyclic rule).
Napi::Value BatchNormFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *x, *mean, *var, *y;
  size_t nx, nm, nv, ny;
  if (!Get(info, 0, x, nx) || !Get(info, 1, mean, nm) || !Get(info, 2, var, nv)) return env.Undefined();
  float *off = nullptr, *sc = nullptr;
  size_t no = 1, ns = 1;
  if (info[3].IsTypedArray() && !Get(info, 3, off, no)) return env.Undefined();
  if (info[4].IsTypedArray() && !Get(info, 4, sc, ns)) return env.Undefined();
  const double eps = Num(info, 5);
  if (!Get(info, 6, y, ny)) return env.Undefined();
  const i64 C = Int(info, 7);
  if (C <= 0 || ny < nx || static_cast<i64>(nx) % C != 0) return Fail(env, "batchNorm: bad sizes"), env.Undefined();
  for (size_t len : {nm, nv, no, ns})
    if (static_cast<i64>(len) != C && len != 1) return Fail(env, "batchNorm: bad parameter size"), env.Undefined();
  std::vector<float> mul(C), add(C);
  for (i64 c = 0; c < C; c++) {
    const double s = (sc ? sc[ns == 1 ? 0 : c] : 1.0) / std::sqrt(static_cast<double>(var[nv == 1 ? 0 : c]) + eps);
    const double m = mean[nm == 1 ? 0 : c];
    const double o = off ? off[no == 1 ? 0 : c] : 0.0;
    mul[c] = static_cast<float>(s);
    add[c] = static_cast<float>(o - m * s);
  }
  const i64 rows = static_cast<i64>(nx) / C;
  const float* mulp = mul.data();
  const float* addp = add.data();
  pool().For(rows, std::max<i64>(1, 32768 / C), [x, y, mulp, addp, C](i64 b, i64 e) {
    for (i64 r = b; r < e; r++) AffineRow(x + r * C, y + r * C, mulp, addp, C);
  });
  return env.Undefined();
}

}  // namespace fg
