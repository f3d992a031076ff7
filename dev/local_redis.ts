// A private redis-server (data under .data/redis) behind our Upstash REST bridge, recorded in
// .data/bridge.json so `deno task server` / `deno task worker` find it with no configuration.
import { loadConfig } from "../lib/config.ts";
import { LOCAL_BRIDGE_FILE } from "../lib/redis/client.ts";
import { encodeBase64Url } from "../lib/server/base64url.ts";
import { startBridge } from "./bridge.ts";
import { startRedisServer } from "./redis_server.ts";

export interface LocalRedis {
  url: string;
  token: string;
  stop(): Promise<void>;
}

export async function startLocalRedis(): Promise<LocalRedis> {
  const config = loadConfig();
  const redis = await startRedisServer({
    dir: ".data/redis",
    persist: true,
    port: config.LOCAL_REDIS_PORT || undefined,
  });
  const token = encodeBase64Url(crypto.getRandomValues(new Uint8Array(24)));
  const bridge = await startBridge({
    redisPort: redis.port,
    token,
    port: config.LOCAL_BRIDGE_PORT,
  });
  await Deno.mkdir(".data", { recursive: true });
  await Deno.writeTextFile(LOCAL_BRIDGE_FILE, JSON.stringify({ url: bridge.url, token }));
  return {
    url: bridge.url,
    token,
    async stop() {
      await Deno.remove(LOCAL_BRIDGE_FILE).catch(() => {});
      await bridge.close();
      await redis.stop();
    },
  };
}

if (import.meta.main) {
  try {
    const local = await startLocalRedis();
    console.log(`local Redis REST bridge on ${local.url} (recorded in ${LOCAL_BRIDGE_FILE})`);
    const stop = async () => {
      await local.stop();
      Deno.exit(0);
    };
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    Deno.exit(1);
  }
}
