/*
 * BatchNorm training forward and backward over x viewed as [m, c], for the native backend.
 *
 * Note [exact batch norm, native]: the same float64 arithmetic as the reference
 * (shared/src/kernels/reference/normalization.ts) and the WebAssembly kernels
 * (shared/assembly/normalization.ts): per-channel sums in row order, every expression in the
 * reference's order, rounded to float32 once. The loops run across channels, so the compiler
 * vectorises them without reassociating anything; target_clones builds AVX-512, AVX2 and baseline
 * versions and the loader picks one for the CPU, and cflags keep -ffp-contract=off (no FMA), so
 * the results equal the reference's bit for bit on every CPU. Four float64 lanes (AVX2) or eight
 * (AVX-512) instead of WebAssembly's two are what makes this faster than the WebAssembly kernels.
 */
#include "batch_norm.h"
#include "float_view.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#define GROUP 4

/* acc[ch] = Σ x[r, ch] over rows in order; rows four at a time (Note [row groups] in column-sums.ts). */
CLONES static void column_sums(const float* restrict x, int32_t m, int32_t c, double* restrict acc) {
  memset(acc, 0, sizeof(double) * (size_t)c);
  int32_t r = 0;
  for (; r + GROUP <= m; r += GROUP) {
    const float* x0 = x + (size_t)r * c;
    const float* x1 = x0 + c;
    const float* x2 = x1 + c;
    const float* x3 = x2 + c;
    for (int32_t ch = 0; ch < c; ch++) {
      double s = acc[ch];
      s += (double)x0[ch];
      s += (double)x1[ch];
      s += (double)x2[ch];
      s += (double)x3[ch];
      acc[ch] = s;
    }
  }
  for (; r < m; r++) {
    const float* row = x + (size_t)r * c;
    for (int32_t ch = 0; ch < c; ch++) acc[ch] += (double)row[ch];
  }
}

/* acc[ch] = Σ (x[r, ch] − mu[ch])² over rows in order. */
CLONES static void column_squares(const float* restrict x, int32_t m, int32_t c, const double* restrict mu, double* restrict acc) {
  memset(acc, 0, sizeof(double) * (size_t)c);
  for (int32_t r = 0; r < m; r++) {
    const float* row = x + (size_t)r * c;
    for (int32_t ch = 0; ch < c; ch++) {
      const double d = (double)row[ch] - mu[ch];
      acc[ch] += d * d;
    }
  }
}

/* out = γ·(x − mu)·invStd + β, in that order, rounded once. */
CLONES static void normalize(const float* restrict x, const float* restrict gamma, const float* restrict beta, const double* restrict mu,
                             const double* restrict inv_std, float* restrict out, int32_t m, int32_t c) {
  for (int32_t r = 0; r < m; r++) {
    const float* row = x + (size_t)r * c;
    float* dst = out + (size_t)r * c;
    for (int32_t ch = 0; ch < c; ch++) dst[ch] = (float)((double)gamma[ch] * ((double)row[ch] - mu[ch]) * inv_std[ch] + (double)beta[ch]);
  }
}

/* Σdy and Σdy·x̂ per channel, rows in order. */
CLONES static void gradient_sums(const float* restrict dy, const float* restrict x, int32_t m, int32_t c, const double* restrict mu,
                                 const double* restrict inv_std, double* restrict sum_dy, double* restrict sum_dy_xhat) {
  memset(sum_dy, 0, sizeof(double) * (size_t)c);
  memset(sum_dy_xhat, 0, sizeof(double) * (size_t)c);
  for (int32_t r = 0; r < m; r++) {
    const float* d = dy + (size_t)r * c;
    const float* row = x + (size_t)r * c;
    for (int32_t ch = 0; ch < c; ch++) {
      const double g = (double)d[ch];
      sum_dy[ch] += g;
      sum_dy_xhat[ch] += g * ((double)row[ch] - mu[ch]) * inv_std[ch];
    }
  }
}

/* dx = ((γ·invStd)/M)·(M·dy − Σdy − x̂·Σdy·x̂), x̂ = (x − μ)·invStd; factor[ch] = (γ·invStd)/M. */
CLONES static void input_gradient(const float* restrict dy, const float* restrict x, int32_t m, int32_t c, const double* restrict mu,
                                  const double* restrict inv_std, const double* restrict sum_dy, const double* restrict sum_dy_xhat,
                                  const double* restrict factor, float* restrict dx) {
  const double rows = (double)m;
  for (int32_t r = 0; r < m; r++) {
    const float* d = dy + (size_t)r * c;
    const float* row = x + (size_t)r * c;
    float* out = dx + (size_t)r * c;
    for (int32_t ch = 0; ch < c; ch++) {
      const double xhat = ((double)row[ch] - mu[ch]) * inv_std[ch];
      out[ch] = (float)(factor[ch] * (rows * (double)d[ch] - sum_dy[ch] - xhat * sum_dy_xhat[ch]));
    }
  }
}


/* Reads `count` Float32Array arguments; the first is [m, c] (its length must be a multiple of c). */
static int views(napi_env env, napi_value* argv, int count, float** data, size_t* length, const char* name) {
  for (int i = 0; i < count; i++) {
    if (!float_view(env, argv[i], &data[i], &length[i], name)) return 0;
  }
  return 1;
}

/* Note [bounds] of sgemm.c: every view's length is checked before a kernel reads or writes it. */
static int sizes_ok(napi_env env, const size_t* length, const int* rows_of, int count, int32_t m, int32_t c, const char* what) {
  for (int i = 0; i < count; i++) {
    const int64_t need = rows_of[i] ? (int64_t)m * c : (int64_t)c;
    if ((int64_t)length[i] < need) {
      napi_throw_range_error(env, NULL, what);
      return 0;
    }
  }
  return 1;
}

/* batchNormTrain(x, gamma, beta, eps, out, mean, variance, m, c) */
napi_value BatchNormTrain(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 9) {
    napi_throw_type_error(env, NULL, "batchNormTrain(x, gamma, beta, eps, out, mean, variance, m, c) takes 9 arguments");
    return NULL;
  }
  napi_value arrays[6] = {argv[0], argv[1], argv[2], argv[4], argv[5], argv[6]};
  float* v[6];
  size_t len[6];
  if (!views(env, arrays, 6, v, len, "batchNormTrain: x, gamma, beta, out, mean and variance must be Float32Arrays")) return NULL;
  double eps;
  int32_t m, c;
  if (napi_get_value_double(env, argv[3], &eps) != napi_ok || napi_get_value_int32(env, argv[7], &m) != napi_ok ||
      napi_get_value_int32(env, argv[8], &c) != napi_ok || m < 1 || c < 1) {
    napi_throw_range_error(env, NULL, "batchNormTrain: eps must be a number and m, c positive integers");
    return NULL;
  }
  const int rows_of[6] = {1, 0, 0, 1, 0, 0};
  if (!sizes_ok(env, len, rows_of, 6, m, c, "batchNormTrain: a view is shorter than [m, c] or [c]")) return NULL;
  double* ws = malloc(sizeof(double) * 2 * (size_t)c);
  if (!ws) {
    napi_throw_error(env, NULL, "batchNormTrain: out of memory");
    return NULL;
  }
  double* mu = ws;
  double* stat = ws + c;
  const double rows = (double)m;
  column_sums(v[0], m, c, mu);
  for (int32_t ch = 0; ch < c; ch++) mu[ch] = mu[ch] / rows;
  column_squares(v[0], m, c, mu, stat);
  for (int32_t ch = 0; ch < c; ch++) {
    const double sigma2 = stat[ch] / rows;
    v[4][ch] = (float)mu[ch];
    v[5][ch] = (float)sigma2;
    stat[ch] = 1 / sqrt(sigma2 + eps);
  }
  normalize(v[0], v[1], v[2], mu, stat, v[3], m, c);
  free(ws);
  return NULL;
}

/* batchNormBackward(dy, x, gamma, mean, variance, eps, dx, dGamma, dBeta, m, c) */
napi_value BatchNormBackward(napi_env env, napi_callback_info info) {
  size_t argc = 11;
  napi_value argv[11];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 11) {
    napi_throw_type_error(env, NULL, "batchNormBackward(dy, x, gamma, mean, variance, eps, dx, dGamma, dBeta, m, c) takes 11 arguments");
    return NULL;
  }
  napi_value arrays[8] = {argv[0], argv[1], argv[2], argv[3], argv[4], argv[6], argv[7], argv[8]};
  float* v[8];
  size_t len[8];
  if (!views(env, arrays, 8, v, len, "batchNormBackward: dy, x, gamma, mean, variance, dx, dGamma and dBeta must be Float32Arrays")) return NULL;
  double eps;
  int32_t m, c;
  if (napi_get_value_double(env, argv[5], &eps) != napi_ok || napi_get_value_int32(env, argv[9], &m) != napi_ok ||
      napi_get_value_int32(env, argv[10], &c) != napi_ok || m < 1 || c < 1) {
    napi_throw_range_error(env, NULL, "batchNormBackward: eps must be a number and m, c positive integers");
    return NULL;
  }
  const int rows_of[8] = {1, 1, 0, 0, 0, 1, 0, 0};
  if (!sizes_ok(env, len, rows_of, 8, m, c, "batchNormBackward: a view is shorter than [m, c] or [c]")) return NULL;
  double* ws = malloc(sizeof(double) * 5 * (size_t)c);
  if (!ws) {
    napi_throw_error(env, NULL, "batchNormBackward: out of memory");
    return NULL;
  }
  double *mu = ws, *inv_std = ws + c, *sum_dy = ws + 2 * c, *sum_dy_xhat = ws + 3 * c, *factor = ws + 4 * c;
  const double rows = (double)m;
  for (int32_t ch = 0; ch < c; ch++) {
    inv_std[ch] = 1 / sqrt((double)v[4][ch] + eps);
    mu[ch] = (double)v[3][ch];
    factor[ch] = ((double)v[2][ch] * inv_std[ch]) / rows;
  }
  gradient_sums(v[0], v[1], m, c, mu, inv_std, sum_dy, sum_dy_xhat);
  input_gradient(v[0], v[1], m, c, mu, inv_std, sum_dy, sum_dy_xhat, factor, v[5]);
  for (int32_t ch = 0; ch < c; ch++) {
    v[6][ch] = (float)sum_dy_xhat[ch];
    v[7][ch] = (float)sum_dy[ch];
  }
  free(ws);
  return NULL;
}
