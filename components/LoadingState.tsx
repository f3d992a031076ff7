// What fills the page while the session is being restored, or when that failed.
export function Loading({ text }: { text: string }) {
  return (
    <div class="loading" role="status">
      <span class="spinner" aria-hidden="true" />
      <p>{text}</p>
    </div>
  );
}

export interface LoadFailedProps {
  message: string;
  onRetry(): void;
  onStartOver(): void;
}

export function LoadFailed({ message, onRetry, onStartOver }: LoadFailedProps) {
  return (
    <section class="notice" aria-labelledby="load-failed-title">
      <h2 id="load-failed-title">Couldn't load your conversation</h2>
      <p>{message}</p>
      <div class="notice-actions">
        <button type="button" class="primary" onClick={onRetry}>Try again</button>
        <button type="button" class="secondary" onClick={onStartOver}>Start over</button>
      </div>
    </section>
  );
}
