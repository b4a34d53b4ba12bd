// The addon's exported functions (one N-API function per kernel). Each checks only that its
// buffers are large enough; shapes, dtypes and broadcasting are worked out in TypeScript
// (src/backends/native/kernels.ts).
#pragma once

#include <napi.h>

namespace fg {

Napi::Value MatMulFn(const Napi::CallbackInfo& info);                // gemm.cc
Napi::Value GemmFn(const Napi::CallbackInfo& info);                  // gemm.cc
Napi::Value Conv2DFn(const Napi::CallbackInfo& info);                // conv.cc
Napi::Value Conv2DBackpropInputFn(const Napi::CallbackInfo& info);   // conv.cc
Napi::Value Conv2DBackpropFilterFn(const Napi::CallbackInfo& info);  // conv.cc
Napi::Value UnaryFn(const Napi::CallbackInfo& info);                 // elementwise.cc
Napi::Value BinaryFn(const Napi::CallbackInfo& info);                // elementwise.cc
Napi::Value SelectFn(const Napi::CallbackInfo& info);                // elementwise.cc
Napi::Value LeakyReluGradFn(const Napi::CallbackInfo& info);         // elementwise.cc
Napi::Value ReduceFn(const Napi::CallbackInfo& info);                // reduce_layout.cc
Napi::Value AddNFn(const Napi::CallbackInfo& info);                  // reduce_layout.cc
Napi::Value TransposeFn(const Napi::CallbackInfo& info);             // reduce_layout.cc
Napi::Value TileFn(const Napi::CallbackInfo& info);                  // reduce_layout.cc
Napi::Value BatchNormFn(const Napi::CallbackInfo& info);             // batchnorm.cc
Napi::Value BatchNormTrainFn(const Napi::CallbackInfo& info);        // batchnorm_train.cc
Napi::Value BatchNormTrainGradFn(const Napi::CallbackInfo& info);    // batchnorm_train.cc
Napi::Value FillUniformFn(const Napi::CallbackInfo& info);           // random.cc
Napi::Value AdamFn(const Napi::CallbackInfo& info);                  // adam.cc

}  // namespace fg
