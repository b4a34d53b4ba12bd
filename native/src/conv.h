// Convolution geometry (NHWC, filter [KH, KW, Ci, Co]) as the TypeScript side sends it.
#pragma once

#include <napi.h>

#include <algorithm>
#include <cstdint>

#include "napi_args.h"
#include "pool.h"

namespace fg {

struct Conv {
  i64 N, H, W, Ci, OH, OW, Co, KH, KW, SH, SW, DH, DW, PT, PL;
  i64 K() const { return KH * KW * Ci; }
  bool Pointwise() const {
    return KH == 1 && KW == 1 && SH == 1 && SW == 1 && PT == 0 && PL == 0 && OH == H && OW == W;
  }
  // Images per chunk: columns near scratch_target_floats, and at least 8 chunks when the batch
  // allows, so that threads can balance. From the shape only: the chunks decide which images
  // share a GEMM (and, for the filter gradient, the order of the sums).
  i64 Chunk() const {
    i64 per = std::max<i64>(1, OH * OW * K());
    i64 c = std::max<i64>(1, static_cast<i64>(scratch_target_floats) / per);
    c = std::min(c, std::max<i64>(1, (N + 7) / 8));
    return std::min(c, N);
  }
};

inline bool ReadConv(const Napi::CallbackInfo& info, size_t i, Conv& c) {
  std::vector<i64> p = Ints(info, i);
  if (p.size() != 15) return Fail(info.Env(), "conv: 15 parameters expected");
  c = Conv{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14]};
  return true;
}

// The convolutions on the builtin GEMM (conv_builtin.cc). BuiltinConv2D adds the bias and applies
// the activation (gemm.h Epilogue) to each part of y while it is in cache.
// BuiltinConv2DBackpropInput returns false for shapes it leaves to the column path (dilations,
// fewer than 16 input channels).
void BuiltinConv2D(const Conv& c, const float* x, const float* w, float* y, const float* bias, int act, float alpha);
bool BuiltinConv2DBackpropInput(const Conv& c, const float* dy, const float* w, float* dx);
void BuiltinConv2DBackpropFilter(const Conv& c, const float* x, const float* dy, float* dw);

}  // namespace fg
