import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

const DRIVERS = { sqlite: ["better-sqlite3"], postgres: ["pg"], mariadb: ["mysql2", "mysql2/promise"] };
const ALL_DRIVERS = Object.values(DRIVERS).flat();
/** What serves HTTP or speaks to GitLab: core may name these types (the sink contract), never run them. */
const HTTP_AND_GITLAB = [
  "express",
  "http",
  "https",
  "node:http",
  "node:https",
  "@gitbeaker/core",
  "@gitbeaker/requester-utils",
  "prom-client",
  "gitlab-webhooks",
];

// A pattern per layer an import may not reach (relative paths from anywhere below src/).
const layer = (folders, message) => ({ regex: `^(\\.\\./)+(${folders})/`, message });
const NO_HTTP = layer("http", "only the wiring, the CLI, sources and sinks use the HTTP server (src/http/)");
const NO_GITLAB = layer("gitlab", "core and the store know nothing of GitLab's API or event catalogue (src/gitlab/)");
const NO_SOURCES = layer("sources", "nothing below the wiring imports a source");
const NO_SINKS = layer("sinks", "nothing below the wiring imports a sink");
const NO_CLI = layer("cli", "nothing imports the CLI");
const NO_STORE = layer("store", "only the wiring and the CLI open a store: use the Store contract (src/core/store.ts)");
const NO_WIRING = {
  regex: "^(\\.\\./)+(daemon|configuration|index)\\.js$",
  message: "the wiring and the plugin API sit above every layer; nothing below imports them",
};

/** What the store's modules, engines included, may not import. */
const STORE_LIMITS = [NO_HTTP, NO_GITLAB, NO_SOURCES, NO_SINKS, NO_CLI, NO_WIRING];

/** no-restricted-imports for some files: these packages (by name) and these patterns are off limits. */
const restrict = (files, packages, patterns, ignores = []) => ({
  files,
  ignores,
  rules: {
    "@typescript-eslint/no-restricted-imports": [
      "error",
      {
        paths: packages.map(({ name, message, types }) => ({ name, message, allowTypeImports: types === true })),
        patterns,
      },
    ],
  },
});
const drivers = (names) =>
  names.map((name) => ({ name, message: "only the store engine of this driver imports it (src/store/<engine>/)" }));
const httpTypesOnly = HTTP_AND_GITLAB.map((name) => ({
  name,
  message: "core has no HTTP server, GitLab client or metrics endpoint",
  types: true,
}));

const NO_MARKUP = "event text must never become markup: build elements with el() and text nodes";

export default tseslint.config(
  { ignores: ["dist/", "dist-bench/", "dist-chaos/", "node_modules/", "data/", "coverage/", "bench/results.json", "chaos/results.json"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", ignoreRestSiblings: true }],
      "no-console": "off",
    },
  },
  // The architecture, enforced (ARCHITECTURE.md, "Code map"): config and support import no layer;
  // core imports only them (it holds the Store contract); the store engines, the GitLab client and
  // the HTTP server sit on core; sources and sinks on those; a sink knows no other sink and no store engine; each
  // engine's driver is imported by that engine's modules only; the wiring and the CLI sit on top.
  restrict(["src/config/**/*.ts"], drivers(ALL_DRIVERS), [
    layer("support|core|store|http|gitlab|sources|sinks|cli", "config imports no other layer"),
    NO_WIRING,
  ]),
  restrict(["src/support/**/*.ts"], drivers(ALL_DRIVERS), [
    layer("core|store|http|gitlab|sources|sinks|cli", "support imports no layer but config"),
    NO_WIRING,
  ]),
  restrict(
    ["src/core/**/*.ts"],
    [...drivers(ALL_DRIVERS), ...httpTypesOnly],
    [
      layer("store", "core defines the Store contract (src/core/store.ts); the engines in src/store/ implement it"),
      NO_HTTP,
      NO_GITLAB,
      NO_SOURCES,
      NO_SINKS,
      NO_CLI,
      NO_WIRING,
    ],
  ),
  restrict(["src/store/**/*.ts"], drivers(ALL_DRIVERS), STORE_LIMITS, ["src/store/{sqlite,postgres,mariadb}/**"]),
  ...Object.entries(DRIVERS).map(([engine]) =>
    restrict([`src/store/${engine}/**/*.ts`], drivers(ALL_DRIVERS.filter((name) => !DRIVERS[engine].includes(name))), STORE_LIMITS),
  ),
  restrict(["src/gitlab/**/*.ts"], drivers(ALL_DRIVERS), [NO_HTTP, NO_SOURCES, NO_SINKS, NO_CLI, NO_WIRING, NO_STORE]),
  restrict(["src/http/**/*.ts"], drivers(ALL_DRIVERS), [NO_SOURCES, NO_SINKS, NO_CLI, NO_WIRING, NO_STORE]),
  restrict(["src/sources/**/*.ts"], drivers(ALL_DRIVERS), [NO_SINKS, NO_CLI, NO_WIRING, NO_STORE]),
  restrict(["src/sinks/*/**/*.ts"], drivers(ALL_DRIVERS), [
    { regex: "^\\.\\./(?!\\.\\./)", message: "a sink never imports another sink" },
    layer("sinks", "a sink never imports another sink"),
    NO_SOURCES,
    NO_CLI,
    NO_WIRING,
    NO_STORE,
  ]),
  // The built-in sinks' list and their variables: the sinks' own, nothing else.
  restrict(["src/sinks/*.ts"], drivers(ALL_DRIVERS), [NO_SOURCES, NO_CLI, NO_WIRING, NO_STORE, NO_HTTP, NO_GITLAB]),
  // The wiring may import every layer but the CLI.
  restrict(["src/*.ts"], drivers(ALL_DRIVERS), [{ regex: "^\\./cli/", message: "the CLI sits above the wiring" }]),
  // The dashboard's modules run in the browser, and put what events say in the page as text only.
  {
    files: ["public/**/*.js"],
    languageOptions: { globals: globals.browser },
    rules: {
      "no-restricted-properties": [
        "error",
        ...["innerHTML", "outerHTML", "insertAdjacentHTML", "createContextualFragment"].map((property) => ({
          property,
          message: NO_MARKUP,
        })),
        ...["write", "writeln"].map((property) => ({ object: "document", property, message: NO_MARKUP })),
      ],
      // el(tag, props) assigns its props: markup must not come in through them either.
      "no-restricted-syntax": ["error", { selector: "Property[key.name=/^(inner|outer)HTML$/]", message: NO_MARKUP }],
    },
  },
  {
    files: ["bench/**/*.mjs", "scripts/**/*.mjs", "test/**/*.mjs", "examples/**/*.mjs", "*.js"],
    languageOptions: { globals: globals.node },
  },
);
