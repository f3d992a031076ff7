// Every size limit of the web server's edges in one place (../shared/contract.md names them).

/** Request bodies: names, titles and small JSON; larger ones get 413 payload_too_large. */
export const MAX_BODY_BYTES = 16 * 1024;
/** WebSocket text frames; larger ones close the socket with 1009. */
export const MAX_FRAME_BYTES = 64 * 1024;
/** A socket whose client answers no ping for this long is closed (stalled or half-sent frames). */
export const SOCKET_IDLE_TIMEOUT_S = 30;
