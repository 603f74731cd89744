export { createSegment, NONCE_BYTES, openPeerSegment, SEGMENT_HEADER_BYTES, sharedMemoryMapper, sweepStaleSegments, type OwnSegment, type SegmentMapper } from './segment.js';
export { hostKey } from './host-key.js';
