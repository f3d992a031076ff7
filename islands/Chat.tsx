// The chat island: rendered on the server in its "boot" state, hydrated in the browser, where it
// restores or starts a session. All state lives in the ChatStore; components only display it.
import { useEffect, useMemo } from "preact/hooks";
import { ChatStore } from "./chat/store.ts";
import { ConnectionBadge } from "../components/ConnectionBadge.tsx";
import { Composer } from "../components/Composer.tsx";
import { HealthBanner } from "../components/HealthBanner.tsx";
import { LoadFailed, Loading } from "../components/LoadingState.tsx";
import { MessageList } from "../components/MessageList.tsx";
import { ThemeToggle } from "../components/ThemeToggle.tsx";
import { Icon } from "../components/Icon.tsx";
import { Toasts } from "../components/Toasts.tsx";
import { Welcome } from "../components/Welcome.tsx";
import { extrasModule } from "../components/extras_loader.ts";

export interface ChatProps {
  maxMessageChars: number;
  maxNameChars: number;
}

/** After a new chat, typing goes straight to it. */
const focusComposer = () => document.getElementById("composer-input")?.focus();

export default function Chat({ maxMessageChars, maxNameChars }: ChatProps) {
  const store = useMemo(() => new ChatStore({ maxChars: maxMessageChars }), [maxMessageChars]);
  const { view, sidebar } = store;
  useEffect(() => {
    store.boot();
    // Escape stops the reply being written (fields that use Escape themselves keep it).
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== "Escape" || e.defaultPrevented) return;
      if (sidebar.open.value) sidebar.open.value = false;
      else if (view.busy.value) view.stop();
    };
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("keydown", onKey);
      store.dispose();
    };
  }, [store]);

  const phase = store.phase.value;
  const inChat = phase === "chat";
  const expired = store.expired.value;
  const pending = sidebar.pending.value;
  const warning = store.timer.warning.value;
  // The list, the expiry screens and message actions come in a chunk loaded right after boot.
  const x = extrasModule.value;
  return (
    <div class="app" data-phase={phase}>
      <header class="topbar">
        <div class="brand">
          {inChat && (
            <button
              type="button"
              class="icon-button sidebar-toggle"
              aria-label="Conversations"
              aria-controls="sidebar"
              aria-expanded={sidebar.open.value ? "true" : "false"}
              onClick={() => sidebar.open.value = !sidebar.open.value}
            >
              <Icon name="menu" />
            </button>
          )}
          <span class="logo" aria-hidden="true" />
          <h1>Chat</h1>
          {inChat && store.name.value && <span class="who">with {store.name.value}</span>}
        </div>
        <div class="topbar-end">
          <ThemeToggle theme={store.theme.current.value} onNext={() => store.theme.next()} />
          {inChat && (
            <ConnectionBadge
              state={store.link.value}
              onRetry={() => store.retryConnection()}
            />
          )}
        </div>
      </header>
      <HealthBanner health={store.health.current.value} />
      <div class="layout">
        {inChat && !x && <aside class="sidebar" aria-label="Conversations" />}
        {inChat && x && (
          <x.Sidebar
            conversations={sidebar.shown.value}
            total={sidebar.conversations.value.length}
            current={view.current.value}
            filter={sidebar.filter.value}
            open={sidebar.open.value}
            onFilter={(text) => sidebar.filter.value = text}
            onOpen={(id) => view.open(id)}
            onNew={() => view.newChat().then(focusComposer)}
            onRename={(id, title) => sidebar.rename(id, title)}
            onDelete={(id) => sidebar.remove(id)}
            onClose={() => sidebar.open.value = false}
          />
        )}
        <main class="main" id="main" aria-busy={view.switching.value ? "true" : undefined}>
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
                key={view.current.value}
                messages={view.messages.value}
                busy={view.busy.value}
                showEmpty={!expired}
                maxChars={maxMessageChars}
                onRetry={(turn) => store.retry(turn)}
                onEdit={(message, text) => view.edit(message, text)}
                onRegenerate={() => view.regenerate()}
              />
              {warning !== null && !expired && x && (
                <x.ExpiryWarning
                  msLeft={warning}
                  onDownload={() => view.download()}
                  onReconnect={() => store.retryConnection()}
                />
              )}
              {expired
                ? x && (
                  <x.ExpiryNotice
                    notice={expired}
                    name={store.name.value}
                    starting={store.starting.value}
                    onNewSession={() => store.newSession()}
                    onChangeName={() => store.changeName()}
                    onDownload={view.messages.value.length ? () => view.download() : undefined}
                  />
                )
                : (
                  <Composer
                    busy={view.busy.value}
                    stopping={view.stopping.value}
                    maxChars={maxMessageChars}
                    onSend={(text) => view.send(text)}
                    onStop={() => view.stop()}
                  />
                )}
            </>
          )}
        </main>
      </div>
      {pending && x && (
        <x.UndoBar
          title={pending.conversation.title}
          onUndo={() => view.undoDelete()}
        />
      )}
      <Toasts toasts={store.toasts.list.value} onDismiss={(id) => store.toasts.dismiss(id)} />
      <div class="sr-only" aria-live="polite">{store.announcement.value}</div>
    </div>
  );
}
