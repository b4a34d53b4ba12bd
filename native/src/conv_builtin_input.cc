// Conv2DBackpropInput on the builtin GEMM, one GEMM per output phase (ih mod SH, iw mod SW):
// the taps that reach that phase form a stride-1 correlation of dy with part of the filter, so
// no zeros are inserted and nothing is scattered (see conv_builtin.cc for the other two).

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

using conv_builtin::Copy;
using conv_builtin::NextPixel;
using conv_builtin::RowParts;
using conv_builtin::Zero;

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
      NextPixel(n, a, b, f.Hh, f.Ww);
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
