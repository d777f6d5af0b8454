// `npm start`'s prestart: compiles the TypeScript only when dist/ is missing or older than a source,
// so that starting a daemon whose build is current takes no compile (several seconds).
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const SOURCES = ["src", "tsconfig.json", "tsconfig.build.json", "package.json"];
const OUTPUT = "dist";

/** Every file under `path` (or `path` itself), with its modification time. */
function* files(path) {
  if (!existsSync(path)) return;
  const stat = statSync(path);
  if (!stat.isDirectory()) {
    yield { path, mtimeMs: stat.mtimeMs };
    return;
  }
  for (const entry of readdirSync(path)) yield* files(join(path, entry));
}

const newestSource = Math.max(0, ...SOURCES.flatMap((path) => [...files(path)].map((file) => file.mtimeMs)));
const built = [...files(OUTPUT)].filter((file) => file.path.endsWith(".js"));
// The newest output, not the oldest: a build leaves behind what an upgrade moved or removed from
// src/ (tsc never deletes), and those stale files must not make every start compile again.
const lastBuilt = built.length > 0 ? Math.max(...built.map((file) => file.mtimeMs)) : 0;

if (existsSync(join(OUTPUT, "cli", "index.js")) && lastBuilt >= newestSource) {
  console.log("dist/ is up to date with src/: not compiling");
} else {
  console.log("compiling src/ into dist/ (npm run build)");
  const run = spawnSync("npm", ["run", "build", "--silent"], { stdio: "inherit", shell: process.platform === "win32" });
  process.exit(run.status ?? 1);
}
