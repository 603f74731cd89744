/*
 * Adam's fused update in place, for the native backend: the same float64 expressions in the same
 * order as the reference (shared/src/kernels/reference/optimizer.ts) and the WebAssembly kernel
 * (shared/assembly/optimizer.ts), rounded to float32 once, so parameters and state equal theirs bit
 * for bit (Note [exact batch norm, native] in batch_norm.c says why the compiled loop keeps that:
 * no reassociation, no FMA, IEEE division and square root). The step runs on the main thread
 * between steps, where its three divisions and a square root per element made it a serial part
 * of every step; eight float64 lanes (AVX-512) instead of two shorten that part.
 */
#include "adam.h"
#include "float_view.h"
#include <math.h>
#include <stdint.h>

/*
 * g ← g + l2·θ; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g·g;
 * θ ← θ·decay − (lr·(m/c1)) / (√(v/c2) + ε).
 */
__attribute__((target_clones("avx512f", "avx2", "default"))) static void adam_step(
    float* restrict p, const float* restrict g, float* restrict m, float* restrict v, size_t n, double lr, double b1, double one_minus_b1,
    double b2, double one_minus_b2, double eps, double c1, double c2, double decay, double l2) {
  for (size_t i = 0; i < n; i++) {
    const double theta = (double)p[i];
    const double gi = (double)g[i] + l2 * theta;
    const double mi = b1 * (double)m[i] + one_minus_b1 * gi;
    const double vi = b2 * (double)v[i] + one_minus_b2 * gi * gi;
    m[i] = (float)mi;
    v[i] = (float)vi;
    p[i] = (float)(theta * decay - (lr * (mi / c1)) / (sqrt(vi / c2) + eps));
  }
}

/* adam(p, g, m, v, lr, b1, oneMinusB1, b2, oneMinusB2, eps, c1, c2, decay, l2): all four views of one length. */
napi_value Adam(napi_env env, napi_callback_info info) {
  size_t argc = 14;
  napi_value argv[14];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 14) {
    napi_throw_type_error(env, NULL, "adam(p, g, m, v, lr, b1, oneMinusB1, b2, oneMinusB2, eps, c1, c2, decay, l2) takes 14 arguments");
    return NULL;
  }
  float* view[4];
  size_t length[4];
  for (int i = 0; i < 4; i++) {
    if (!float_view(env, argv[i], &view[i], &length[i], "adam: p, g, m and v must be Float32Arrays")) return NULL;
  }
  if (length[1] != length[0] || length[2] != length[0] || length[3] != length[0]) {
    napi_throw_range_error(env, NULL, "adam: p, g, m and v must have the same length");
    return NULL;
  }
  double s[10];
  for (int i = 0; i < 10; i++) {
    if (napi_get_value_double(env, argv[4 + i], &s[i]) != napi_ok) {
      napi_throw_type_error(env, NULL, "adam: the step's scalars must be numbers");
      return NULL;
    }
  }
  adam_step(view[0], view[1], view[2], view[3], length[0], s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9]);
  return NULL;
}
