// The fused Adam update (FashionFusedAdam).
#include <cmath>

#include "kernels.h"
#include "napi_args.h"
#include "pool.h"

namespace fg {

namespace {
struct AdamConst { float b1, c1, b2, c2, lr, eps; };
void AdamRange(const float* __restrict w, const float* __restrict g, const float* __restrict m, const float* __restrict v,
               float* __restrict wo, float* __restrict mo, float* __restrict vo, i64 b, i64 e, AdamConst k) {
  for (i64 i = b; i < e; i++) {
    const float mi = m[i] * k.b1 + g[i] * k.c1;
    const float vi = v[i] * k.b2 + (g[i] * g[i]) * k.c2;
    mo[i] = mi;
    vo[i] = vi;
    wo[i] = w[i] - (mi * k.lr) / (std::sqrt(vi) + k.eps);
  }
}
}  // namespace

// adam(w, g, m, v, wOut, mOut, vOut, beta1, 1 - beta1, beta2, 1 - beta2, lr, eps): one Adam step
// in a single pass, with the same float32 operations in the same order as the op-by-op update
// (src/training/adam.ts): m' = m·β1 + g·(1−β1); v' = v·β2 + g²·(1−β2); w' = w − m'·lr / (√v' + ε).
Napi::Value AdamFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *w, *g, *m, *v, *wo, *mo, *vo;
  size_t nw, ng, nm, nv, nwo, nmo, nvo;
  if (!Get(info, 0, w, nw) || !Get(info, 1, g, ng) || !Get(info, 2, m, nm) || !Get(info, 3, v, nv) ||
      !Get(info, 4, wo, nwo) || !Get(info, 5, mo, nmo) || !Get(info, 6, vo, nvo))
    return env.Undefined();
  if (ng != nw || nm != nw || nv != nw || nwo != nw || nmo != nw || nvo != nw)
    return Fail(env, "adam: all arrays must have one length"), env.Undefined();
  const float b1 = static_cast<float>(Num(info, 7)), c1 = static_cast<float>(Num(info, 8));
  const float b2 = static_cast<float>(Num(info, 9)), c2 = static_cast<float>(Num(info, 10));
  const float lr = static_cast<float>(Num(info, 11)), eps = static_cast<float>(Num(info, 12));
  const AdamConst k{b1, c1, b2, c2, lr, eps};
  pool().For(static_cast<i64>(nw), 32768, [=](i64 b, i64 e) { AdamRange(w, g, m, v, wo, mo, vo, b, e, k); });
  return env.Undefined();
}

}  // namespace fg
