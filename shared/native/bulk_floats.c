/*
 * Two whole-buffer operations a worker's main thread runs on every step, over the parameters and the optimizer
 * state or a gradient vector, most of them in SharedArrayBuffers (the pool threads' memory).
 *
 * Note [shared memory copies]: V8 copies a typed array to or from a SharedArrayBuffer with relaxed atomic word
 * moves (it must not tear a value another thread may read), at ≈ 15 GB/s on this machine against ≈ 35 GB/s for
 * two plain buffers (measured 2026-12-03 with Float32Array.set, 1.6 MB, node 20). The undo copy of a replica's
 * parameters and Adam state (Note [steps to undo] in worker/src/replica.ts) and the all-gather's copy of reduced
 * pieces into the shared gradient vector are such copies; nothing reads these buffers while they are written
 * (the pool threads are between steps, or past the layers of the piece), so a plain memmove is as correct and
 * copies the same bytes.
 *
 * Note [finite by exponent]: a float32 is NaN or ±Infinity exactly when its eight exponent bits are all ones; the
 * loop ORs a flag per element over a block, so it vectorises without branches, and stops at the first block
 * that holds one. It answers what shared/src/train/finite.ts's x·0 sum answers, for every bit pattern.
 */
#include "bulk_floats.h"
#include "float_view.h"
#include <stdint.h>
#include <string.h>

#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#define BLOCK 4096
#define EXPONENT 0x7f800000u

CLONES static int all_finite(const float* values, size_t n) {
  for (size_t start = 0; start < n; start += BLOCK) {
    const size_t end = n - start < BLOCK ? n : start + BLOCK;
    uint32_t bad = 0;
    for (size_t i = start; i < end; i++) {
      uint32_t b;
      memcpy(&b, values + i, sizeof b); /* the bits, without breaking strict aliasing */
      bad |= (uint32_t)((b & EXPONENT) == EXPONENT);
    }
    if (bad) return 0;
  }
  return 1;
}

/* copyFloats(dst, src): two Float32Arrays of one length; they may overlap (memmove). */
napi_value CopyFloats(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) {
    napi_throw_type_error(env, NULL, "copyFloats(dst, src) takes 2 arguments");
    return NULL;
  }
  float* dst;
  float* src;
  size_t n, m;
  if (!float_view(env, argv[0], &dst, &n, "copyFloats: dst must be a Float32Array")) return NULL;
  if (!float_view(env, argv[1], &src, &m, "copyFloats: src must be a Float32Array")) return NULL;
  if (n != m) {
    napi_throw_range_error(env, NULL, "copyFloats: dst and src must have one length");
    return NULL;
  }
  if (n > 0) memmove(dst, src, n * sizeof(float));
  return NULL;
}

/* allFinite(values): whether no element of the Float32Array is NaN or ±Infinity. */
napi_value AllFinite(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1) {
    napi_throw_type_error(env, NULL, "allFinite(values) takes 1 argument");
    return NULL;
  }
  float* values;
  size_t n;
  if (!float_view(env, argv[0], &values, &n, "allFinite: values must be a Float32Array")) return NULL;
  napi_value result;
  if (napi_get_boolean(env, all_finite(values, n), &result) != napi_ok) return NULL;
  return result;
}
