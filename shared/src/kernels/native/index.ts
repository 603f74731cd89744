/** The native backend: OpenBLAS GEMMs through an N-API addon, WebAssembly for the rest. */
export { createNativeBackend } from './backend.js';
export { nativeAvailability, nativeFallbackLine } from './availability.js';
export type { NativeAvailability } from './availability.js';
export { nativeAddon, NATIVE_ADDON_URL } from './addon.js';
export type { NativeAddon } from './addon.js';
export { openblasEnvironment } from './openblas-environment.js';
