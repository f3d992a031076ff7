// Copying text for the Copy buttons (code blocks, whole messages).

/** False without clipboard permission (or in an insecure context). */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
