// Counter-based uniform random numbers and dropout masks.
#include <algorithm>
#include <cstdint>

#include "kernels.h"
#include "napi_args.h"
#include "pool.h"

namespace fg {

namespace {
// fillUniform(y, lo, hi, seed, keepProb): y[i] = lo + (hi - lo)·u, u uniform in [0, 1) with 24
// bits, from a counter-based generator: u_i = hash(i, key(seed)) — two rounds of MurmurHash3's
// 32-bit finaliser with key words in between — so every element is independent of the others
// (the loop vectorises, and the numbers do not depend on the thread count). With keepProb > 0
// it writes a dropout mask instead: y[i] = u < keepProb ? hi : lo.
uint64_t SplitMix(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
inline uint32_t Fmix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x85ebca6bu;
  x ^= x >> 13;
  x *= 0xc2b2ae35u;
  x ^= x >> 16;
  return x;
}
inline float HashUniform(uint32_t i, uint32_t k0, uint32_t k1) {
  const uint32_t h = Fmix32(Fmix32(i ^ k0) + k1);
  return static_cast<float>(h >> 8) * (1.0f / 16777216.0f);
}
void UniformRange(float* __restrict out, i64 b, i64 e, uint32_t k0, uint32_t k1, float lo, float hi, float keep) {
  if (keep > 0.f) {
    for (i64 i = b; i < e; i++) out[i] = HashUniform(static_cast<uint32_t>(i), k0, k1) < keep ? hi : lo;
  } else {
    const float scale = hi - lo;
    for (i64 i = b; i < e; i++) out[i] = lo + scale * HashUniform(static_cast<uint32_t>(i), k0, k1);
  }
}
}  // namespace

Napi::Value FillUniformFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float* y;
  size_t n;
  if (!Get(info, 0, y, n)) return env.Undefined();
  const float lo = static_cast<float>(Num(info, 1)), hi = static_cast<float>(Num(info, 2));
  const uint64_t seed = static_cast<uint64_t>(Num(info, 3));
  const float keep = info.Length() > 4 ? static_cast<float>(Num(info, 4)) : 0.f;
  // 2^32 elements per key; longer arrays move on to the next key.
  const i64 kSpan = i64(1) << 32, spans = (static_cast<i64>(n) + kSpan - 1) / kSpan;
  for (i64 sp = 0; sp < spans; sp++) {
    uint64_t sm = seed * 0x100000001b3ull + static_cast<uint64_t>(sp);
    const uint64_t key = SplitMix(sm);
    const uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
    float* base = y + sp * kSpan;
    const i64 len = std::min<i64>(kSpan, static_cast<i64>(n) - sp * kSpan);
    pool().For(len, 65536, [base, k0, k1, lo, hi, keep](i64 b, i64 e) { UniformRange(base, b, e, k0, k1, lo, hi, keep); });
  }
  return env.Undefined();
}

}  // namespace fg
