// Says so when the service reports itself degraded (e.g. no model available), in plain words: the
// operator's details (/api/health's `detail`) are not for visitors.
import type { Health } from "../lib/contract/payloads.ts";

export function HealthBanner({ health }: { health: Health | null }) {
  if (health?.status !== "degraded") return null;
  const what = health.redis !== "ok"
    ? "The chat cannot save messages right now."
    : "The assistant cannot answer right now.";
  return (
    <div class="banner" role="status">
      <strong>The assistant is not fully available.</strong> {what} Please try again later.
    </div>
  );
}
