// fashion-gan native kernels: moves numbers between typed arrays and OpenBLAS / simple loops.
// Shapes, dtypes and broadcasting are worked out on the TypeScript side (src/backends/native/);
// the kernels only check that buffers are large enough. This file: info, setThreads and the
// module's exports. Files: pool (threads), napi_args (argument checks), gemm (GEMM, matMul),
// conv (convolutions), elementwise, reduce_layout (reductions, addN, transpose, tile),
// batchnorm, random, adam.
#include <malloc.h>
#include <napi.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "gemm.h"
#include "gemm_builtin.h"
#include "kernels.h"
#include "napi_args.h"
#include "pool.h"

namespace fg {

namespace {

// info(): {threads, openblas, blasThreads, blasConfig, gemm, gemmKernel}
Napi::Value InfoFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("threads", pool().Threads());
  o.Set("openblas", HaveOpenblas());
  o.Set("blasThreads", OpenblasThreads());
  o.Set("blasConfig", OpenblasConfig());
  o.Set("gemm", UseBuiltinGemm() ? "builtin" : "openblas");
  o.Set("gemmKernel", Kernels().name);
  return o;
}

// setGemm(gemm, kernel): "openblas" | "builtin" | "" (default), and the builtin's micro-kernels
// "avx512" | "avx2" | "portable" | "" (default). Returns false (changing nothing) if unavailable.
Napi::Value SetGemmFn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsString()) return Fail(env, "setGemm: two strings expected"), env.Undefined();
  const std::string gemm = info[0].As<Napi::String>(), kernel = info[1].As<Napi::String>();
  const std::string oldGemm = UseBuiltinGemm() ? "builtin" : "openblas", oldKernel = Kernels().name;
  if (!SetKernels(kernel.c_str()) || !SetGemm(gemm.c_str())) {  // kernels first: the default GEMM depends on them
    SetKernels(oldKernel.c_str());
    SetGemm(oldGemm.c_str());
    return Napi::Boolean::New(env, false);
  }
  return Napi::Boolean::New(env, true);
}

// setThreads(poolThreads, blasThreads, scratchFloats)
Napi::Value SetThreadsFn(const Napi::CallbackInfo& info) {
  int n = static_cast<int>(Int(info, 0));
  int nb = static_cast<int>(Int(info, 1));
  if (n < 1) n = 1;
  if (nb < 1) nb = 1;
  if (n != pool().Threads()) pool().SetThreads(n);
  SetOpenblasThreads(nb);
  if (info.Length() > 2 && Int(info, 2) > 0) scratch_target_floats = static_cast<size_t>(Int(info, 2));
  return info.Env().Undefined();
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
  SetOpenblasThreads(1);  // parallelism comes from the pool (see Gemm)
  exports.Set("info", Napi::Function::New(env, InfoFn));
  exports.Set("setThreads", Napi::Function::New(env, SetThreadsFn));
  exports.Set("setGemm", Napi::Function::New(env, SetGemmFn));
  exports.Set("matMul", Napi::Function::New(env, MatMulFn));
  exports.Set("gemm", Napi::Function::New(env, GemmFn));
  exports.Set("conv2d", Napi::Function::New(env, Conv2DFn));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Conv2DBackpropInputFn));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Conv2DBackpropFilterFn));
  exports.Set("unary", Napi::Function::New(env, UnaryFn));
  exports.Set("binary", Napi::Function::New(env, BinaryFn));
  exports.Set("reduce", Napi::Function::New(env, ReduceFn));
  exports.Set("transpose", Napi::Function::New(env, TransposeFn));
  exports.Set("tile", Napi::Function::New(env, TileFn));
  exports.Set("batchNorm", Napi::Function::New(env, BatchNormFn));
  exports.Set("batchNormTrain", Napi::Function::New(env, BatchNormTrainFn));
  exports.Set("batchNormTrainGrad", Napi::Function::New(env, BatchNormTrainGradFn));
  exports.Set("select", Napi::Function::New(env, SelectFn));
  exports.Set("addN", Napi::Function::New(env, AddNFn));
  exports.Set("fillUniform", Napi::Function::New(env, FillUniformFn));
  exports.Set("adam", Napi::Function::New(env, AdamFn));
  exports.Set("leakyReluGrad", Napi::Function::New(env, LeakyReluGradFn));
  return exports;
}

}  // namespace

}  // namespace fg

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return fg::Init(env, exports); }
NODE_API_MODULE(fashion_native, InitModule)
