import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

const DRIVERS = { sqlite: ["better-sqlite3"], postgres: ["pg"], mariadb: ["mysql2", "mysql2/promise"] };
const ALL_DRIVERS = Object.values(DRIVERS).flat();

const NO_PLUGINS = { regex: "(^|/)(sources|sinks|cli)/", message: "core never imports a source, a sink or the CLI" };
const NO_WIRING = { regex: "(^|/)(daemon|open-store)\\.js$", message: "the wiring sits above core, sources and sinks; nothing below imports it" };
const NO_ENGINE = { regex: "/core/store/(sql|sqlite|postgres|mariadb)/", message: "use the Store interface, never a store engine" };
const NO_MARKUP = "event text must never become markup: build elements with el() and text nodes";

/** no-restricted-imports for some files: these drivers and these patterns are off limits. */
const restrict = (files, drivers, patterns, ignores = []) => ({
  files,
  ignores,
  rules: {
    "no-restricted-imports": [
      "error",
      { paths: drivers.map((name) => ({ name, message: "only the store engine of this driver imports it (src/core/store/<engine>/)" })), patterns },
    ],
  },
});

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
  // The architecture, enforced: core knows no source, sink or wiring; a sink knows no other sink and
  // no store engine; each engine's driver is imported by that engine's modules only.
  restrict(["src/core/**/*.ts"], ALL_DRIVERS, [NO_PLUGINS, NO_WIRING], ["src/core/store/{sqlite,postgres,mariadb}/**"]),
  ...Object.entries(DRIVERS).map(([engine]) =>
    restrict(
      [`src/core/store/${engine}/**/*.ts`],
      ALL_DRIVERS.filter((name) => !DRIVERS[engine].includes(name)),
      [NO_PLUGINS, NO_WIRING],
    ),
  ),
  restrict(["src/sinks/*/**/*.ts"], ALL_DRIVERS, [
    { regex: "^\\.\\./(?!\\.\\./)", message: "a sink never imports another sink" },
    NO_ENGINE,
    { regex: "(^|/)(sources|cli)/", message: "a sink never imports a source or the CLI" },
    NO_WIRING,
  ]),
  restrict(["src/sources/**/*.ts"], ALL_DRIVERS, [{ regex: "(^|/)(sinks|cli)/", message: "a source never imports a sink or the CLI" }, NO_ENGINE, NO_WIRING]),
  // The dashboard's modules run in the browser, and put what events say in the page as text only.
  {
    files: ["public/**/*.js"],
    languageOptions: { globals: globals.browser },
    rules: {
      "no-restricted-properties": [
        "error",
        ...["innerHTML", "outerHTML", "insertAdjacentHTML", "createContextualFragment"].map((property) => ({ property, message: NO_MARKUP })),
        ...["write", "writeln"].map((property) => ({ object: "document", property, message: NO_MARKUP })),
      ],
      // el(tag, props) assigns its props: markup must not come in through them either.
      "no-restricted-syntax": ["error", { selector: "Property[key.name=/^(inner|outer)HTML$/]", message: NO_MARKUP }],
    },
  },
  { files: ["bench/**/*.mjs", "scripts/**/*.mjs", "test/**/*.mjs", "examples/**/*.mjs", "*.js"], languageOptions: { globals: globals.node } },
);
