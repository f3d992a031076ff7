// The first screen: a name buys a session token.
import { useEffect, useRef, useState } from "preact/hooks";

export interface WelcomeProps {
  initialName: string;
  maxChars: number;
  error: string | null;
  starting: boolean;
  onStart(name: string): void;
}

export function Welcome({ initialName, maxChars, error, starting, onStart }: WelcomeProps) {
  const [name, setName] = useState(initialName);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  return (
    <section class="welcome" aria-labelledby="welcome-title">
      <h2 id="welcome-title">Welcome</h2>
      <p class="welcome-lead">Tell the assistant what to call you, and start chatting.</p>
      <form
        class="welcome-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          onStart(name);
        }}
      >
        <label for="welcome-name">Your name</label>
        <input
          id="welcome-name"
          ref={input}
          name="name"
          autocomplete="nickname"
          maxLength={maxChars}
          value={name}
          aria-invalid={error ? "true" : undefined}
          aria-describedby={error ? "welcome-error" : undefined}
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
        />
        {error && <p id="welcome-error" class="field-error" role="alert">{error}</p>}
        <button type="submit" class="primary" disabled={starting}>
          {starting ? "Starting…" : "Start chatting"}
        </button>
      </form>
    </section>
  );
}
