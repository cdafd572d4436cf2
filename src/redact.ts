// Last line of defence for "no secret in any output": every stdout and stderr line has the
// config's secrets masked, whatever code produced it. Built before the config is validated, so
// it reads the file leniently and never fails.
import { readFileSync } from "node:fs";

export const MASK = "**********";

/** Masks the config's secrets in a text. */
export function secretsRedactor(argv: string[]): (text: string) => string {
  const secrets = secretsInConfigFile(configPathOf(argv));
  return (text) => {
    let masked = text;
    for (const secret of secrets) if (masked.includes(secret)) masked = masked.replaceAll(secret, MASK);
    return masked;
  };
}

function configPathOf(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--config") return argv[i + 1];
    if (arg.startsWith("--config=")) return arg.slice("--config=".length);
  }
  return undefined;
}

function secretsInConfigFile(path: string | undefined): string[] {
  if (!path) return [];
  try {
    const config = JSON.parse(readFileSync(path, "utf8")) as { credentials?: Record<string, unknown> };
    const c = config.credentials ?? {};
    const found = [c.token, c.api_token].filter((s): s is string => typeof s === "string" && s.length >= 4);
    if (typeof c.email === "string" && typeof c.api_token === "string") {
      found.push(Buffer.from(`${c.email}:${c.api_token}`).toString("base64"));
    }
    // JSON output escapes some characters: mask the escaped form too.
    return [...new Set(found.flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]))];
  } catch {
    return [];
  }
}
