// Before a disconnected page's session runs out: how long is left, a way to keep the chat (a
// download from what the page holds), and a way back to the server (which keeps it alive).
export interface ExpiryWarningProps {
  msLeft: number;
  onDownload(): void;
  onReconnect(): void;
}

export function ExpiryWarning({ msLeft, onDownload, onReconnect }: ExpiryWarningProps) {
  const minutes = Math.ceil(msLeft / 60_000);
  const left = msLeft < 60_000
    ? "less than a minute"
    : `${minutes} minute${minutes > 1 ? "s" : ""}`;
  return (
    <div class="expiry-warning" role="alert">
      <p>
        The connection is lost and this session expires in{" "}
        {left}. Save the conversation now, or reconnect to keep it.
      </p>
      <div class="notice-actions">
        <button type="button" class="secondary small" onClick={onDownload}>
          Download this chat
        </button>
        <button type="button" class="primary small" onClick={onReconnect}>Reconnect</button>
      </div>
    </div>
  );
}
