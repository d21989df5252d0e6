// @ts-check
// ESLint: the type-checked recommended set of typescript-eslint on every package's TypeScript
// (src, test, test-support), eslint's recommended set on the JavaScript (bench, scripts,
// examples, fixtures). `npm run lint` runs it with Prettier's check. Every rule turned off or
// tuned below says why.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    ignores: ['**/dist/**', '**/node_modules/**', 'docs/api/**', '.bench/**', '.ci/node22/**', 'examples/*/var/**'],
  },
  js.configs.recommended,
  {
    rules: {
      // Control characters are matched on purpose: request-log escaping, header and
      // member-address checks, XML 1.0's forbidden characters.
      'no-control-regex': 'off',
    },
  },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      // Each file is checked with the tsconfig.json of its package (the one tsc -b builds).
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `any` marks the boundaries where values come untyped (handlers' results, parsed JSON,
      // ws/pg/ioredis payloads, node's http2 compatibility objects) and the hot path's
      // monomorphic fast paths. Typing those boundaries is a refactor per package, not a lint
      // fix; strict mode still checks everything that is not an explicit `any`.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // `async` without `await` is how a hook or a plugin method says it returns a promise
      // (the contract's types ask for Promise<void>); wrapping a value by hand is noisier.
      '@typescript-eslint/require-await': 'off',
      // Messages interpolate caught values (typed unknown) and header values (string |
      // number | string[]) on purpose: their String() is what the message or header wants.
      '@typescript-eslint/restrict-template-expressions': 'off',
      // URL building and query strings convert user-given parameters (typed unknown) with
      // String(), as documented; an object there is the caller's mistake, not ours.
      '@typescript-eslint/no-base-to-string': 'off',
      // The hot path keeps a response's own write/end (and a few other methods) to call them
      // later with .call(res, ...): the rule cannot tell that from a lost `this`.
      '@typescript-eslint/unbound-method': 'off',
      // Callbacks of pg, sqlite and the agent pool reject with whatever the driver gave (an
      // Error in practice, typed unknown); wrapping it would lose the driver's own class.
      '@typescript-eslint/prefer-promise-reject-errors': [
        'error',
        { allowThrowingAny: true, allowThrowingUnknown: true },
      ],
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // `const app = this` names the App inside handler wrappers that are plain functions
      // (their own `this` is not the App).
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['app'] }],
      // The code marks indexed reads with `!` as if noUncheckedIndexedAccess were on (about 200
      // of this rule's 390 hits), and casts the methods the hot path wraps to their own types:
      // stripping them hides where an element may be missing and leaves type imports unused.
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // Unused parameters and locals are tsc's job (noUnusedLocals, noUnusedParameters).
      '@typescript-eslint/no-unused-vars': 'off',
      // node:test's test()/describe()/it() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
    },
  },
  {
    // Node defines these globals as getters on globalThis: each read is a call (about 170
    // instructions for Buffer on a request's path). Package code imports them instead.
    files: ['kernel/src/**/*.ts', 'plugins/*/src/**/*.ts', 'lib/*/src/**/*.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'Buffer', message: "import { Buffer } from 'node:buffer' (the global is a getter)" },
        { name: 'process', message: "import process from 'node:process' (the global is a getter)" },
        { name: 'performance', message: "import { performance } from 'node:perf_hooks' (the global is a getter)" },
        { name: 'TextDecoder', message: "import { TextDecoder } from 'node:util' (the global is a getter)" },
        { name: 'TextEncoder', message: "import { TextEncoder } from 'node:util' (the global is a getter)" },
      ],
    },
  },
  {
    // `Was` is a class and an interface of the same name: the interface is the one that
    // plugins augment (declaration merging) to add their `was.*` members.
    files: ['kernel/src/was.ts'],
    rules: {
      '@typescript-eslint/no-empty-object-type': 'off',
      '@typescript-eslint/no-unsafe-declaration-merging': 'off',
    },
  },
  {
    files: ['**/*.{js,mjs,cjs}'],
    extends: [tseslint.configs.recommended],
    languageOptions: { globals: globals.node },
    rules: {
      // Benchmarks and fixtures keep handler signatures whole: (req, res), (was, args).
      '@typescript-eslint/no-unused-vars': ['error', { args: 'none', caughtErrors: 'none' }],
      // The bench scripts use `ok() && log(...)` as a short if.
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true }],
    },
  },
  {
    files: ['examples/*/assets/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
);
