// Helpers shared by the builtin convolutions (conv_builtin.cc, conv_builtin_input.cc).
#pragma once

#include <algorithm>
#include <cstring>

#include "gemm.h"
#include "pool.h"

namespace fg {
namespace conv_builtin {

// Copies and zero fills: the usual lengths as fixed-size (inlined) copies, short runs (a tap of
// one or three channels) in a plain loop, long ones through memcpy / memset.
inline void Copy(float* __restrict dst, const float* __restrict src, i64 n) {
  switch (n) {  // an NR-wide panel row, a tap of 32 or 64 channels
    case 16: std::memcpy(dst, src, 16 * sizeof(float)); return;
    case 32: std::memcpy(dst, src, 32 * sizeof(float)); return;
    case 64: std::memcpy(dst, src, 64 * sizeof(float)); return;
    default: break;
  }
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

// Steps (n, row, col) to the next pixel of an n × rows × cols grid, in row-major order.
inline void NextPixel(i64& n, i64& row, i64& col, i64 rows, i64 cols) {
  if (++col == cols) {
    col = 0;
    if (++row == rows) {
      row = 0;
      n++;
    }
  }
}

// Row parts for `rows` output rows: enough to balance the threads, big enough to share the
// packed B well. From the shape only (any split gives the same bits; this one is just fast).
inline i64 RowParts(i64 rows) { return std::max<i64>(1, std::min<i64>(Pool::kMaxChunks, rows / 192)); }

}  // namespace conv_builtin
}  // namespace fg
