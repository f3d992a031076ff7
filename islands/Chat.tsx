// The chat island: rendered on the server in its "boot" state, hydrated in the browser, where it
// restores or starts a session. All state lives in the ChatStore; components only display it.
import { useEffect, useMemo } from "preact/hooks";
import { ChatStore } from "./chat/store.ts";
import { ConnectionBadge } from "../components/ConnectionBadge.tsx";
import { Composer } from "../components/Composer.tsx";
import { ExpiryNotice } from "../components/ExpiryNotice.tsx";
import { HealthBanner } from "../components/HealthBanner.tsx";
import { LoadFailed, Loading } from "../components/LoadingState.tsx";
import { MessageList } from "../components/MessageList.tsx";
import { Toasts } from "../components/Toasts.tsx";
import { Welcome } from "../components/Welcome.tsx";

export interface ChatProps {
  maxMessageChars: number;
  maxNameChars: number;
}

export default function Chat({ maxMessageChars, maxNameChars }: ChatProps) {
  const store = useMemo(() => new ChatStore({ maxChars: maxMessageChars }), [maxMessageChars]);
  useEffect(() => {
    store.boot();
    return () => store.dispose();
  }, [store]);

  const phase = store.phase.value;
  const inChat = phase === "chat";
  return (
    <div class="app" data-phase={phase}>
      <header class="topbar">
        <div class="brand">
          <span class="logo" aria-hidden="true" />
          <h1>Chat</h1>
          {inChat && store.name.value && <span class="who">with {store.name.value}</span>}
        </div>
        {inChat && (
          <ConnectionBadge
            state={store.link.value}
            onRetry={() => store.retryConnection()}
          />
        )}
      </header>
      <HealthBanner health={store.health.current.value} />
      <main class="main" id="main">
        {phase === "boot" && <Loading text="Loading…" />}
        {phase === "loading" && <Loading text="Loading your conversation…" />}
        {phase === "load_failed" && (
          <LoadFailed
            message={store.loadError.value ?? ""}
            onRetry={() => store.loadHistory()}
            onStartOver={() => store.changeName()}
          />
        )}
        {phase === "welcome" && (
          <Welcome
            initialName={store.name.value}
            maxChars={maxNameChars}
            error={store.formError.value}
            starting={store.starting.value}
            onStart={(name) => store.start(name)}
          />
        )}
        {inChat && (
          <>
            <MessageList
              messages={store.messages.value}
              busy={store.busy.value}
              showEmpty={!store.expired.value}
              onRetry={(turn) => store.retry(turn)}
            />
            {store.expired.value
              ? (
                <ExpiryNotice
                  notice={store.expired.value}
                  name={store.name.value}
                  starting={store.starting.value}
                  onNewSession={() => store.newSession()}
                  onChangeName={() => store.changeName()}
                />
              )
              : (
                <Composer
                  busy={store.busy.value}
                  stopping={store.stopping.value}
                  maxChars={maxMessageChars}
                  onSend={(text) => store.send(text)}
                  onStop={() => store.stop()}
                />
              )}
          </>
        )}
      </main>
      <Toasts toasts={store.toasts.list.value} onDismiss={(id) => store.toasts.dismiss(id)} />
      <div class="sr-only" aria-live="polite">{store.announcement.value}</div>
    </div>
  );
}
