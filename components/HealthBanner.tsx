// Says so when the service reports itself degraded (e.g. no model available), with its advice.
import type { Health } from "../lib/contract/payloads.ts";

export function HealthBanner({ health }: { health: Health | null }) {
  if (health?.status !== "degraded") return null;
  return (
    <div class="banner" role="status">
      <strong>The assistant is not fully available.</strong>{" "}
      {health.detail ?? `Storage: ${health.redis}. Model: ${health.model}.`}
    </div>
  );
}
