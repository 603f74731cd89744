{
  "targets": [
    {
      "target_name": "gradmesh_native",
      "sources": ["sgemm.c", "batch_norm.c"],
      "cflags": ["-O3", "-std=c11", "-ffp-contract=off", "-Wall", "-Wextra"],
      "libraries": ["-lopenblas"]
    }
  ]
}
