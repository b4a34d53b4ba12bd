// Convolutions: Conv2D (+ bias, activation), Conv2DBackpropInput (= conv2dTranspose) and
// Conv2DBackpropFilter as im2col / col2im + Gemm over chunks of images, in parallel.
#include <memory>

#include "conv.h"
#include "gemm.h"
#include "kernels.h"
#include "napi_args.h"
#include "pool.h"

namespace fg {

namespace {

// cols[(n*OH + oh)*OW + ow, (kh*KW + kw)*Ci + ci] = x[n0 + n, ih, iw, ci] (0 outside)
void Im2Col(const float* x, float* cols, const Conv& c, i64 n0, i64 nimg) {
  const i64 K = c.K();
  pool().For(nimg * c.OH, std::max<i64>(1, 4096 / std::max<i64>(1, c.OW * K)), [&](i64 b, i64 e) {
    for (i64 r = b; r < e; r++) {
      const i64 n = n0 + r / c.OH, oh = r % c.OH;
      float* dst = cols + r * c.OW * K;
      for (i64 ow = 0; ow < c.OW; ow++) {
        for (i64 kh = 0; kh < c.KH; kh++) {
          const i64 ih = oh * c.SH - c.PT + kh * c.DH;
          const bool rowOut = ih < 0 || ih >= c.H;
          for (i64 kw = 0; kw < c.KW; kw++, dst += c.Ci) {
            const i64 iw = ow * c.SW - c.PL + kw * c.DW;
            if (rowOut || iw < 0 || iw >= c.W) {
              std::memset(dst, 0, sizeof(float) * c.Ci);
            } else {
              std::memcpy(dst, x + ((n * c.H + ih) * c.W + iw) * c.Ci, sizeof(float) * c.Ci);
            }
          }
        }
      }
    }
  });
}

// dx[n0 + n] = sum of the column patches that read it (the adjoint of Im2Col), per image.
void Col2Im(const float* cols, float* dx, const Conv& c, i64 n0, i64 nimg) {
  const i64 K = c.K();
  const i64 imgSize = c.H * c.W * c.Ci;
  pool().For(nimg, 1, [&](i64 b, i64 e) {
    for (i64 j = b; j < e; j++) {
      float* img = dx + (n0 + j) * imgSize;
      std::memset(img, 0, sizeof(float) * imgSize);
      const float* src = cols + j * c.OH * c.OW * K;
      for (i64 oh = 0; oh < c.OH; oh++) {
        for (i64 ow = 0; ow < c.OW; ow++) {
          for (i64 kh = 0; kh < c.KH; kh++) {
            const i64 ih = oh * c.SH - c.PT + kh * c.DH;
            const bool rowOut = ih < 0 || ih >= c.H;
            for (i64 kw = 0; kw < c.KW; kw++, src += c.Ci) {
              const i64 iw = ow * c.SW - c.PL + kw * c.DW;
              if (rowOut || iw < 0 || iw >= c.W) continue;
              AddRow(img + (ih * c.W + iw) * c.Ci, src, c.Ci);
            }
          }
        }
      }
    }
  });
}

}  // namespace

// conv2d(x, w, y, params, bias|null, act, alpha)
Napi::Value Conv2DFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *x, *w, *y;
  size_t nx, nw, ny;
  Conv c;
  if (!Get(info, 0, x, nx) || !Get(info, 1, w, nw) || !Get(info, 2, y, ny) || !ReadConv(info, 3, c))
    return env.Undefined();
  if (static_cast<i64>(nx) < c.N * c.H * c.W * c.Ci || static_cast<i64>(nw) < c.K() * c.Co ||
      static_cast<i64>(ny) < c.N * c.OH * c.OW * c.Co)
    return Fail(env, "conv2d: bad sizes"), env.Undefined();
  const float* bias = nullptr;
  if (info.Length() > 4 && info[4].IsTypedArray()) {
    float* bp;
    size_t nbias;
    if (!Get(info, 4, bp, nbias)) return env.Undefined();
    if (static_cast<i64>(nbias) != c.Co) return Fail(env, "conv2d: bias must have Co elements"), env.Undefined();
    bias = bp;
  }
  int act = info.Length() > 5 ? static_cast<int>(Int(info, 5)) : 0;
  float alpha = info.Length() > 6 ? static_cast<float>(Num(info, 6)) : 0.f;
  const i64 K = c.K(), rowsPerImg = c.OH * c.OW;
  if (c.Pointwise()) {
    Gemm(false, false, c.N * rowsPerImg, c.Co, K, x, K, w, c.Co, 0.f, y, c.Co);
  } else if (UseBuiltinGemm()) {
    BuiltinConv2D(c, x, w, y, bias, act, alpha);  // with the epilogue, part by part
    return env.Undefined();
  } else {
    // Image chunks in parallel: each thread im2cols a chunk into its own buffer and multiplies it.
    const i64 chunk = c.Chunk(), nChunks = (c.N + chunk - 1) / chunk;
    pool().For(nChunks, 1, [&](i64 b, i64 e) {
      for (i64 ch = b; ch < e; ch++) {
        const i64 n0 = ch * chunk, nimg = std::min(chunk, c.N - n0);
        float* cols = Scratch(static_cast<size_t>(nimg * rowsPerImg * K));
        Im2Col(x, cols, c, n0, nimg);
        Gemm(false, false, nimg * rowsPerImg, c.Co, K, cols, K, w, c.Co, 0.f, y + n0 * rowsPerImg * c.Co, c.Co);
      }
    });
  }
  Epilogue(y, c.N * rowsPerImg, c.Co, bias, act, alpha);
  return env.Undefined();
}

// conv2dBackpropInput(dy, w, dx, params): dx = col2im(dy · wᵀ)
Napi::Value Conv2DBackpropInputFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *dy, *w, *dx;
  size_t ndy, nw, ndx;
  Conv c;
  if (!Get(info, 0, dy, ndy) || !Get(info, 1, w, nw) || !Get(info, 2, dx, ndx) || !ReadConv(info, 3, c))
    return env.Undefined();
  if (static_cast<i64>(ndy) < c.N * c.OH * c.OW * c.Co || static_cast<i64>(nw) < c.K() * c.Co ||
      static_cast<i64>(ndx) < c.N * c.H * c.W * c.Ci)
    return Fail(env, "conv2dBackpropInput: bad sizes"), env.Undefined();
  const i64 K = c.K(), rowsPerImg = c.OH * c.OW;
  if (c.Pointwise()) {
    Gemm(false, true, c.N * rowsPerImg, K, c.Co, dy, c.Co, w, c.Co, 0.f, dx, K);
    return env.Undefined();
  }
  if (UseBuiltinGemm() && BuiltinConv2DBackpropInput(c, dy, w, dx)) return env.Undefined();
  const i64 chunk = c.Chunk(), nChunks = (c.N + chunk - 1) / chunk;
  pool().For(nChunks, 1, [&](i64 b, i64 e) {
    for (i64 ch = b; ch < e; ch++) {
      const i64 n0 = ch * chunk, nimg = std::min(chunk, c.N - n0);
      float* cols = Scratch(static_cast<size_t>(nimg * rowsPerImg * K));
      Gemm(false, true, nimg * rowsPerImg, K, c.Co, dy + n0 * rowsPerImg * c.Co, c.Co, w, c.Co, 0.f, cols, K);
      Col2Im(cols, dx, c, n0, nimg);
    }
  });
  return env.Undefined();
}

// dw[i] += parts[0][i] + ... in that order, for i in [b, e).
void SumPartials(float* __restrict dw, const float* __restrict parts, i64 size, i64 n, i64 b, i64 e) {
  for (i64 p = 0; p < n; p++) {
    const float* __restrict src = parts + p * size;
    for (i64 i = b; i < e; i++) dw[i] += src[i];
  }
}

// conv2dBackpropFilter(x, dy, dw, params): dw = im2col(x)ᵀ · dy
Napi::Value Conv2DBackpropFilterFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *x, *dy, *dw;
  size_t nx, ndy, ndw;
  Conv c;
  if (!Get(info, 0, x, nx) || !Get(info, 1, dy, ndy) || !Get(info, 2, dw, ndw) || !ReadConv(info, 3, c))
    return env.Undefined();
  if (static_cast<i64>(nx) < c.N * c.H * c.W * c.Ci || static_cast<i64>(ndy) < c.N * c.OH * c.OW * c.Co ||
      static_cast<i64>(ndw) < c.K() * c.Co)
    return Fail(env, "conv2dBackpropFilter: bad sizes"), env.Undefined();
  const i64 K = c.K(), rowsPerImg = c.OH * c.OW;
  if (c.N * rowsPerImg == 0) {
    std::fill(dw, dw + K * c.Co, 0.f);
    return env.Undefined();
  }
  if (c.Pointwise()) {
    Gemm(true, false, K, c.Co, c.N * rowsPerImg, x, K, dy, c.Co, 0.f, dw, c.Co);
    return env.Undefined();
  }
  if (UseBuiltinGemm()) {
    BuiltinConv2DBackpropFilter(c, x, dy, dw);
    return env.Undefined();
  }
  // The chunks fall into at most 8 groups of consecutive chunks (from the shape alone); a group
  // sums its chunks in order into its own partial (group 0 into dw), whichever thread runs it,
  // and the partials are then added in group order.
  const i64 chunk = c.Chunk(), nChunks = (c.N + chunk - 1) / chunk;
  const i64 size = K * c.Co, groups = std::min<i64>(8, nChunks);
  std::unique_ptr<float[]> partial(groups > 1 ? new float[static_cast<size_t>((groups - 1) * size)] : nullptr);
  pool().For(groups, 1, [&](i64 gb, i64 ge) {
    for (i64 g = gb; g < ge; g++) {
      float* acc = g == 0 ? dw : partial.get() + (g - 1) * size;
      for (i64 ch = nChunks * g / groups; ch < nChunks * (g + 1) / groups; ch++) {
        const i64 n0 = ch * chunk, nimg = std::min(chunk, c.N - n0);
        float* cols = Scratch(static_cast<size_t>(nimg * rowsPerImg * K));
        Im2Col(x, cols, c, n0, nimg);
        const float beta = ch == nChunks * g / groups ? 0.f : 1.f;
        Gemm(true, false, K, c.Co, nimg * rowsPerImg, cols, K, dy + n0 * rowsPerImg * c.Co, c.Co, beta, acc, c.Co);
      }
    }
  });
  if (groups > 1) {
    const float* parts = partial.get();
    pool().For(size, 16384, [&](i64 b, i64 e) { SumPartials(dw, parts, size, groups - 1, b, e); });
  }
  return env.Undefined();
}

}  // namespace fg
