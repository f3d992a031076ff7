// The views a chat needs a moment after it is interactive, in one lazily loaded chunk (see
// extras_loader.ts): the conversation list, message actions and editing, the expiry screens.
export { EditMessage } from "./EditMessage.tsx";
export { ExpiryNotice } from "./ExpiryNotice.tsx";
export { ExpiryWarning } from "./ExpiryWarning.tsx";
export { MessageActions } from "./MessageActions.tsx";
export { Sidebar } from "./Sidebar.tsx";
export { UndoBar } from "./UndoBar.tsx";
