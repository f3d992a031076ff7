// Shown in place of the composer once the session has expired: one click starts a new one, and
// the conversation the page still shows can be downloaded first.
export interface ExpiryNoticeProps {
  notice: string;
  name: string;
  starting: boolean;
  onNewSession(): void;
  onChangeName(): void;
  /** Present when the page holds messages worth keeping. */
  onDownload?(): void;
}

export function ExpiryNotice(
  { notice, name, starting, onNewSession, onChangeName, onDownload }: ExpiryNoticeProps,
) {
  return (
    <section class="notice" aria-labelledby="expiry-title">
      <h2 id="expiry-title">Session expired</h2>
      <p>{notice}</p>
      <div class="notice-actions">
        {name
          ? (
            <button type="button" class="primary" disabled={starting} onClick={onNewSession}>
              {starting ? "Starting…" : `Start a new session as ${name}`}
            </button>
          )
          : null}
        <button type="button" class="secondary" onClick={onChangeName}>
          {name ? "Use a different name" : "Start a new session"}
        </button>
        {onDownload && (
          <button type="button" class="secondary" onClick={onDownload}>
            Download this chat
          </button>
        )}
      </div>
    </section>
  );
}
