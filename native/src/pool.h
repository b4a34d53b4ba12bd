// The addon's fork-join thread pool, and per-thread scratch buffers.
//
// Pool::For cuts a loop into up to 16 chunks that threads claim one at a time, so a worker that
// the OS schedules late (another process on the core) delays the caller by at most one chunk:
// the calling thread takes whatever is left. Workers sleep on a condition variable between jobs.
// The chunks follow from the loop's length alone, never from the thread count.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fg {

using i64 = int64_t;

extern thread_local bool tls_in_parallel;  // inside a Pool::For job: nested For runs inline

class Pool {
 public:
  ~Pool() { Stop(); }
  // Microseconds a worker waits for the next job before it sleeps (FASHION_NATIVE_SPIN_US).
  int spin_us = 50;
  int Threads() const { return static_cast<int>(workers_.size()) + 1; }
  void SetThreads(int n) {
    Stop();
    stop_ = false;
    for (int i = 1; i < n; i++) workers_.emplace_back([this] { Loop(); });
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
      gen = gen_.load() + 1;
      job_ = &job;
      chunks_ = chunks;
      done_.store(0);
      ticket_.store((gen & kMask) << 32);
      gen_.store(gen);
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
      SpinFor(seen);
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
  // Waits up to spin_us for the next job before sleeping: kernels come in quick succession, and
  // waking a sleeping thread costs tens of microseconds, as much as a small kernel's whole run.
  void SpinFor(uint64_t seen) const {
    if (spin_us <= 0) return;
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us);
    for (int i = 0;; i++) {
      if (gen_.load(std::memory_order_acquire) != seen) return;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      if ((i & 255) == 255 && std::chrono::steady_clock::now() > until) return;
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
  std::atomic<uint64_t> gen_{0};
  std::atomic<uint64_t> ticket_{0};
  std::atomic<i64> done_{0};
  bool stop_ = false;
};

Pool& pool();

// A grow-only buffer of at least n floats for the calling thread (im2col columns).
float* Scratch(size_t n);

// Floats of im2col columns per convolution chunk (FASHION_NATIVE_CHUNK; default 1 Mi): small
// enough to stay in cache, large enough for an efficient GEMM.
extern size_t scratch_target_floats;

}  // namespace fg
