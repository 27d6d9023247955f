// Integration tests run against the real Postgres that `npm test` provisions. Run outside it,
// they fail at once with a clear message instead of skipping silently.
for (const name of ['DATABASE_URL', 'AUTH_SECRET']) {
  if (!process.env[name]) throw new Error(`${name} is not set. Run the tests with \`npm test\` (or \`npm test -- --only unit\`), which provisions everything.`);
}
