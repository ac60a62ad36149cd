// NestJS 12 ships ESM-only packages. Jest runs in CommonJS mode, so @swc/jest
// compiles both the project's TypeScript and those packages to CommonJS, and
// relative imports written with a .js suffix resolve to the .ts sources.
const swcTransform = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2023',
    },
    module: { type: 'commonjs' },
  },
];

const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.(t|j|mj)s$': swcTransform },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs)/)'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};

/** @type {import('jest').Config} */
module.exports = {
  // A global option: Jest ignores testTimeout inside a project entry. End-to-end
  // tests start Redis servers and Nest applications, which can take seconds on
  // a loaded machine.
  testTimeout: 60_000,
  projects: [
    { ...common, displayName: 'unit', roots: ['<rootDir>/src'], testMatch: ['**/*.spec.ts'] },
    {
      ...common,
      displayName: 'e2e',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.e2e-spec.ts'],
      // The process tests run the built dist/main.js and dist/worker.js.
      globalSetup: '<rootDir>/test/support/build-once.ts',
    },
  ],
};
