// Reading N-API arguments: typed arrays as (pointer, length), numbers, booleans. A wrong type
// throws a one-line TypeError in JS; the callers return at once.
#pragma once

#include <napi.h>

#include <cstdint>
#include <vector>

namespace fg {

using i64 = int64_t;

inline bool Fail(const Napi::Env& env, const char* msg) {
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
inline i64 Int(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int64Value(); }
inline double Num(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().DoubleValue(); }
inline bool Bool(const Napi::CallbackInfo& info, size_t i) { return info[i].ToBoolean().Value(); }
inline std::vector<i64> Ints(const Napi::CallbackInfo& info, size_t i) {
  int32_t* p;
  size_t n;
  std::vector<i64> v;
  if (!Get(info, i, p, n)) return v;
  v.assign(p, p + n);
  return v;
}

}  // namespace fg
