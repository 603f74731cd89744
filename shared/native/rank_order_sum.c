/*
 * out[i] = (…((s0[i] + s1[i]) + s2[i]) + …) + s(N−1)[i], every partial sum a float32 addition: the all-reduce's
 * rank-order sum (worker/src/allreduce/rank-order-sum.ts holds the JavaScript form and says why the order is
 * fixed). Run on the worker's main thread for every reduced piece, where the JavaScript loops cost 1.2–2.1 ns per
 * element (≈ 10 ms per rank of a 40 MB all-reduce); here they are SIMD loops.
 *
 * Note [same bits as the JavaScript sum]: JavaScript adds two float32 values in float64 and rounds the result to
 * float32 when storing it (or through Math.fround); for a sum of two float32 values that double rounding gives
 * exactly the float32 sum, so each partial sum here, a plain float addition, has the same bits. What keeps it so
 * in compiled code: additions only, in the same order (no reassociation: no -ffast-math, -ffp-contract=off),
 * float evaluated as float (x86-64 SSE), denormals kept (Node never sets flush-to-zero). Vectorising lanes over
 * i does not reorder the terms of any one element. target_clones builds AVX-512, AVX2 and baseline variants.
 *
 * Note [block by block]: with more than two sources the partial sums of a block of BLOCK elements are kept in
 * `out` (16 KiB, in L1) while the next source is added, so every source is read once and `out` written once to
 * memory whatever N is; each element still sees its terms in rank order.
 *
 * Note [which NaN]: when both terms of an addition are NaNs the hardware returns one of their payloads, which one
 * depending on the operand order of the instruction — and a C compiler treats + as commutative, so it may swap
 * the operands of any loop (GCC 12 did, in some loops and not others). V8 on x86-64 returns the second term's
 * payload (measured in every tier: interpreter, baseline and optimised code), so each addition here computes the
 * sum and then, where the second term is a NaN, takes that NaN quieted, as the hardware would: an explicit
 * choice that no operand order changes, and three SIMD operations per element in a loop bound by memory. The
 * worker's self-check (worker/src/allreduce/native-rank-order-sum.ts) tests it against the JavaScript sum on
 * the machine before first use, NaN pairs included.
 */
#include "rank_order_sum.h"
#include "float_view.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#define BLOCK 4096
#define MAX_SOURCES 1024
#define QUIET_BIT 0x00400000u

/* a + b, and when b is a NaN, b's payload quieted: the NaN JavaScript gives (Note [which NaN]). */
static inline float add_as_javascript(float a, float b) {
  const float sum = a + b;
  uint32_t sum_bits, b_bits;
  memcpy(&sum_bits, &sum, sizeof sum);
  memcpy(&b_bits, &b, sizeof b);
  const uint32_t b_is_nan = -(uint32_t)(b != b);
  const uint32_t bits = (sum_bits & ~b_is_nan) | ((b_bits | QUIET_BIT) & b_is_nan);
  float result;
  memcpy(&result, &bits, sizeof result);
  return result;
}

static inline void add_pair(float* restrict out, const float* restrict a, const float* restrict b, size_t n) {
  for (size_t i = 0; i < n; i++) out[i] = add_as_javascript(a[i], b[i]);
}

static inline void add_into(float* restrict acc, const float* restrict b, size_t n) {
  for (size_t i = 0; i < n; i++) acc[i] = add_as_javascript(acc[i], b[i]);
}

/*
 * Note [out may be any source]: the all-reduce sums a piece of its own chunk straight into its gradient vector,
 * which is the source of its own rank — any position, not only the first. When `out` is sources[k] for k ≥ 1,
 * each block's partial sums are formed in a block of their own (on the stack, in L1) and copied to `out` once the
 * block has seen every source, so no source is overwritten before it is read; the terms of every element are
 * still added in rank order.
 */
CLONES static void sum_sources_into_source(float* out, const float* const* sources, size_t count, size_t n) {
  float block[BLOCK];
  for (size_t start = 0; start < n; start += BLOCK) {
    const size_t len = n - start < BLOCK ? n - start : BLOCK;
    add_pair(block, sources[0] + start, sources[1] + start, len);
    for (size_t k = 2; k < count; k++) add_into(block, sources[k] + start, len);
    memcpy(out + start, block, len * sizeof(float));
  }
}

/* count ≥ 2; out is sources[0] or overlaps none of the sources (checked by the caller). */
CLONES static void sum_sources(float* out, const float* const* sources, size_t count, size_t n) {
  const int in_place = out == sources[0];
  for (size_t start = 0; start < n; start += BLOCK) {
    const size_t len = n - start < BLOCK ? n - start : BLOCK;
    float* o = out + start;
    if (in_place) add_into(o, sources[1] + start, len);
    else add_pair(o, sources[0] + start, sources[1] + start, len);
    for (size_t k = 2; k < count; k++) add_into(o, sources[k] + start, len);
  }
}

static int overlaps(const float* a, const float* b, size_t n) {
  const uintptr_t x = (uintptr_t)a, y = (uintptr_t)b, bytes = (uintptr_t)n * sizeof(float);
  return n > 0 && x < y + bytes && y < x + bytes;
}

/* sumInRankOrder(out, sources): sources a non-empty array of Float32Arrays of out's length; out may be one of the
   sources itself (Note [out may be any source]) and must overlap no other source (a RangeError otherwise, before
   anything is written). */
napi_value SumInRankOrder(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 2) {
    napi_throw_type_error(env, NULL, "sumInRankOrder(out, sources) takes 2 arguments");
    return NULL;
  }
  float* out;
  size_t n;
  if (!float_view(env, argv[0], &out, &n, "sumInRankOrder: out must be a Float32Array")) return NULL;
  bool is_array = false;
  uint32_t count = 0;
  if (napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &count) != napi_ok) {
    napi_throw_type_error(env, NULL, "sumInRankOrder: sources must be an array of Float32Arrays");
    return NULL;
  }
  if (count == 0 || count > MAX_SOURCES) {
    napi_throw_range_error(env, NULL, "sumInRankOrder: needs 1 to 1024 sources");
    return NULL;
  }
  const float* stack_sources[64];
  const float** sources = count <= 64 ? stack_sources : malloc(count * sizeof *sources);
  if (sources == NULL) {
    napi_throw_error(env, NULL, "sumInRankOrder: out of memory");
    return NULL;
  }
  const char* error = NULL;
  /* The source `out` is, when it is one of them at a position after the first. */
  int out_is_later_source = 0;
  for (uint32_t k = 0; k < count && error == NULL; k++) {
    napi_value element;
    float* data;
    size_t length;
    if (napi_get_element(env, argv[1], k, &element) != napi_ok) {
      error = "sumInRankOrder: cannot read a source";
      break;
    }
    if (!float_view(env, element, &data, &length, "sumInRankOrder: every source must be a Float32Array")) break;
    if (length != n) error = "sumInRankOrder: every source must have out's length";
    else if (overlaps(out, data, n) && data != out) error = "sumInRankOrder: out may be one of the sources itself and must not overlap any other";
    if (k > 0 && data == out && n > 0) out_is_later_source = 1;
    sources[k] = data;
  }
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (error != NULL && !pending) napi_throw_range_error(env, NULL, error);
  if (error == NULL && !pending) {
    if (count == 1) {
      if (sources[0] != out) for (size_t i = 0; i < n; i++) out[i] = sources[0][i];
    } else if (out_is_later_source) {
      sum_sources_into_source(out, sources, count, n);
    } else {
      sum_sources(out, sources, count, n);
    }
  }
  if (sources != stack_sources) free(sources);
  return NULL;
}
