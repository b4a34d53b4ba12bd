// Convolutions on the builtin GEMM, with no column matrix: the GEMM packs its panels straight
// from the image (implicit im2col).
//   Conv2D:               y[pixels, Co] = patches(x)[pixels, KH·KW·Ci] · w[KH·KW·Ci, Co]
//   Conv2DBackpropInput:  one GEMM per output phase (ih mod SH, iw mod SW): the taps that reach
//                         that phase form a stride-1 correlation of dy with part of the filter,
//                         so no zeros are inserted and nothing is scattered (dilation 1; small
//                         Ci and dilations go through columns + col2im in conv.cc)
//   Conv2DBackpropFilter: dwᵀ[Co, KH·KW·Ci] = dyᵀ[Co, pixels] · patches(x)[pixels, KH·KW·Ci]
// Work is split over output rows or columns, never over the sum, so every element is the
// GEMM's fixed sequence of operations (gemm_builtin.h) on any number of threads.
#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "conv.h"
#include "conv_builtin_util.h"
#include "gemm.h"
#include "gemm_builtin.h"
#include "pool.h"

namespace fg {

namespace {

using conv_builtin::Copy;
using conv_builtin::NextPixel;
using conv_builtin::RowParts;
using conv_builtin::Zero;

// dst[0, len) = columns [k0, k0 + len) of the patch row of output pixel (n, oh, ow), columns
// ordered (kh, kw, ci); zeros where the patch leaves the image.
void PatchRow(const Conv& c, const float* x, i64 n, i64 oh, i64 ow, i64 k0, i64 len, float* dst) {
  const i64 rowLen = c.KW * c.Ci, kend = k0 + len, iw0 = ow * c.SW - c.PL, ih0 = oh * c.SH - c.PT;
  if (c.DW == 1 && ih0 >= 0 && ih0 + (c.KH - 1) * c.DH < c.H && iw0 >= 0 && iw0 + c.KW <= c.W) {
    // A patch inside the image: one contiguous run per kernel row.
    const float* src = x + ((n * c.H + ih0) * c.W + iw0) * c.Ci;
    for (i64 kh = k0 / rowLen; kh * rowLen < kend; kh++) {
      const i64 a = std::max(k0, kh * rowLen), b = std::min(kend, (kh + 1) * rowLen);
      Copy(dst + (a - k0), src + kh * c.DH * c.W * c.Ci + (a - kh * rowLen), b - a);
    }
    return;
  }
  for (i64 k = k0; k < kend;) {
    const i64 kh = k / rowLen, base = kh * rowLen, segEnd = std::min(kend, base + rowLen);
    const i64 ih = oh * c.SH - c.PT + kh * c.DH;
    if (ih < 0 || ih >= c.H) {
      Zero(dst + (k - k0), segEnd - k);
    } else {
      const float* xrow = x + (n * c.H + ih) * c.W * c.Ci;
      for (i64 kw = c.DW == 1 ? 0 : (k - base) / c.Ci; k < segEnd; kw++) {
        // Columns [lo, hi) of this stretch read the input contiguously, column j at xrow[j + shift]
        // (with dilation 1 the whole row of taps is one stretch).
        i64 lo, hi, shift, end;
        if (c.DW == 1) {
          const i64 first = std::max<i64>(0, -iw0), last = std::min<i64>(c.KW, c.W - iw0);
          lo = base + first * c.Ci;
          hi = std::max(lo, base + last * c.Ci);
          shift = iw0 * c.Ci - base;
          end = segEnd;
        } else {
          const i64 iw = iw0 + kw * c.DW;
          lo = base + kw * c.Ci;
          hi = lo + (iw >= 0 && iw < c.W ? c.Ci : 0);
          shift = iw * c.Ci - lo;
          end = std::min(segEnd, lo + c.Ci);
        }
        const i64 a = std::min(std::max(k, lo), end), b = std::max(std::min(end, hi), a);
        Zero(dst + (k - k0), a - k);
        if (b > a) Copy(dst + (a - k0), xrow + (a + shift), b - a);
        Zero(dst + (b - k0), end - b);
        k = end;
      }
    }
    k = segEnd;
  }
}

// A = patches of images n0.. (rows: their output pixels).
struct PatchesA {
  const Conv* c;
  const float* x;
  i64 p0;  // row i is output pixel p0 + i
  const float* operator()(float* dst, i64 i0, i64 m, i64 k0, i64 kc) const {
    const Conv& v = *c;
    const i64 p = p0 + i0;
    i64 img = p / (v.OH * v.OW), oh = p / v.OW % v.OH, ow = p % v.OW;
    for (i64 r = 0; r < m; r++) {
      PatchRow(v, x, img, oh, ow, k0, kc, dst + r * kKC);
      NextPixel(img, oh, ow, v.OH, v.OW);
    }
    return dst;
  }
};

// B = patches of all images (rows: output pixels from p0; columns j0..j0+n).
struct PatchesB {
  const Conv* c;
  const float* x;
  i64 p0, j0;
  const float* operator()(float* dst, i64 j, i64 n, i64 k0, i64 kc, i64 nr) const {
    const i64 P = c->OH * c->OW;
    j += j0;
    if (j % c->Ci + n <= c->Ci) return OneTap(dst, j, n, k0, kc, nr);
    for (i64 k = 0; k < kc; k++) {
      const i64 p = p0 + k0 + k, q = p % P;
      float* d = dst + k * nr;
      PatchRow(*c, x, p / P, q / c->OW, q % c->OW, j, n, d);
      for (i64 j = n; j < nr; j++) d[j] = 0.f;
    }
    return dst;
  }
  // Columns j..j+n within one tap (kh, kw): row k is n channels of one input pixel, or zeros.
  const float* OneTap(float* dst, i64 j, i64 n, i64 k0, i64 kc, i64 nr) const {
    const Conv& v = *c;
    const i64 tap = j / v.Ci, ci = j % v.Ci, kh = tap / v.KW, kw = tap % v.KW;
    i64 p = p0 + k0, img = p / (v.OH * v.OW), oh = p / v.OW % v.OH, ow = p % v.OW;
    for (i64 k = 0; k < kc; k++) {
      float* d = dst + k * nr;
      const i64 ih = oh * v.SH - v.PT + kh * v.DH, iw = ow * v.SW - v.PL + kw * v.DW;
      if (ih >= 0 && ih < v.H && iw >= 0 && iw < v.W) {
        Copy(d, x + ((img * v.H + ih) * v.W + iw) * v.Ci + ci, n);
        for (i64 jj = n; jj < nr; jj++) d[jj] = 0.f;
      } else {
        Zero(d, nr);
      }
      NextPixel(img, oh, ow, v.OH, v.OW);
    }
    return dst;
  }
};


}  // namespace

void BuiltinConv2D(const Conv& c, const float* x, const float* w, float* y, const float* bias, int act, float alpha) {
  const i64 K = c.K(), M = c.N * c.OH * c.OW;
  const PackedStore wp = PrepackB(DenseB{w, c.Co, false}, c.Co, K);
  const i64 parts = RowParts(M);
  pool().For(parts, 1, [&](i64 pb, i64 pe) {
    for (i64 p = pb; p < pe; p++) {
      const i64 r0 = M * p / parts, r1 = M * (p + 1) / parts;
      BuiltinGemm(r1 - r0, c.Co, K, PatchesA{&c, x, r0}, PackedB{&wp}, DenseC{y + r0 * c.Co, c.Co}, false);
      Epilogue(y + r0 * c.Co, r1 - r0, c.Co, bias, act, alpha);
    }
  });
}

void BuiltinConv2DBackpropFilter(const Conv& c, const float* x, const float* dy, float* dw) {
  const i64 K = c.K(), P = c.N * c.OH * c.OW;
  // A = dyᵀ [Co, P], packed once for all column parts.
  struct DyT {
    const float* dy;
    i64 Co;
    const float* operator()(float* dst, i64 i0, i64 m, i64 k0, i64 kc) const {
      for (i64 k = 0; k < kc; k++) {
        const float* src = dy + (k0 + k) * Co + i0;
        for (i64 r = 0; r < m; r++) dst[r * kKC + k] = src[r];
      }
      return dst;
    }
  };
  const PackedStore dyp = PrepackA(DyT{dy, c.Co}, c.Co, P);
  // Work items: column parts, and, when there are few columns (one or three input channels),
  // groups of pixels too, each into its own partial dwᵀ that are then added in group order. Both
  // follow from the shape alone.
  const i64 NR = Kernels().nr, tiles = (K + NR - 1) / NR, parts = std::min<i64>(Pool::kMaxChunks, std::max<i64>(1, tiles / 2));
  const i64 blocks = (P + kKC - 1) / kKC, groups = tiles >= 8 ? 1 : std::min<i64>({8, blocks, std::max<i64>(1, P / 4096)});
  std::unique_ptr<float[]> dwT(new float[static_cast<size_t>(groups * c.Co * K)]);
  pool().For(parts * groups, 1, [&](i64 ib, i64 ie) {
    for (i64 item = ib; item < ie; item++) {
      const i64 p = item % parts, g = item / parts;
      const i64 j0 = tiles * p / parts * NR, j1 = std::min(K, tiles * (p + 1) / parts * NR);
      const i64 q0 = blocks * g / groups * kKC, q1 = std::min(P, blocks * (g + 1) / groups * kKC);
      BuiltinGemm(c.Co, j1 - j0, q1 - q0, PackedA{&dyp, q0}, PatchesB{&c, x, q0, j0}, DenseC{dwT.get() + g * c.Co * K + j0, K}, false);
    }
  });
  for (i64 g = 1; g < groups; g++) {
    float* acc = dwT.get();
    const float* part = dwT.get() + g * c.Co * K;
    for (i64 i = 0; i < c.Co * K; i++) acc[i] += part[i];
  }
  pool().For(K, 4096 / std::max<i64>(1, c.Co), [&](i64 b, i64 e) {
    for (i64 k = b; k < e; k++)
      for (i64 o = 0; o < c.Co; o++) dw[k * c.Co + o] = dwT[o * K + k];
  });
}

}  // namespace fg
