// fashion-gan native kernels: moves numbers between typed arrays and OpenBLAS / simple loops.
// Shapes, dtypes and broadcasting are worked out on the TypeScript side
// (src/backends/native/); this file only checks that buffers are large enough.
#include <napi.h>
#include <cblas.h>
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace {

using i64 = int64_t;

// ---------------------------------------------------------------------------------------------
// A tiny fork-join pool. Work is cut into up to 16 chunks that threads claim one at a time, so a
// worker that the OS schedules late (another process on the core) delays the caller by at most
// one chunk: the calling thread takes whatever is left. Workers sleep on a condition variable
// between jobs, so they never spin against OpenBLAS's threads.
thread_local int tls_thread = 0;        // 0: the JS thread; workers 1..T-1
thread_local bool tls_in_parallel = false;  // inside a Pool::For job: nested For runs inline

class Pool {
 public:
  ~Pool() { Stop(); }
  int Threads() const { return static_cast<int>(workers_.size()) + 1; }
  void SetThreads(int n) {
    Stop();
    stop_ = false;
    for (int i = 1; i < n; i++) workers_.emplace_back([this, i] {
      tls_thread = i;
      Loop();
    });
  }
  // Runs fn(begin, end) over [0, n) in contiguous chunks of at least `grain` items. The chunks
  // depend only on n and grain, never on the thread count (with one thread they run one after
  // another), so a kernel whose arithmetic follows its chunks gives the same bits on any number
  // of threads. Inside a chunk, a nested For runs inline as one chunk.
  template <class F>
  void For(i64 n, i64 grain, F&& fn) {
    if (n <= 0) return;
    if (tls_in_parallel) {  // already on a pool thread: run inline
      fn(i64(0), n);
      return;
    }
    const i64 chunks = std::min<i64>(kMaxChunks, std::max<i64>(1, n / std::max<i64>(1, grain)));
    if (chunks <= 1) {
      fn(i64(0), n);
      return;
    }
    if (workers_.empty()) {
      tls_in_parallel = true;
      for (i64 c = 0; c < chunks; c++) fn(n * c / chunks, n * (c + 1) / chunks);
      tls_in_parallel = false;
      return;
    }
    std::function<void(i64)> job = [&](i64 c) { fn(n * c / chunks, n * (c + 1) / chunks); };
    Run(job, chunks);
  }
  static constexpr i64 kMaxChunks = 16;

 private:
  static constexpr uint64_t kMask = 0xffffffffull;
  // Claims and runs chunks of job generation `gen` until none are left.
  void Work(uint64_t gen, const std::function<void(i64)>* job, i64 chunks) {
    uint64_t t = ticket_.load();
    for (;;) {
      if ((t >> 32) != (gen & kMask) || static_cast<i64>(t & kMask) >= chunks) return;
      if (!ticket_.compare_exchange_weak(t, t + 1)) continue;
      tls_in_parallel = true;
      (*job)(static_cast<i64>(t & kMask));
      tls_in_parallel = false;
      done_.fetch_add(1);
      t = ticket_.load();
    }
  }
  void Run(const std::function<void(i64)>& job, i64 chunks) {
    uint64_t gen;
    {
      std::lock_guard<std::mutex> lk(mu_);
      gen = ++gen_;
      job_ = &job;
      chunks_ = chunks;
      done_.store(0);
      ticket_.store((gen & kMask) << 32);
    }
    cv_.notify_all();
    Work(gen, &job, chunks);
    for (int spin = 0; done_.load() < chunks; spin++) {
      if (spin > 64) std::this_thread::yield();
    }
  }
  void Loop() {
    uint64_t seen;
    {
      std::lock_guard<std::mutex> lk(mu_);
      seen = gen_;
    }
    for (;;) {
      const std::function<void(i64)>* job;
      i64 chunks;
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return stop_ || gen_ != seen; });
        if (stop_) return;
        seen = gen_;
        job = job_;
        chunks = chunks_;
      }
      Work(seen, job, chunks);
    }
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  const std::function<void(i64)>* job_ = nullptr;
  i64 chunks_ = 0;
  uint64_t gen_ = 0;
  std::atomic<uint64_t> ticket_{0};
  std::atomic<i64> done_{0};
  bool stop_ = false;
};

Pool& pool() {
  static Pool* p = new Pool();  // leaked on purpose: no join at process exit
  return *p;
}

// Grow-only scratch buffers for im2col columns, one per thread.
float* Scratch(size_t n) {
  thread_local std::unique_ptr<float[]> buf;
  thread_local size_t cap = 0;
  if (n > cap) {
    buf.reset();
    buf.reset(new float[n]);
    cap = n;
  }
  return buf.get();
}
// Columns per GEMM chunk (floats): small enough to stay in cache, large enough for an efficient GEMM.
size_t scratch_target_floats = std::getenv("FASHION_NATIVE_CHUNK") ? std::strtoull(std::getenv("FASHION_NATIVE_CHUNK"), nullptr, 10) : size_t(1) << 20;

// ---------------------------------------------------------------------------------------------
// Argument helpers.
bool Fail(const Napi::Env& env, const char* msg) {
  Napi::TypeError::New(env, msg).ThrowAsJavaScriptException();
  return false;
}
template <class T>
bool Get(const Napi::CallbackInfo& info, size_t i, T*& ptr, size_t& len) {
  ptr = nullptr;
  len = 0;
  if (!info[i].IsTypedArray()) return Fail(info.Env(), "expected a typed array");
  Napi::TypedArray ta = info[i].As<Napi::TypedArray>();
  if (ta.ElementSize() != sizeof(T)) return Fail(info.Env(), "typed array of the wrong element size");
  ptr = reinterpret_cast<T*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset());
  len = ta.ElementLength();
  return true;
}
i64 Int(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int64Value(); }
double Num(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }
bool Bool(const Napi::CallbackInfo& info, size_t i) { return info[i].ToBoolean().Value(); }
std::vector<i64> Ints(const Napi::CallbackInfo& info, size_t i) {
  int32_t* p;
  size_t n;
  std::vector<i64> v;
  if (!Get(info, i, p, n)) return v;
  v.assign(p, p + n);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Activations shared by unary ops and the fused epilogues.
enum Act { kLinear = 0, kRelu = 1, kRelu6 = 2, kLeaky = 3, kSigmoid = 4, kElu = 5, kTanh = 6 };

void ApplyAct(float* __restrict y, i64 n, int act, float alpha) {
  switch (act) {
    case kRelu: for (i64 i = 0; i < n; i++) y[i] = y[i] < 0.f ? 0.f : y[i]; break;
    case kRelu6: for (i64 i = 0; i < n; i++) y[i] = std::min(std::max(y[i], 0.f), 6.f); break;
    case kLeaky: for (i64 i = 0; i < n; i++) y[i] = y[i] < 0.f ? alpha * y[i] : y[i]; break;
    case kSigmoid: for (i64 i = 0; i < n; i++) y[i] = 1.f / (1.f + std::exp(-y[i])); break;
    case kElu: for (i64 i = 0; i < n; i++) y[i] = y[i] >= 0.f ? y[i] : std::expm1(y[i]); break;
    case kTanh: for (i64 i = 0; i < n; i++) y[i] = std::tanh(y[i]); break;
    default: break;
  }
}

void AddRow(float* __restrict y, const float* __restrict b, i64 n) {
  for (i64 i = 0; i < n; i++) y[i] += b[i];
}
// y[rows, cols] += bias[cols] (if any), then activation. Parallel over rows.
void Epilogue(float* y, i64 rows, i64 cols, const float* bias, int act, float alpha) {
  if (!bias && act == kLinear) return;
  pool().For(rows, std::max<i64>(1, 32768 / std::max<i64>(1, cols)), [&](i64 b, i64 e) {
    for (i64 r = b; r < e; r++) {
      float* row = y + r * cols;
      if (bias) AddRow(row, bias, cols);
      ApplyAct(row, cols, act, alpha);
    }
  });
}

// C = op(A)·op(B) (+ beta·C), row-major. OpenBLAS runs single-threaded; on the JS thread a large
// product is cut into row (or column) blocks that the pool's threads multiply independently.
// The blocks follow from the shape alone (one per pool chunk), and inside a parallel job the
// product is one call, so every element is computed by the same library call on any number of
// threads.
void Gemm(bool ta, bool tb, i64 M, i64 N, i64 K, const float* A, i64 lda, const float* B, i64 ldb, float beta,
          float* C, i64 ldc) {
  if (M <= 0 || N <= 0) return;
  const CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
  const double macs = static_cast<double>(M) * N * std::max<i64>(K, 1);
  if (tls_in_parallel || macs < 2e6 || (M < 32 && N < 32)) {
    cblas_sgemm(CblasRowMajor, TA, TB, M, N, K, 1.f, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  // 16-row (or column) blocks, grouped into at most Pool::kMaxChunks parts; For's chunks over
  // `parts` items with grain 1 are exactly the parts.
  const bool rows = M >= N;
  const i64 blocks = ((rows ? M : N) + 15) / 16, parts = std::min(Pool::kMaxChunks, blocks);
  pool().For(parts, 1, [&](i64 pb, i64 pe) {
    for (i64 p = pb; p < pe; p++) {
      const i64 lo = std::min(rows ? M : N, blocks * p / parts * 16), hi = std::min(rows ? M : N, blocks * (p + 1) / parts * 16);
      if (hi <= lo) continue;
      if (rows) {
        const float* a = ta ? A + lo : A + lo * lda;
        cblas_sgemm(CblasRowMajor, TA, TB, hi - lo, N, K, 1.f, a, lda, B, ldb, beta, C + lo * ldc, ldc);
      } else {
        const float* bb = tb ? B + lo * ldb : B + lo;
        cblas_sgemm(CblasRowMajor, TA, TB, M, hi - lo, K, 1.f, A, lda, bb, ldb, beta, C + lo, ldc);
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// info(): {threads, blasThreads, blasConfig}
Napi::Value InfoFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("threads", pool().Threads());
  o.Set("blasThreads", openblas_get_num_threads());
  o.Set("blasConfig", openblas_get_config());
  return o;
}

// setThreads(poolThreads, blasThreads, scratchFloats)
Napi::Value SetThreadsFn(const Napi::CallbackInfo& info) {
  int n = static_cast<int>(Int(info, 0));
  int nb = static_cast<int>(Int(info, 1));
  if (n < 1) n = 1;
  if (nb < 1) nb = 1;
  if (n != pool().Threads()) pool().SetThreads(n);
  openblas_set_num_threads(nb);
  if (info.Length() > 2 && Int(info, 2) > 0) scratch_target_floats = static_cast<size_t>(Int(info, 2));
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------------------------
// matMul(a, b, c, batchA, batchB, M, N, K, transA, transB, bias|null, act, alpha)
// a: [batchA, M, K] (or [batchA, K, M] if transA), b: [batchB, K, N] (or [batchB, N, K]),
// c: [max(batchA, batchB), M, N]. Batches broadcast when one of them is 1.
Napi::Value MatMulFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *a, *b, *c;
  size_t na, nb, nc;
  if (!Get(info, 0, a, na) || !Get(info, 1, b, nb) || !Get(info, 2, c, nc)) return env.Undefined();
  i64 ba = Int(info, 3), bb = Int(info, 4), M = Int(info, 5), N = Int(info, 6), K = Int(info, 7);
  bool ta = Bool(info, 8), tb = Bool(info, 9);
  const float* bias = nullptr;
  size_t nbias = 0;
  if (info.Length() > 10 && info[10].IsTypedArray()) {
    float* bp;
    if (!Get(info, 10, bp, nbias)) return env.Undefined();
    if (static_cast<i64>(nbias) != N) return Fail(env, "matMul: bias must have N elements"), env.Undefined();
    bias = bp;
  }
  int act = info.Length() > 11 ? static_cast<int>(Int(info, 11)) : 0;
  float alpha = info.Length() > 12 ? static_cast<float>(Num(info, 12)) : 0.f;
  i64 batch = std::max(ba, bb);
  if ((ba != bb && ba != 1 && bb != 1) || static_cast<i64>(na) < ba * M * K ||
      static_cast<i64>(nb) < bb * K * N || static_cast<i64>(nc) < batch * M * N)
    return Fail(env, "matMul: bad sizes"), env.Undefined();
  const i64 lda = ta ? M : K, ldb = tb ? K : N;
  if (K == 0) {
    std::fill(c, c + batch * M * N, 0.f);
  } else if (bb == 1 && !ta) {
    // [batch*M, K] x [K, N]: one GEMM.
    Gemm(ta, tb, batch * M, N, K, a, lda, b, ldb, 0.f, c, N);
  } else {
    auto one = [&](i64 i) {
      const float* ai = a + (ba == 1 ? 0 : i) * M * K;
      const float* bi = b + (bb == 1 ? 0 : i) * K * N;
      Gemm(ta, tb, M, N, K, ai, lda, bi, ldb, 0.f, c + i * M * N, N);
    };
    if (batch >= 8) {  // by shape, not thread count: each product is then one library call
      pool().For(batch, 1, [&](i64 s, i64 e) {
        for (i64 i = s; i < e; i++) one(i);
      });
    } else {
      for (i64 i = 0; i < batch; i++) one(i);
    }
  }
  Epilogue(c, batch * M, N, bias, act, alpha);
  return env.Undefined();
}

// ---------------------------------------------------------------------------------------------
// Convolutions, NHWC, filter [KH, KW, Ci, Co].
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

bool ReadConv(const Napi::CallbackInfo& info, size_t i, Conv& c) {
  std::vector<i64> p = Ints(info, i);
  if (p.size() != 15) return Fail(info.Env(), "conv: 15 parameters expected");
  c = Conv{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14]};
  return true;
}

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

// ---------------------------------------------------------------------------------------------
// Unary ops: unary(op, x, y, alpha)
enum Unary {
  uRelu = 1, uRelu6, uLeaky, uSigmoid, uElu, uTanh, uNeg, uExp, uLog, uSqrt, uRsqrt, uSquare, uAbs,
  uReciprocal, uSoftplus, uLog1p, uExpm1, uStep, uSign, uFloor, uCeil, uSin, uCos, uIdentity
};

// Parallel loops run in functions whose array parameters are __restrict and whose functors come
// by value: GCC honours restrict only on parameters, and through a lambda's captures it must
// assume each store may change the pointers or constants, which keeps the loop scalar (a branchy
// scalar loop ran 10–30× slower than the vectorised one on two threads).
template <class F>
void MapRange(const float* __restrict x, float* __restrict y, i64 b, i64 e, F f) {
  for (i64 i = b; i < e; i++) y[i] = f(x[i]);
}
template <class F>
void Map(const float* x, float* y, i64 n, F f) {
  pool().For(n, 32768, [x, y, f](i64 b, i64 e) { MapRange(x, y, b, e, f); });
}

Napi::Value UnaryFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int op = static_cast<int>(Int(info, 0));
  float *x, *y;
  size_t nx, ny;
  if (!Get(info, 1, x, nx) || !Get(info, 2, y, ny)) return env.Undefined();
  if (ny < nx) return Fail(env, "unary: output too small"), env.Undefined();
  const float alpha = info.Length() > 3 ? static_cast<float>(Num(info, 3)) : 0.f;
  const i64 n = static_cast<i64>(nx);
  // Softplus thresholds as in tfjs-backend-cpu.
  const float sp = static_cast<float>(std::log(1.1920928955078125e-7) + 2.0);
  switch (op) {
    case uRelu: Map(x, y, n, [](float v) { return v < 0.f ? 0.f : v; }); break;
    case uRelu6: Map(x, y, n, [](float v) { return std::min(std::max(v, 0.f), 6.f); }); break;
    case uLeaky: Map(x, y, n, [alpha](float v) { return v < 0.f ? alpha * v : v; }); break;
    case uSigmoid: Map(x, y, n, [](float v) { return 1.f / (1.f + std::exp(-v)); }); break;
    case uElu: Map(x, y, n, [](float v) { return v >= 0.f ? v : std::expm1(v); }); break;
    case uTanh: Map(x, y, n, [](float v) { return std::tanh(v); }); break;
    case uNeg: Map(x, y, n, [](float v) { return -v; }); break;
    case uExp: Map(x, y, n, [](float v) { return std::exp(v); }); break;
    case uLog: Map(x, y, n, [](float v) { return std::log(v); }); break;
    case uSqrt: Map(x, y, n, [](float v) { return std::sqrt(v); }); break;
    case uRsqrt: Map(x, y, n, [](float v) { return static_cast<float>(1.0 / std::sqrt(static_cast<double>(v))); }); break;
    case uSquare: Map(x, y, n, [](float v) { return v * v; }); break;
    case uAbs: Map(x, y, n, [](float v) { return std::fabs(v); }); break;
    case uReciprocal: Map(x, y, n, [](float v) { return 1.f / v; }); break;
    case uSoftplus:
      Map(x, y, n, [sp](float v) {
        if (v < sp) return std::exp(v);
        if (v > -sp) return v;
        return std::log1p(std::exp(v));
      });
      break;
    case uLog1p: Map(x, y, n, [](float v) { return std::log1p(v); }); break;
    case uExpm1: Map(x, y, n, [](float v) { return std::expm1(v); }); break;
    case uStep: Map(x, y, n, [alpha](float v) { return std::isnan(v) ? v : (v > 0.f ? 1.f : alpha); }); break;
    case uSign: Map(x, y, n, [](float v) { return v < 0.f ? -1.f : (v > 0.f ? 1.f : 0.f); }); break;
    case uFloor: Map(x, y, n, [](float v) { return std::floor(v); }); break;
    case uCeil: Map(x, y, n, [](float v) { return std::ceil(v); }); break;
    case uSin: Map(x, y, n, [](float v) { return std::sin(v); }); break;
    case uCos: Map(x, y, n, [](float v) { return std::cos(v); }); break;
    case uIdentity: Map(x, y, n, [](float v) { return v; }); break;
    default: return Fail(env, "unary: unknown op"), env.Undefined();
  }
  return env.Undefined();
}

// ---------------------------------------------------------------------------------------------
// Binary ops with broadcasting: binary(op, a, b, y, shape, aStrides, bStrides)
// shape/strides: Int32Array of the (already collapsed) output rank; a stride 0 broadcasts.
enum Binary {
  bAdd = 1, bSub, bMul, bDiv, bMax, bMin, bSqDiff, bPow, bPreluLike,
  bGreater = 100, bGreaterEqual, bLess, bLessEqual, bEqual, bNotEqual
};

struct OAdd { float operator()(float a, float b) const { return a + b; } };
struct OSub { float operator()(float a, float b) const { return a - b; } };
struct OMul { float operator()(float a, float b) const { return a * b; } };
struct ODiv { float operator()(float a, float b) const { return a / b; } };
struct OMax { float operator()(float a, float b) const { return a > b ? a : b; } };
struct OMin { float operator()(float a, float b) const { return a < b ? a : b; } };
struct OSqDiff { float operator()(float a, float b) const { float d = a - b; return d * d; } };
struct OPow { float operator()(float a, float b) const { return static_cast<float>(std::pow(static_cast<double>(a), static_cast<double>(b))); } };
struct OGt { uint8_t operator()(float a, float b) const { return a > b; } };
struct OGe { uint8_t operator()(float a, float b) const { return a >= b; } };
struct OLt { uint8_t operator()(float a, float b) const { return a < b; } };
struct OLe { uint8_t operator()(float a, float b) const { return a <= b; } };
struct OEq { uint8_t operator()(float a, float b) const { return a == b; } };
struct ONe { uint8_t operator()(float a, float b) const { return a != b; } };

template <class Out, class Op>
inline void Row(const float* __restrict a, i64 sa, const float* __restrict b, i64 sb, Out* __restrict y, i64 n, Op op) {
  if (sa == 1 && sb == 1) {
    for (i64 i = 0; i < n; i++) y[i] = op(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const float bv = *b;
    for (i64 i = 0; i < n; i++) y[i] = op(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const float av = *a;
    for (i64 i = 0; i < n; i++) y[i] = op(av, b[i]);
  } else {
    for (i64 i = 0; i < n; i++) y[i] = op(a[i * sa], b[i * sb]);
  }
}

template <class Out, class Op>
void Broadcast(const float* a, const float* b, Out* y, const std::vector<i64>& shape,
               const std::vector<i64>& sa, const std::vector<i64>& sb, Op op) {
  const int r = static_cast<int>(shape.size());
  const i64 inner = shape[r - 1];
  i64 rows = 1;
  for (int d = 0; d < r - 1; d++) rows *= shape[d];
  if (rows == 1) {
    pool().For(inner, 32768, [&](i64 s, i64 e) {
      Row(a + s * sa[r - 1], sa[r - 1], b + s * sb[r - 1], sb[r - 1], y + s, e - s, op);
    });
    return;
  }
  pool().For(rows, std::max<i64>(1, 32768 / std::max<i64>(1, inner)), [&](i64 s, i64 e) {
    std::vector<i64> idx(r > 1 ? r - 1 : 1, 0);
    i64 rem = s, offA = 0, offB = 0;
    for (int d = r - 2; d >= 0; d--) {
      idx[d] = rem % shape[d];
      rem /= shape[d];
      offA += idx[d] * sa[d];
      offB += idx[d] * sb[d];
    }
    for (i64 row = s; row < e; row++) {
      Row(a + offA, sa[r - 1], b + offB, sb[r - 1], y + row * inner, inner, op);
      for (int d = r - 2; d >= 0; d--) {
        offA += sa[d];
        offB += sb[d];
        if (++idx[d] < shape[d]) break;
        offA -= sa[d] * shape[d];
        offB -= sb[d] * shape[d];
        idx[d] = 0;
      }
    }
  });
}

Napi::Value BinaryFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int op = static_cast<int>(Int(info, 0));
  float *a, *b;
  size_t na, nb;
  if (!Get(info, 1, a, na) || !Get(info, 2, b, nb)) return env.Undefined();
  std::vector<i64> shape = Ints(info, 4), sa = Ints(info, 5), sb = Ints(info, 6);
  if (shape.empty() || sa.size() != shape.size() || sb.size() != shape.size())
    return Fail(env, "binary: bad shape/strides"), env.Undefined();
  i64 total = 1, lastA = 0, lastB = 0;
  for (size_t d = 0; d < shape.size(); d++) {
    total *= shape[d];
    if (shape[d] > 0) {
      lastA += (shape[d] - 1) * sa[d];
      lastB += (shape[d] - 1) * sb[d];
    }
  }
  if (total == 0) return env.Undefined();
  if (lastA >= static_cast<i64>(na) || lastB >= static_cast<i64>(nb))
    return Fail(env, "binary: strides exceed input"), env.Undefined();
  if (op >= 100) {
    uint8_t* y;
    size_t ny;
    if (!Get(info, 3, y, ny)) return env.Undefined();
    if (static_cast<i64>(ny) < total) return Fail(env, "binary: output too small"), env.Undefined();
    switch (op) {
      case bGreater: Broadcast(a, b, y, shape, sa, sb, OGt()); break;
      case bGreaterEqual: Broadcast(a, b, y, shape, sa, sb, OGe()); break;
      case bLess: Broadcast(a, b, y, shape, sa, sb, OLt()); break;
      case bLessEqual: Broadcast(a, b, y, shape, sa, sb, OLe()); break;
      case bEqual: Broadcast(a, b, y, shape, sa, sb, OEq()); break;
      case bNotEqual: Broadcast(a, b, y, shape, sa, sb, ONe()); break;
      default: return Fail(env, "binary: unknown op"), env.Undefined();
    }
    return env.Undefined();
  }
  float* y;
  size_t ny;
  if (!Get(info, 3, y, ny)) return env.Undefined();
  if (static_cast<i64>(ny) < total) return Fail(env, "binary: output too small"), env.Undefined();
  switch (op) {
    case bAdd: Broadcast(a, b, y, shape, sa, sb, OAdd()); break;
    case bSub: Broadcast(a, b, y, shape, sa, sb, OSub()); break;
    case bMul: Broadcast(a, b, y, shape, sa, sb, OMul()); break;
    case bDiv: Broadcast(a, b, y, shape, sa, sb, ODiv()); break;
    case bMax: Broadcast(a, b, y, shape, sa, sb, OMax()); break;
    case bMin: Broadcast(a, b, y, shape, sa, sb, OMin()); break;
    case bSqDiff: Broadcast(a, b, y, shape, sa, sb, OSqDiff()); break;
    case bPow: Broadcast(a, b, y, shape, sa, sb, OPow()); break;
    default: return Fail(env, "binary: unknown op"), env.Undefined();
  }
  return env.Undefined();
}

// ---------------------------------------------------------------------------------------------
// reduce(op, x, y, outer, mid, inner, scale): y[o, i] = scale * R_m x[o, m, i]
// op: 0 sum, 1 max, 2 min, 3 prod. Accumulates in double like the JS reference.
Napi::Value ReduceFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int op = static_cast<int>(Int(info, 0));
  float *x, *y;
  size_t nx, ny;
  if (!Get(info, 1, x, nx) || !Get(info, 2, y, ny)) return env.Undefined();
  const i64 outer = Int(info, 3), mid = Int(info, 4), inner = Int(info, 5);
  const double scale = Num(info, 6);
  if (static_cast<i64>(nx) < outer * mid * inner || static_cast<i64>(ny) < outer * inner || op < 0 || op > 3)
    return Fail(env, "reduce: bad sizes"), env.Undefined();
  const double init = op == 0 ? 0.0 : op == 1 ? -INFINITY : op == 2 ? INFINITY : 1.0;
  auto combine = [op](double acc, double v) {
    switch (op) {
      case 0: return acc + v;
      case 1: return (v > acc || std::isnan(v)) ? v : acc;
      case 2: return (v < acc || std::isnan(v)) ? v : acc;
      default: return acc * v;
    }
  };
  // Reduces x[o, m0:m1, :] into acc[inner].
  auto part = [&](i64 o, i64 m0, i64 m1, double* acc) {
    const float* base = x + o * mid * inner;
    if (inner == 1) {
      double s = acc[0];
      if (op == 0) {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        i64 m = m0;
        for (; m + 4 <= m1; m += 4) {
          s0 += base[m];
          s1 += base[m + 1];
          s2 += base[m + 2];
          s3 += base[m + 3];
        }
        for (; m < m1; m++) s0 += base[m];
        s += (s0 + s1) + (s2 + s3);
      } else {
        for (i64 m = m0; m < m1; m++) s = combine(s, base[m]);
      }
      acc[0] = s;
      return;
    }
    for (i64 m = m0; m < m1; m++) {
      const float* row = base + m * inner;
      if (op == 0) {
        for (i64 i = 0; i < inner; i++) acc[i] += row[i];
      } else {
        for (i64 i = 0; i < inner; i++) acc[i] = combine(acc[i], row[i]);
      }
    }
  };
  // The strategy follows from the shape, never the thread count: the two group the sums differently.
  if (outer >= 8 || outer * mid * inner < 65536) {
    pool().For(outer, std::max<i64>(1, 65536 / std::max<i64>(1, mid * inner)), [&](i64 b, i64 e) {
      std::vector<double> acc(inner);
      for (i64 o = b; o < e; o++) {
        std::fill(acc.begin(), acc.end(), init);
        part(o, 0, mid, acc.data());
        for (i64 i = 0; i < inner; i++) y[o * inner + i] = static_cast<float>(acc[i] * scale);
      }
    });
  } else {
    // Few output rows, long reductions: split `mid` into P parts, then combine in order.
    const i64 P = std::min<i64>(8, mid);
    std::vector<std::vector<double>> accs(P, std::vector<double>(inner));
    for (i64 o = 0; o < outer; o++) {
      pool().For(P, 1, [&](i64 b, i64 e) {
        for (i64 t = b; t < e; t++) {
          std::fill(accs[t].begin(), accs[t].end(), init);
          part(o, mid * t / P, mid * (t + 1) / P, accs[t].data());
        }
      });
      for (i64 i = 0; i < inner; i++) {
        double v = accs[0][i];
        for (i64 t = 1; t < P; t++) v = combine(v, accs[t][i]);
        y[o * inner + i] = static_cast<float>(v * scale);
      }
    }
  }
  return env.Undefined();
}

// ---------------------------------------------------------------------------------------------
// transpose(x, y, shape, perm) for any 4-byte element type (float32/int32).
Napi::Value TransposeFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t *x, *y;
  size_t nx, ny;
  if (!Get(info, 0, x, nx) || !Get(info, 1, y, ny)) return env.Undefined();
  std::vector<i64> shape = Ints(info, 2), perm = Ints(info, 3);
  const int r = static_cast<int>(shape.size());
  if (r == 0 || static_cast<int>(perm.size()) != r) return Fail(env, "transpose: bad shape"), env.Undefined();
  std::vector<i64> inStride(r), outShape(r), st(r);
  i64 total = 1;
  for (int d = r - 1; d >= 0; d--) {
    inStride[d] = total;
    total *= shape[d];
  }
  if (static_cast<i64>(nx) < total || static_cast<i64>(ny) < total)
    return Fail(env, "transpose: bad sizes"), env.Undefined();
  for (int d = 0; d < r; d++) {
    outShape[d] = shape[perm[d]];
    st[d] = inStride[perm[d]];
  }
  if (total == 0) return env.Undefined();
  const i64 inner = outShape[r - 1], sIn = st[r - 1];
  const i64 rows = total / inner;
  pool().For(rows, std::max<i64>(1, 16384 / std::max<i64>(1, inner)), [&](i64 s, i64 e) {
    std::vector<i64> idx(r, 0);
    i64 rem = s, off = 0;
    for (int d = r - 2; d >= 0; d--) {
      idx[d] = rem % outShape[d];
      rem /= outShape[d];
      off += idx[d] * st[d];
    }
    for (i64 row = s; row < e; row++) {
      uint32_t* __restrict dst = y + row * inner;
      const uint32_t* __restrict src = x + off;
      for (i64 i = 0; i < inner; i++) dst[i] = src[i * sIn];
      for (int d = r - 2; d >= 0; d--) {
        off += st[d];
        if (++idx[d] < outShape[d]) break;
        off -= st[d] * outShape[d];
        idx[d] = 0;
      }
    }
  });
  return env.Undefined();
}

// tile(x, y, inShape, outShape) for any 4-byte element type: y[i] = x[i mod inShape] per axis.
Napi::Value TileFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t *x, *y;
  size_t nx, ny;
  if (!Get(info, 0, x, nx) || !Get(info, 1, y, ny)) return env.Undefined();
  std::vector<i64> in = Ints(info, 2), outS = Ints(info, 3);
  const int r = static_cast<int>(in.size());
  if (r == 0 || static_cast<int>(outS.size()) != r) return Fail(env, "tile: bad shape"), env.Undefined();
  std::vector<i64> inStride(r);
  i64 tin = 1, tout = 1;
  for (int d = r - 1; d >= 0; d--) {
    inStride[d] = tin;
    tin *= in[d];
    tout *= outS[d];
    if (in[d] <= 0 || outS[d] % in[d] != 0) return Fail(env, "tile: bad shape"), env.Undefined();
  }
  if (static_cast<i64>(nx) < tin || static_cast<i64>(ny) < tout) return Fail(env, "tile: bad sizes"), env.Undefined();
  const i64 inner = outS[r - 1], inInner = in[r - 1];
  const i64 rows = tout / inner;
  pool().For(rows, std::max<i64>(1, 16384 / std::max<i64>(1, inner)), [&](i64 s, i64 e) {
    std::vector<i64> idx(r, 0);
    i64 rem = s;
    for (int d = r - 2; d >= 0; d--) {
      idx[d] = rem % outS[d];
      rem /= outS[d];
    }
    for (i64 row = s; row < e; row++) {
      i64 off = 0;
      for (int d = 0; d < r - 1; d++) off += (idx[d] % in[d]) * inStride[d];
      uint32_t* dst = y + row * inner;
      for (i64 j = 0; j < inner; j += inInner) std::memcpy(dst + j, x + off, sizeof(uint32_t) * inInner);
      for (int d = r - 2; d >= 0; d--) {
        if (++idx[d] < outS[d]) break;
        idx[d] = 0;
      }
    }
  });
  return env.Undefined();
}

// ---------------------------------------------------------------------------------------------
void AffineRow(const float* __restrict x, float* __restrict y, const float* __restrict mul, const float* __restrict add, i64 C) {
  for (i64 c = 0; c < C; c++) y[c] = x[c] * mul[c] + add[c];
}
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

void SelectRange(const uint8_t* __restrict c, const float* __restrict t, const float* __restrict e, float* __restrict y, i64 b, i64 end) {
  for (i64 i = b; i < end; i++) y[i] = c[i] == 1 ? t[i] : e[i];
}
// select(cond:Uint8Array, t, e, y) — all of one size.
Napi::Value SelectFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* c;
  float *t, *e, *y;
  size_t nc, nt, ne, ny;
  if (!Get(info, 0, c, nc) || !Get(info, 1, t, nt) || !Get(info, 2, e, ne) || !Get(info, 3, y, ny))
    return env.Undefined();
  if (nt < nc || ne < nc || ny < nc) return Fail(env, "select: bad sizes"), env.Undefined();
  pool().For(static_cast<i64>(nc), 32768, [c, t, e, y](i64 b, i64 end) { SelectRange(c, t, e, y, b, end); });
  return env.Undefined();
}

// addN([arrays], y)
Napi::Value AddNFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) return Fail(env, "addN: expected an array"), env.Undefined();
  Napi::Array arr = info[0].As<Napi::Array>();
  float* y;
  size_t ny;
  if (!Get(info, 1, y, ny)) return env.Undefined();
  std::vector<const float*> xs;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    if (!v.IsTypedArray()) return Fail(env, "addN: expected typed arrays"), env.Undefined();
    Napi::TypedArray ta = v.As<Napi::TypedArray>();
    if (ta.ElementSize() != 4 || ta.ElementLength() < ny) return Fail(env, "addN: bad input"), env.Undefined();
    xs.push_back(reinterpret_cast<const float*>(static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset()));
  }
  pool().For(static_cast<i64>(ny), 32768, [&xs, y](i64 b, i64 e) {
    float* __restrict yy = y;
    const size_t k = xs.size();
    const float* const* ps = xs.data();
    for (i64 i = b; i < e; i++) {
      double s = 0;  // the JS reference adds in double
      for (size_t j = 0; j < k; j++) s += ps[j][i];
      yy[i] = static_cast<float>(s);
    }
  });
  return env.Undefined();
}

// ---------------------------------------------------------------------------------------------
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

// dy·1 is dy exactly, so the multiply is branch-free and equal to where(x > 0, dy, dy·alpha).
void LeakyReluGradRange(const float* __restrict dy, const float* __restrict x, float* __restrict dx, i64 b, i64 e, float alpha) {
  for (i64 i = b; i < e; i++) dx[i] = dy[i] * (x[i] > 0.f ? 1.f : alpha);
}
// leakyReluGrad(dy, x, dx, alpha): dx = x > 0 ? dy : dy·alpha — TF.js's where(x > 0, dy, dy·alpha)
// in one pass.
Napi::Value LeakyReluGradFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  float *dy, *x, *dx;
  size_t ndy, nx, ndx;
  if (!Get(info, 0, dy, ndy) || !Get(info, 1, x, nx) || !Get(info, 2, dx, ndx)) return env.Undefined();
  if (nx != ndy || ndx != ndy) return Fail(env, "leakyReluGrad: arrays differ in length"), env.Undefined();
  const float alpha = static_cast<float>(Num(info, 3));
  pool().For(static_cast<i64>(ndy), 32768, [=](i64 b, i64 e) { LeakyReluGradRange(dy, x, dx, b, e, alpha); });
  return env.Undefined();
}

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

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  if (const char* s = std::getenv("FASHION_NATIVE_THREADS")) threads = std::atoi(s);
  if (threads < 1) threads = 1;
  // Tensors of up to 32 MiB come from the reusable heap instead of fresh mmap()s, whose page
  // faults cost more than the elementwise kernels themselves (opt out: FASHION_NATIVE_MALLOPT=0).
  const char* mo = std::getenv("FASHION_NATIVE_MALLOPT");
  if (!mo || std::strcmp(mo, "0") != 0) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
  }
  pool().SetThreads(threads);
  openblas_set_num_threads(1);  // parallelism comes from the pool (see Gemm)
  exports.Set("info", Napi::Function::New(env, InfoFn));
  exports.Set("setThreads", Napi::Function::New(env, SetThreadsFn));
  exports.Set("matMul", Napi::Function::New(env, MatMulFn));
  exports.Set("conv2d", Napi::Function::New(env, Conv2DFn));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2DBackpropInputFn));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2DBackpropFilterFn));
  exports.Set("unary", Napi::Function::New(env, UnaryFn));
  exports.Set("binary", Napi::Function::New(env, BinaryFn));
  exports.Set("reduce", Napi::Function::New(env, ReduceFn));
  exports.Set("transpose", Napi::Function::New(env, TransposeFn));
  exports.Set("tile", Napi::Function::New(env, TileFn));
  exports.Set("batchNorm", Napi::Function::New(env, BatchNormFn));
  exports.Set("select", Napi::Function::New(env, SelectFn));
  exports.Set("addN", Napi::Function::New(env, AddNFn));
  exports.Set("fillUniform", Napi::Function::New(env, FillUniformFn));
  exports.Set("adam", Napi::Function::New(env, AdamFn));
  exports.Set("leakyReluGrad", Napi::Function::New(env, LeakyReluGradFn));
  return exports;
}

}  // namespace

NODE_API_MODULE(fashion_native, Init)
