// Shown in place of the composer once the session has expired: one click starts a new one.
export interface ExpiryNoticeProps {
  notice: string;
  name: string;
  starting: boolean;
  onNewSession(): void;
  onChangeName(): void;
}

export function ExpiryNotice(
  { notice, name, starting, onNewSession, onChangeName }: ExpiryNoticeProps,
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
      </div>
    </section>
  );
}
