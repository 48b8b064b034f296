// Type-aware lint: the rules that matter most here are the promise rules —
// a floating or misused promise is how errors get swallowed in a function.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layering from './lint/layering.js';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.local/**', 'coverage/**', 'test/.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // Every import arrow points down, and shared/<cap>/ is reached through its index.ts
    // (lint/layering.js). `npm run build` checks the bundles' inputs again.
    plugins: { layering },
    rules: { 'layering/imports': 'error' },
  },
  {
    // Function code imports zod as a namespace: esbuild then keeps only the members used.
    // The `z` object holds every member (every locale too), so one `import { z }` in a
    // bundle puts all of zod back into every cold start (deploy/build.ts, INLINED).
    files: ['functions/**', 'shared/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportDeclaration[source.value='zod'][importKind!='type'] > :matches(ImportSpecifier[imported.name='z'][importKind!='type'], ImportDefaultSpecifier)",
          message: "Use `import * as z from 'zod'`: the bundle then keeps only what is used.",
        },
      ],
    },
  },
  {
    // Dev tooling, benchmarks and tests may print to the terminal.
    files: ['dev/**', 'bench/**', 'deploy/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // Tests read JSON answers they are about to assert on; typing each body would add
    // nothing the assertions do not already check.
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['eslint.config.js', 'lint/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
