// The pool's singleton, the nesting flag and the scratch buffers (see pool.h).
#include "pool.h"

#include <cstdlib>
#include <memory>

namespace fg {

thread_local bool tls_in_parallel = false;

Pool& pool() {
  static Pool* p = [] {
    Pool* q = new Pool();  // leaked on purpose: no join at process exit
    if (const char* s = std::getenv("FASHION_NATIVE_SPIN_US")) q->spin_us = std::atoi(s);
    return q;
  }();
  return *p;
}

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

size_t scratch_target_floats = std::getenv("FASHION_NATIVE_CHUNK") ? std::strtoull(std::getenv("FASHION_NATIVE_CHUNK"), nullptr, 10) : size_t(1) << 20;

}  // namespace fg
