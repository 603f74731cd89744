/* Whole-buffer copies and finiteness checks for the worker's main thread (bulk_floats.c). */
#ifndef GRADMESH_BULK_FLOATS_H
#define GRADMESH_BULK_FLOATS_H
#include <node_api.h>

napi_value CopyFloats(napi_env env, napi_callback_info info);
napi_value AllFinite(napi_env env, napi_callback_info info);

#endif
