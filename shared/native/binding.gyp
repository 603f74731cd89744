{
  "targets": [
    {
      "target_name": "gradmesh_native",
      "sources": ["sgemm.c", "batch_norm.c", "adam.c", "rank_order_sum.c", "bulk_floats.c", "shared_memory.c"],
      "cflags": ["-O3", "-std=c11", "-ffp-contract=off", "-fno-math-errno", "-Wall", "-Wextra"],
      "libraries": ["-lopenblas"]
    }
  ]
}
