{
  "targets": [
    {
      "target_name": "gradmesh_native",
      "sources": ["sgemm.c"],
      "cflags": ["-O2", "-std=c11", "-Wall", "-Wextra"],
      "libraries": ["-lopenblas"]
    }
  ]
}
