/* BatchNorm's training kernels for the native backend (batch_norm.c). */
#ifndef GRADMESH_BATCH_NORM_H
#define GRADMESH_BATCH_NORM_H
#include <node_api.h>

napi_value BatchNormTrain(napi_env env, napi_callback_info info);
napi_value BatchNormBackward(napi_env env, napi_callback_info info);

#endif
