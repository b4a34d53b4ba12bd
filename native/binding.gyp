{
  "targets": [
    {
      "target_name": "fashion_native",
      "sources": [
        "src/addon.cc", "src/pool.cc", "src/gemm.cc", "src/gemm_kernels.cc", "src/conv.cc", "src/conv_builtin.cc", "src/conv_builtin_input.cc", "src/elementwise.cc",
        "src/reduce_layout.cc", "src/batchnorm.cc", "src/batchnorm_train.cc", "src/random.cc", "src/adam.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node find-blas.cjs include)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "<!@(node find-blas.cjs defines)"],
      "cflags!": ["-fno-exceptions", "-O2", "-O0"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-O2", "-O0"],
      "cflags_cc": ["-std=c++17", "-O3", "-march=native", "-fno-math-errno", "-ffp-contract=off", "-pthread", "-Wall", "-Wno-unused-parameter"],
      "ldflags": ["-pthread"],
      "libraries": ["<!@(node find-blas.cjs libraries)", "-pthread"]
    }
  ]
}
