/**
 * The wire protocol version, carried by every control envelope (`v`) and every data piece header (byte 0).
 * Bump it when a message or the piece header changes incompatibly: peers of another version are then
 * dropped and counted instead of being misread. Must stay ≤ 255 (one header byte).
 */
export const PROTOCOL_VERSION = 2;
// 2: `ready.stepWindow`, and a replica may hold several steps sent ahead (Note [steps are sent ahead]).
