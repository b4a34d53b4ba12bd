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
#include "gemm.h"
#include "gemm_builtin.h"
#include "pool.h"

namespace fg {

namespace {

// Copies and zero fills: short runs (a tap of one or three channels) in a plain loop, long
// ones through memcpy / memset.
inline void Copy(float* __restrict dst, const float* __restrict src, i64 n) {
  if (n < 16) {
    for (i64 i = 0; i < n; i++) dst[i] = src[i];
  } else {
    std::memcpy(dst, src, sizeof(float) * static_cast<size_t>(n));
  }
}
inline void Zero(float* dst, i64 n) {
  if (n < 16) {
    for (i64 i = 0; i < n; i++) dst[i] = 0.f;
  } else {
    std::memset(dst, 0, sizeof(float) * static_cast<size_t>(n));
  }
}

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
      if (++ow == v.OW) {
        ow = 0;
        if (++oh == v.OH) {
          oh = 0;
          img++;
        }
      }
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
      if (++ow == v.OW) {
        ow = 0;
        if (++oh == v.OH) {
          oh = 0;
          img++;
        }
      }
    }
    return dst;
  }
};

// Row parts for `rows` output rows: enough to balance the threads, big enough to share the
// packed B well. From the shape only (any split gives the same bits; this one is just fast).
i64 RowParts(i64 rows) { return std::max<i64>(1, std::min<i64>(Pool::kMaxChunks, rows / 192)); }

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

namespace {

// The output phase (rh, rw): pixels ih ≡ rh − PT (mod SH), iw ≡ rw − PL (mod SW), reached by the
// taps kh = rh + jh·SH, kw = rw + jw·SW from dy[qh − jh, qw − jw] with qh = (ih + PT − rh) / SH.
struct Phase {
  i64 rh, rw, Jh, Jw, ih0, iw0, Hh, Ww;
  PackedStore b;
};

// A = dy patches of one phase: row (n, a, b) is output pixel (ih0 + a·SH, iw0 + b·SW); columns
// (jh, jw, co).
struct PhaseA {
  const Conv* c;
  const Phase* ph;
  const float* dy;
  i64 r0;
  const float* operator()(float* dst, i64 i0, i64 m, i64 k0, i64 kc) const {
    const Conv& v = *c;
    const Phase& f = *ph;
    // The columns' runs (one per tap (jh, jw), Co channels each), the same for every row.
    struct Run {
      i64 at, jh, jw, co, len;
    } runs[kKC + 1];
    int nruns = 0;
    for (i64 k = k0; k < k0 + kc; nruns++) {
      const i64 tap = k / v.Co, co = k - tap * v.Co, len = std::min(v.Co - co, k0 + kc - k);
      runs[nruns] = {k - k0, tap / f.Jw, tap % f.Jw, co, len};
      k += len;
    }
    const i64 i = r0 + i0, qh0 = (f.ih0 + v.PT - f.rh) / v.SH, qw0 = (f.iw0 + v.PL - f.rw) / v.SW;
    i64 n = i / (f.Hh * f.Ww), a = i / f.Ww % f.Hh, b = i % f.Ww;
    for (i64 r = 0; r < m; r++) {
      const i64 qh = qh0 + a, qw = qw0 + b;
      float* d = dst + r * kKC;
      const float* img = dy + n * v.OH * v.OW * v.Co;
      for (int j = 0; j < nruns; j++) {
        const Run& u = runs[j];
        const i64 oh = qh - u.jh, ow = qw - u.jw;
        if (oh < 0 || oh >= v.OH || ow < 0 || ow >= v.OW)
          Zero(d + u.at, u.len);
        else
          Copy(d + u.at, img + (oh * v.OW + ow) * v.Co + u.co, u.len);
      }
      if (++b == f.Ww) {
        b = 0;
        if (++a == f.Hh) {
          a = 0;
          n++;
        }
      }
    }
    return dst;
  }
};

struct PhaseC {
  const Conv* c;
  const Phase* ph;
  float* dx;
  i64 r0;
  float* operator()(i64 i0) const {
    const Phase& f = *ph;
    const i64 i = r0 + i0, n = i / (f.Hh * f.Ww), a = (i / f.Ww) % f.Hh, b = i % f.Ww;
    return dx + ((n * c->H + f.ih0 + a * c->SH) * c->W + f.iw0 + b * c->SW) * c->Ci;
  }
};

}  // namespace

bool BuiltinConv2DBackpropInput(const Conv& c, const float* dy, const float* w, float* dx) {
  if (c.DH != 1 || c.DW != 1 || c.Ci < 16) return false;
  // wT[kh, kw, co, ci]: the rows of every phase's B.
  const i64 taps = c.KH * c.KW;
  std::unique_ptr<float[]> wT(new float[static_cast<size_t>(taps * c.Co * c.Ci)]);
  pool().For(taps, 1, [&](i64 tb, i64 te) {
    for (i64 t = tb; t < te; t++)
      for (i64 ci = 0; ci < c.Ci; ci++)
        for (i64 co = 0; co < c.Co; co++) wT[(t * c.Co + co) * c.Ci + ci] = w[(t * c.Ci + ci) * c.Co + co];
  });
  std::vector<Phase> phases;
  for (i64 rh = 0; rh < c.SH; rh++)
    for (i64 rw = 0; rw < c.SW; rw++) {
      Phase f{rh, rw, rh < c.KH ? (c.KH - rh + c.SH - 1) / c.SH : 0, rw < c.KW ? (c.KW - rw + c.SW - 1) / c.SW : 0, 0, 0, 0, 0, {}};
      f.ih0 = ((rh - c.PT) % c.SH + c.SH) % c.SH;
      f.iw0 = ((rw - c.PL) % c.SW + c.SW) % c.SW;
      f.Hh = f.ih0 < c.H ? (c.H - 1 - f.ih0) / c.SH + 1 : 0;
      f.Ww = f.iw0 < c.W ? (c.W - 1 - f.iw0) / c.SW + 1 : 0;
      if (f.Hh == 0 || f.Ww == 0) continue;
      const float* wt = wT.get();
      const i64 KW = c.KW, Co = c.Co, Ci = c.Ci, SH = c.SH, SW = c.SW, Jw = f.Jw;
      auto row = [=](i64 k) {
        const i64 tap = k / Co, co = k - tap * Co;
        return wt + (((rh + tap / Jw * SH) * KW + rw + tap % Jw * SW) * Co + co) * Ci;
      };
      f.b = PrepackB(RowsB<decltype(row)>{row}, c.Ci, f.Jh * f.Jw * c.Co);
      phases.push_back(std::move(f));
    }
  struct Item {
    const Phase* ph;
    i64 r0, r1;
  };
  std::vector<Item> items;
  for (const Phase& f : phases) {
    const i64 M = c.N * f.Hh * f.Ww, parts = RowParts(M);
    for (i64 p = 0; p < parts; p++) items.push_back({&f, M * p / parts, M * (p + 1) / parts});
  }
  pool().For(static_cast<i64>(items.size()), 1, [&](i64 ib, i64 ie) {
    for (i64 i = ib; i < ie; i++) {
      const Item& it = items[i];
      BuiltinGemm(it.r1 - it.r0, c.Ci, it.ph->Jh * it.ph->Jw * c.Co, PhaseA{&c, it.ph, dy, it.r0}, PackedB{&it.ph->b},
                  PhaseC{&c, it.ph, dx, it.r0}, false);
    }
  });
  return true;
}

}  // namespace fg
