/* The all-reduce's rank-order sum for the worker's main thread (rank_order_sum.c). */
#ifndef GRADMESH_RANK_ORDER_SUM_H
#define GRADMESH_RANK_ORDER_SUM_H
#include <node_api.h>

napi_value SumInRankOrder(napi_env env, napi_callback_info info);

#endif
