/* A file of a tmpfs (/dev/shm) mapped into an ArrayBuffer, for the all-reduce between ranks of one host (shared_memory.c). */
#ifndef GRADMESH_SHARED_MEMORY_H
#define GRADMESH_SHARED_MEMORY_H
#include <node_api.h>

napi_value MapSharedFile(napi_env env, napi_callback_info info);
napi_value ReserveFileRange(napi_env env, napi_callback_info info);
napi_value UnmapShared(napi_env env, napi_callback_info info);

#endif
