/* Adam's fused update for the native backend (adam.c). */
#ifndef GRADMESH_ADAM_H
#define GRADMESH_ADAM_H
#include <node_api.h>

napi_value Adam(napi_env env, napi_callback_info info);

#endif
