/* One Float32Array argument as a pointer and a length, for every entry point of the addon. */
#ifndef GRADMESH_FLOAT_VIEW_H
#define GRADMESH_FLOAT_VIEW_H
#include <node_api.h>
#include <stdbool.h>

/* Stores the array's data and element count; throws a TypeError with `what` and returns 0 when `value` is not a
   Float32Array. */
static inline int float_view(napi_env env, napi_value value, float** data, size_t* length, const char* what) {
  bool is_typed = false;
  napi_typedarray_type type;
  void* raw = NULL;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, value, &type, length, &raw, NULL, NULL) != napi_ok || type != napi_float32_array) {
    napi_throw_type_error(env, NULL, what);
    return 0;
  }
  *data = (float*)raw;
  return 1;
}
#endif
