// A private, password-protected redis-server (data under .data/redis) behind our Upstash REST
// bridge, recorded in .data/bridge.json so `deno task server` / `deno task worker` find it with no
// configuration.
import { loadConfig } from "../lib/config.ts";
import { LOCAL_BRIDGE_FILE } from "../lib/redis/client.ts";
import { encodeBase64Url } from "../lib/server/base64url.ts";
import { type Bridge, startBridge } from "./bridge.ts";
import { startRedisServer } from "./redis_server.ts";

export interface LocalRedis {
  url: string;
  token: string;
  redisPort: number;
  /** Bridge first (no new requests), then Redis. */
  stop(): Promise<void>;
}

export interface LocalRedisOptions {
  /** The directory holding .data/; default the working directory (where lib/ looks for it). */
  root?: string;
}

const DATA_DIR = LOCAL_BRIDGE_FILE.slice(0, LOCAL_BRIDGE_FILE.lastIndexOf("/"));

/** Writes a secret readable by its owner only, even if an older copy was world-readable. */
async function writeSecret(path: string, text: string): Promise<void> {
  await Deno.remove(path).catch(() => {});
  // createNew: never follow a symlink someone planted at this path.
  await Deno.writeTextFile(path, text, { mode: 0o600, createNew: true });
  await Deno.chmod(path, 0o600); // the umask may have masked bits off, never added: be exact
}

export async function startLocalRedis(opts: LocalRedisOptions = {}): Promise<LocalRedis> {
  const root = opts.root ?? ".";
  const config = loadConfig();
  const dataDir = `${root}/${DATA_DIR}`;
  const bridgeFile = `${root}/${LOCAL_BRIDGE_FILE}`;
  // The bridge token is full access to the data: keep the whole directory private.
  await Deno.mkdir(dataDir, { recursive: true, mode: 0o700 });
  await Deno.chmod(dataDir, 0o700);
  const redis = await startRedisServer({
    dir: `${dataDir}/redis`,
    persist: true,
    port: config.LOCAL_REDIS_PORT || undefined,
    password: true,
    detached: true,
  });
  const token = encodeBase64Url(crypto.getRandomValues(new Uint8Array(24)));
  let bridge: Bridge | undefined;
  try {
    bridge = await startBridge({
      redisPort: redis.port,
      redisPassword: redis.password,
      token,
      port: config.LOCAL_BRIDGE_PORT,
    });
    await writeSecret(bridgeFile, JSON.stringify({ url: bridge.url, token }));
  } catch (err) {
    await bridge?.close();
    await redis.stop();
    throw err;
  }
  const running = bridge;
  return {
    url: running.url,
    token,
    redisPort: redis.port,
    async stop() {
      await Deno.remove(bridgeFile).catch(() => {});
      await running.close();
      await redis.stop();
    },
  };
}

if (import.meta.main) {
  try {
    const local = await startLocalRedis();
    console.log(`local Redis REST bridge on ${local.url} (recorded in ${LOCAL_BRIDGE_FILE})`);
    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
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
