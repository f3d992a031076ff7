// What the chat keeps in localStorage: the session (so a returning visitor skips the welcome
// screen), the id of the last finished reply event (so a reload can replay a reply in progress),
// and which conversation was open (a reload shows it again).
// Storage can be unavailable (private modes, quotas): then the chat simply starts fresh.

const SESSION_KEY = "chat.session";
const LAST_DONE_KEY = "chat.lastDone";
const CURRENT_KEY = "chat.current";

export interface SavedSession {
  token: string;
  name: string;
}

function read(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch { /* storage unavailable: nothing to keep */ }
}

export function loadSession(): SavedSession | null {
  try {
    const v = JSON.parse(read(SESSION_KEY) ?? "null");
    return typeof v?.token === "string" && typeof v?.name === "string" ? v : null;
  } catch {
    return null;
  }
}

export function saveSession(session: SavedSession): void {
  write(SESSION_KEY, JSON.stringify(session));
  write(LAST_DONE_KEY, null);
  write(CURRENT_KEY, null);
}

/** Keeps the name: a new session after expiry reuses it. */
export function forgetToken(): void {
  const s = loadSession();
  write(SESSION_KEY, s ? JSON.stringify({ token: "", name: s.name }) : null);
  write(LAST_DONE_KEY, null);
  write(CURRENT_KEY, null);
}

export const loadLastDone = (): string | null => read(LAST_DONE_KEY);
export const saveLastDone = (event: string): void => write(LAST_DONE_KEY, event);

export const loadCurrent = (): string | null => read(CURRENT_KEY);
export const saveCurrent = (id: string): void => write(CURRENT_KEY, id);

/** The theme the person chose ("light" | "dark"); null follows the system. */
export const loadTheme = (): string | null => read("chat.theme");
export const saveTheme = (theme: string | null): void => write("chat.theme", theme);
