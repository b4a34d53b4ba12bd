// Batch norm in training mode (FashionBatchNormTrain and its gradient), over x [rows, C]: the
// statistics of every channel over all rows, in one kernel instead of TF.js's chain of moments,
// batchNorm and a dozen gradient ops.
//   forward:  mean = Σx / N;  var = Σ(x − mean)² / N (one pass, shifted);  r = 1/√(var + ε);  y = (x − mean)·γr + β
//   backward: dβ = Σdy;  dγ = r·Σdy·(x − mean);  dx = γr·dy − γr³·Σdy(x − mean)/N·(x − mean) − γr·Σdy/N
// Sums run in double over chunks of rows that follow from the shape alone, the chunks' partials
// added in chunk order: the same bits on any number of threads.
#include <cmath>
#include <vector>

#include "kernels.h"
#include "napi_args.h"
#include "pool.h"

namespace fg {

namespace {

// Row chunks for per-channel sums: about 16 K elements each, at most the pool's 16.
i64 RowGrain(i64 C) { return std::max<i64>(1, 16384 / C); }

// out[i] (sums × C values) = Σ over rows of what row(r, acc) adds, as per-chunk partials added in chunk order.
template <class RowFn>
void ChannelSums(i64 rows, i64 C, int sums, std::vector<double>& out, RowFn&& row) {
  const i64 grain = RowGrain(C);
  const i64 chunks = std::min<i64>(Pool::kMaxChunks, std::max<i64>(1, rows / grain));
  std::vector<double> part(static_cast<size_t>(chunks * sums * C), 0.0);
  double* p = part.data();
  pool().For(chunks, 1, [&](i64 b, i64 e) {
    for (i64 k = b; k < e; k++) {
      double* acc = p + k * sums * C;
      for (i64 r = rows * k / chunks; r < rows * (k + 1) / chunks; r++) row(r, acc);
    }
  });
  out.assign(static_cast<size_t>(sums * C), 0.0);
  for (i64 k = 0; k < chunks; k++)
    for (i64 i = 0; i < sums * C; i++) out[i] += p[k * sums * C + i];
}

bool Params(const Napi::CallbackInfo& info, size_t i, i64 C, float*& ptr) {
  ptr = nullptr;
  if (!info[i].IsTypedArray()) return true;  // null: γ = 1 or β = 0
  size_t n;
  if (!Get(info, i, ptr, n)) return false;
  if (static_cast<i64>(n) != C) return Fail(info.Env(), "batchNormTrain: a parameter must hold one value per channel");
  return true;
}

}  // namespace

// batchNormTrain(x, gamma|null, beta|null, eps, y, mean, variance, channels)
Napi::Value BatchNormTrainFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *x, *y, *mean, *var, *gamma, *beta;
  size_t nx, ny, nm, nv;
  const i64 C = Int(info, 7);
  if (!Get(info, 0, x, nx) || !Params(info, 1, C, gamma) || !Params(info, 2, C, beta) || !Get(info, 4, y, ny) ||
      !Get(info, 5, mean, nm) || !Get(info, 6, var, nv))
    return env.Undefined();
  if (C <= 0 || nx == 0 || static_cast<i64>(nx) % C != 0 || ny != nx || static_cast<i64>(nm) != C || static_cast<i64>(nv) != C)
    return Fail(env, "batchNormTrain: bad sizes"), env.Undefined();
  const double eps = Num(info, 3);
  const i64 rows = static_cast<i64>(nx) / C;
  // One pass over x, shifted by its first row (the shifted-data algorithm: a row of the batch
  // is near the mean, so Σ(x − x₀)² does not dwarf the variance): in double,
  // mean = x₀ + Σ(x − x₀)/N and var = Σ(x − x₀)²/N − (mean − x₀)².
  std::vector<double> s;
  ChannelSums(rows, C, 2, s, [&](i64 r, double* acc) {
    const float* xr = x + r * C;
    for (i64 c = 0; c < C; c++) {
      const double v = static_cast<double>(xr[c]) - x[c];
      acc[c] += v;
      acc[C + c] += v * v;
    }
  });
  const double N = static_cast<double>(rows);
  for (i64 c = 0; c < C; c++) {
    const double d = s[c] / N;
    mean[c] = static_cast<float>(x[c] + d);
    var[c] = static_cast<float>(std::max(0.0, s[C + c] / N - d * d));
  }
  std::vector<float> mul(C), add(C);
  for (i64 c = 0; c < C; c++) {
    mul[c] = static_cast<float>((gamma ? gamma[c] : 1.0) / std::sqrt(static_cast<double>(var[c]) + eps));
    add[c] = beta ? beta[c] : 0.f;
  }
  const float *mp = mul.data(), *ap = add.data(), *mu = mean;
  pool().For(rows, RowGrain(C), [=](i64 b, i64 e) {
    for (i64 r = b; r < e; r++) {
      const float* __restrict xr = x + r * C;
      float* __restrict yr = y + r * C;
      for (i64 c = 0; c < C; c++) yr[c] = (xr[c] - mu[c]) * mp[c] + ap[c];
    }
  });
  return env.Undefined();
}

// batchNormTrainGrad(dy, x, mean, variance, gamma|null, eps, dx, dgamma, dbeta, channels)
Napi::Value BatchNormTrainGradFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *dy, *x, *mean, *var, *gamma, *dx, *dgamma, *dbeta;
  size_t ndy, nx, nm, nv, ndx, ng, nb;
  const i64 C = Int(info, 9);
  if (!Get(info, 0, dy, ndy) || !Get(info, 1, x, nx) || !Get(info, 2, mean, nm) || !Get(info, 3, var, nv) ||
      !Params(info, 4, C, gamma) || !Get(info, 6, dx, ndx) || !Get(info, 7, dgamma, ng) || !Get(info, 8, dbeta, nb))
    return env.Undefined();
  if (C <= 0 || nx == 0 || static_cast<i64>(nx) % C != 0 || ndy != nx || ndx != nx)
    return Fail(env, "batchNormTrainGrad: bad sizes"), env.Undefined();
  for (size_t n : {nm, nv, ng, nb})
    if (static_cast<i64>(n) != C) return Fail(env, "batchNormTrainGrad: bad parameter size"), env.Undefined();
  const double eps = Num(info, 5);
  const i64 rows = static_cast<i64>(nx) / C;
  std::vector<double> s;  // [Σdy | Σdy·(x − mean)]
  ChannelSums(rows, C, 2, s, [&](i64 r, double* acc) {
    const float* xr = x + r * C;
    const float* gr = dy + r * C;
    for (i64 c = 0; c < C; c++) {
      acc[c] += gr[c];
      acc[C + c] += static_cast<double>(gr[c]) * (static_cast<double>(xr[c]) - mean[c]);
    }
  });
  // dx = a·dy + b·(x − mean) + d, per channel: a = γr, b = −γr³·Σdy(x − mean)/N, d = −γr·Σdy/N.
  std::vector<float> a(C), b(C), d(C);
  const double N = static_cast<double>(rows);
  for (i64 c = 0; c < C; c++) {
    const double r = 1.0 / std::sqrt(static_cast<double>(var[c]) + eps), g = gamma ? gamma[c] : 1.0;
    dbeta[c] = static_cast<float>(s[c]);
    dgamma[c] = static_cast<float>(s[C + c] * r);
    const double bc = -g * r * r * r * s[C + c] / N;
    a[c] = static_cast<float>(g * r);
    b[c] = static_cast<float>(bc);
    d[c] = static_cast<float>(-g * r * s[c] / N);
  }
  const float *ap = a.data(), *bp = b.data(), *dp = d.data(), *mu = mean;
  pool().For(rows, RowGrain(C), [=](i64 lo, i64 hi) {
    for (i64 r = lo; r < hi; r++) {
      const float* __restrict gr = dy + r * C;
      const float* __restrict xr = x + r * C;
      float* __restrict o = dx + r * C;
      for (i64 c = 0; c < C; c++) o[c] = gr[c] * ap[c] + (xr[c] - mu[c]) * bp[c] + dp[c];
    }
  });
  return env.Undefined();
}

}  // namespace fg
