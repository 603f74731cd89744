/*
 * gradmesh's native kernels: cblas_sgemm (OpenBLAS) on float32 views of the pool's shared
 * WebAssembly memory, BatchNorm's training kernels (batch_norm.c), Adam's update (adam.c) and the all-reduce's rank-order sum
 * (rank_order_sum.c). Context-aware (NAPI_MODULE_INIT, no global state), so every pool thread
 * (a worker_thread) loads it. The caller chooses OpenBLAS's core type and thread count through
 * the environment BEFORE the first load (shared/src/kernels/native/openblas-environment.ts).
 *
 * Note [bounds]: the views come from JavaScript, so every operand's extent is checked against its
 * view's length before OpenBLAS touches it; a wrong shape is a thrown RangeError, never a stray write.
 */
#include <node_api.h>
#include <cblas.h>
#include "adam.h"
#include "batch_norm.h"
#include "rank_order_sum.h"
#include "bulk_floats.h"
#include "shared_memory.h"
#include "float_view.h"
#include <stdint.h>

#define CHECK(call)                                                  \
  do {                                                               \
    if ((call) != napi_ok) {                                         \
      napi_throw_error(env, NULL, "gradmesh_native: " #call " failed"); \
      return NULL;                                                   \
    }                                                                \
  } while (0)


/* Elements a row-major [rows, cols] operand with row stride ld spans. */
static int64_t extent(int32_t rows, int32_t cols, int32_t ld) {
  if (rows == 0 || cols == 0) return 0;
  return (int64_t)(rows - 1) * ld + cols;
}

/*
 * sgemm(a, b, c, m, n, k, lda, ldb, ldc, transA, transB, beta):
 * c[m, n] = op(a)[m, k] · op(b)[k, n] + beta · c, all row-major.
 */
static napi_value Sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 12) {
    napi_throw_type_error(env, NULL, "sgemm(a, b, c, m, n, k, lda, ldb, ldc, transA, transB, beta) takes 12 arguments");
    return NULL;
  }
  float *a, *b, *c;
  size_t la, lb, lc;
  if (!float_view(env, argv[0], &a, &la, "sgemm: a must be a Float32Array")) return NULL;
  if (!float_view(env, argv[1], &b, &lb, "sgemm: b must be a Float32Array")) return NULL;
  if (!float_view(env, argv[2], &c, &lc, "sgemm: c must be a Float32Array")) return NULL;
  int32_t m, n, k, lda, ldb, ldc;
  bool transA, transB;
  double beta;
  CHECK(napi_get_value_int32(env, argv[3], &m));
  CHECK(napi_get_value_int32(env, argv[4], &n));
  CHECK(napi_get_value_int32(env, argv[5], &k));
  CHECK(napi_get_value_int32(env, argv[6], &lda));
  CHECK(napi_get_value_int32(env, argv[7], &ldb));
  CHECK(napi_get_value_int32(env, argv[8], &ldc));
  CHECK(napi_get_value_bool(env, argv[9], &transA));
  CHECK(napi_get_value_bool(env, argv[10], &transB));
  CHECK(napi_get_value_double(env, argv[11], &beta));
  if (m < 0 || n < 0 || k < 0 || lda < (transA ? m : k) || lda < 1 || ldb < (transB ? k : n) || ldb < 1 || ldc < n || ldc < 1) {
    napi_throw_range_error(env, NULL, "sgemm: negative size or a leading dimension below the row length");
    return NULL;
  }
  /* Note [bounds] */
  if (extent(transA ? k : m, transA ? m : k, lda) > (int64_t)la || extent(transB ? n : k, transB ? k : n, ldb) > (int64_t)lb ||
      extent(m, n, ldc) > (int64_t)lc) {
    napi_throw_range_error(env, NULL, "sgemm: an operand extends past the end of its Float32Array");
    return NULL;
  }
  if (m == 0 || n == 0) return NULL;
  cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, m, n, k, 1.0f, a, lda, b, ldb,
              (float)beta, c, ldc);
  return NULL;
}

static napi_value CoreName(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  CHECK(napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &result));
  return result;
}

static napi_value Config(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  CHECK(napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &result));
  return result;
}

static napi_value Threads(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result;
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &result));
  return result;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
      {"sgemm", NULL, Sgemm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"coreName", NULL, CoreName, NULL, NULL, NULL, napi_enumerable, NULL},
      {"config", NULL, Config, NULL, NULL, NULL, napi_enumerable, NULL},
      {"threads", NULL, Threads, NULL, NULL, NULL, napi_enumerable, NULL},
      {"batchNormTrain", NULL, BatchNormTrain, NULL, NULL, NULL, napi_enumerable, NULL},
      {"batchNormBackward", NULL, BatchNormBackward, NULL, NULL, NULL, napi_enumerable, NULL},
      {"adam", NULL, Adam, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sumInRankOrder", NULL, SumInRankOrder, NULL, NULL, NULL, napi_enumerable, NULL},
      {"copyFloats", NULL, CopyFloats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"allFinite", NULL, AllFinite, NULL, NULL, NULL, napi_enumerable, NULL},
      {"mapSharedFile", NULL, MapSharedFile, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reserveFileRange", NULL, ReserveFileRange, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unmapShared", NULL, UnmapShared, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties) != napi_ok) return NULL;
  return exports;
}
