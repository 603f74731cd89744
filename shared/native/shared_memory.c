/*
 * mapSharedFile(fd, bytes, writable): the first `bytes` of an open file mapped MAP_SHARED into an external
 * ArrayBuffer, unmapped when the buffer is collected.
 * reserveFileRange(fd, offset, bytes): reserves those pages of the file (posix_fallocate) and says whether it could.
 * unmapShared(buffer): detaches a buffer mapSharedFile returned and unmaps it now (Note [unmapped when closed]).
 *
 * Note [reserve before writing]: a tmpfs file is sparse, and writing to a page the tmpfs has no room for raises
 * SIGBUS (a container's /dev/shm is 64 MiB by default). So the creator reserves the bytes of a slot before it
 * first writes them, and a slot it cannot reserve is not used (the frame goes over the links). Reserving as slots
 * are used, not the whole segment at once, keeps a small model's segment at the few pages its frames touch. The worker's same-host all-reduce maps its own segment
 * writable and its peers' segments read-only (worker/src/allreduce/shared-memory/), so a mistake on one side can
 * never write into another process's memory.
 *
 * Note [a mapping never outgrows its file]: touching a page of a MAP_SHARED mapping that lies past the end of the
 * file raises SIGBUS and kills the process, so the file must be at least `bytes` long when it is mapped (checked
 * here with fstat, a RangeError otherwise). The file's owner could still shrink it afterwards; only processes of
 * the same user can (the segments are created 0600), and those are trusted as much as the training itself.
 */
#define _GNU_SOURCE
#include "shared_memory.h"
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <sys/stat.h>

typedef struct {
  void* base;
  size_t bytes;
} mapping;

static void unmap(napi_env env, void* data, void* hint) {
  (void)env;
  (void)data;
  mapping* m = (mapping*)hint;
  if (m->base != NULL) munmap(m->base, m->bytes);
  free(m);
}

napi_value MapSharedFile(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3) {
    napi_throw_type_error(env, NULL, "mapSharedFile(fd, bytes, writable) takes 3 arguments");
    return NULL;
  }
  int32_t fd;
  double bytes_value;
  bool writable;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "mapSharedFile: fd must be an open file descriptor");
    return NULL;
  }
  if (napi_get_value_double(env, argv[1], &bytes_value) != napi_ok || !(bytes_value >= 1) || bytes_value > (double)(1ull << 40) ||
      bytes_value != (double)(uint64_t)bytes_value) {
    napi_throw_range_error(env, NULL, "mapSharedFile: bytes must be a whole number from 1 to 2^40");
    return NULL;
  }
  if (napi_get_value_bool(env, argv[2], &writable) != napi_ok) {
    napi_throw_type_error(env, NULL, "mapSharedFile: writable must be a boolean");
    return NULL;
  }
  const size_t bytes = (size_t)bytes_value;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    napi_throw_error(env, NULL, "mapSharedFile: fstat failed on the descriptor");
    return NULL;
  }
  if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < (uint64_t)bytes) {
    /* Note [a mapping never outgrows its file] */
    napi_throw_range_error(env, NULL, "mapSharedFile: the file is shorter than the mapping (or not a regular file)");
    return NULL;
  }
  void* base = mmap(NULL, bytes, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    napi_throw_error(env, NULL, "mapSharedFile: mmap failed");
    return NULL;
  }
  mapping* m = (mapping*)malloc(sizeof *m);
  if (m == NULL) {
    munmap(base, bytes);
    napi_throw_error(env, NULL, "mapSharedFile: out of memory");
    return NULL;
  }
  m->base = base;
  m->bytes = bytes;
  napi_value result;
  if (napi_create_external_arraybuffer(env, base, bytes, unmap, m, &result) != napi_ok) {
    munmap(base, bytes);
    free(m);
    napi_throw_error(env, NULL, "mapSharedFile: cannot wrap the mapping in an ArrayBuffer");
    return NULL;
  }
  /* The buffer carries its mapping record, for unmapShared; the buffer's own finalizer frees it. */
  if (napi_wrap(env, result, m, NULL, NULL, NULL) != napi_ok) {
    napi_throw_error(env, NULL, "mapSharedFile: cannot tag the buffer");
    return NULL;
  }
  return result;
}

/*
 * Note [unmapped when closed]: a mapping left to the garbage collector lives as long as its ArrayBuffer object,
 * which V8 does not know holds tens of MiB (the pages are not on its heap), and a segment's pages stay allocated
 * in the tmpfs while any mapping of them exists, unlinked or not. So a transport unmaps its segments when it closes:
 * the buffer is detached first (every view of it then has length 0, so no JavaScript can reach the freed range),
 * the record is marked so that the finalizer does not unmap the range a second time, then the range is unmapped.
 * Unmapping a buffer twice, or one that mapSharedFile did not return, does nothing.
 */
napi_value UnmapShared(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  bool is_buffer = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 || napi_is_arraybuffer(env, argv[0], &is_buffer) != napi_ok || !is_buffer) {
    napi_throw_type_error(env, NULL, "unmapShared(buffer) takes an ArrayBuffer from mapSharedFile");
    return NULL;
  }
  mapping* m = NULL;
  if (napi_remove_wrap(env, argv[0], (void**)&m) != napi_ok || m == NULL || m->base == NULL) {
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    return undefined;
  }
  void* base = m->base;
  const size_t bytes = m->bytes;
  m->base = NULL; /* the finalizer frees the record only */
  if (napi_detach_arraybuffer(env, argv[0]) != napi_ok) {
    m->base = base;
    napi_throw_error(env, NULL, "unmapShared: the buffer cannot be detached");
    return NULL;
  }
  munmap(base, bytes);
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  return undefined;
}

napi_value ReserveFileRange(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd;
  int64_t offset, bytes;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 3 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_int64(env, argv[1], &offset) != napi_ok || napi_get_value_int64(env, argv[2], &bytes) != napi_ok || fd < 0 || offset < 0 || bytes < 1) {
    napi_throw_type_error(env, NULL, "reserveFileRange(fd, offset, bytes) takes a descriptor, an offset ≥ 0 and a length ≥ 1");
    return NULL;
  }
  /* Note [reserve before writing] */
  napi_value result;
  if (napi_get_boolean(env, posix_fallocate(fd, (off_t)offset, (off_t)bytes) == 0, &result) != napi_ok) return NULL;
  return result;
}
