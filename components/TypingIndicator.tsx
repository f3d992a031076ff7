export function TypingIndicator() {
  return (
    <div class="typing">
      <span class="sr-only">The assistant is writing</span>
      <span class="typing-dot" aria-hidden="true" />
      <span class="typing-dot" aria-hidden="true" />
      <span class="typing-dot" aria-hidden="true" />
    </div>
  );
}
