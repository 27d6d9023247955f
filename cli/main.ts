// The `sandpool` command: `npm start` and `npm test` run through here, and so do the operator
// commands for users, service principals, roles and tokens. Commands are loaded lazily so that
// `npm test` can point SANDPOOL_HOME at its own folder before anything reads it.
import { Command } from 'commander';
import { reportFatal } from './ui';

const program = new Command()
  .name('sandpool')
  .description('Self-hosted, Azure-compatible dynamic sessions.')
  .showHelpAfterError('(run `npx sandpool --help` to see every command)');

program
  .command('start')
  .description('Provision everything that is missing, then run the portal and the engine until Ctrl-C.')
  .action(async () => (await import('./commands/start')).start());

program
  .command('test')
  .description('Provision a separate test installation and run every test: unit, integration and end-to-end.')
  .option('--only <suite>', 'run one suite: unit or e2e')
  .option('--spec <filter>', 'end-to-end: run only the spec files whose name matches (e.g. pools)')
  .action(async (options: { only?: string; spec?: string }) => (await import('./commands/test')).test(options));

const user = program.command('user').description('Manage the people who sign in to the portal.');
user
  .command('create')
  .description('Create a user, optionally with a role.')
  .requiredOption('--email <email>', 'their email address (used to sign in)')
  .option('--password <password>', 'initial password (generated and printed when omitted)')
  .option('--name <name>', 'display name')
  .option('--role <role>', 'assign this role too: Owner, Contributor, "Session Executor" or Reader')
  .option('--scope <scope>', 'scope of that role: "/" or /sessionPools/<name>', '/')
  .action(async (options) => (await import('./commands/users')).createUserCommand(options));
user
  .command('list')
  .description('List users and their roles.')
  .option('--json', 'print JSON')
  .action(async (options) => (await import('./commands/users')).listUsersCommand(options));
user
  .command('reset-password')
  .description("Set a user's password (for a forgotten password).")
  .requiredOption('--email <email>', 'the user')
  .option('--password <password>', 'new password (generated and printed when omitted)')
  .action(async (options) => (await import('./commands/users')).resetPasswordCommand(options));

const sp = program.command('sp').description('Manage service principals (identities for automation).');
sp.command('create')
  .description('Create a service principal; prints its client id and secret once, as JSON.')
  .requiredOption('--name <name>', 'display name')
  .option('--role <role>', 'assign this role: Owner, Contributor, "Session Executor" or Reader')
  .option('--scope <scope>', 'scope of that role: "/" or /sessionPools/<name>', '/')
  .option('--expires-in-days <days>', 'days until the secret expires (default: never)')
  .action(async (options) => (await import('./commands/service-principals')).createServicePrincipalCommand(options));
sp.command('list')
  .description('List service principals.')
  .option('--json', 'print JSON')
  .action(async (options) => (await import('./commands/service-principals')).listServicePrincipalsCommand(options));
sp.command('revoke')
  .description('Revoke a service principal: its secret and tokens stop working.')
  .argument('<client-id>', 'client id (or sp_… id)')
  .action(async (clientId: string) => (await import('./commands/service-principals')).revokeServicePrincipalCommand(clientId));

const role = program.command('role').description('Manage role assignments.');
role
  .command('assign')
  .description('Assign a role to a user (--user) or a service principal (--sp).')
  .requiredOption('--role <role>', 'Owner, Contributor, "Session Executor" or Reader')
  .option('--scope <scope>', '"/" or /sessionPools/<name>', '/')
  .option('--user <email>', 'the user')
  .option('--sp <client-id>', 'the service principal')
  .action(async (options) => (await import('./commands/roles')).assignRoleCommand(options));
role
  .command('list')
  .description('List role assignments.')
  .option('--scope <scope>', 'only this scope')
  .option('--json', 'print JSON')
  .action(async (options) => (await import('./commands/roles')).listRolesCommand(options));
role
  .command('remove')
  .description('Remove a role assignment.')
  .argument('<assignment-id>', 'the ra_… id shown by `role list`')
  .action(async (id: string) => (await import('./commands/roles')).removeRoleCommand(id));

program
  .command('token')
  .description('Print an access token for a service principal (as the host operator, no secret needed).')
  .argument('<client-id>', 'client id (or sp_… id)')
  .option('--scope <scope>', 'what the token is for', 'https://dynamicsessions.io/.default')
  .option('--json', 'print the OAuth2 token response as JSON instead of the bare token')
  .action(async (clientId: string, options) => (await import('./commands/tokens')).tokenCommand(clientId, options));

const poolSettings = (command: Command) =>
  command
    .option('--isolation <runtime>', 'gVisor (default) or runc')
    .option('--max-sessions <n>', 'maxConcurrentSessions (1–600, default 10)')
    .option('--ready-sessions <n>', 'readySessionInstances kept warm (0–100, default 5)')
    .option('--cooldown <seconds>', 'cooldownPeriodInSeconds (10–3600, default 300)')
    .option('--cpu <cores>', 'CPU per session (0.25–2, default 0.5)')
    .option('--memory <GiB>', 'memory per session (0.5–4, default 1)')
    .option('--network <status>', 'EgressDisabled (default)');
const pool = program.command('pool').description('Manage session pools.');
poolSettings(pool.command('create').description('Create a code-interpreter pool; prints it as JSON.').argument('<name>', 'pool name'))
  .action(async (name: string, options) => (await import('./commands/pools')).createPoolCommand(name, options));
poolSettings(pool.command('update').description('Change a pool; ready sessions roll to the new settings.').argument('<name>', 'pool name'))
  .action(async (name: string, options) => (await import('./commands/pools')).updatePoolCommand(name, options));
pool
  .command('delete')
  .description('Delete a pool: its sessions are drained and deleted.')
  .argument('<name>', 'pool name')
  .action(async (name: string) => (await import('./commands/pools')).deletePoolCommand(name));
pool
  .command('list')
  .description('List pools with their session counts and endpoints.')
  .option('--json', 'print JSON')
  .action(async (options) => (await import('./commands/pools')).listPoolsCommand(options));

const database = program.command('db').description('Database maintenance.');
database
  .command('migrate')
  .description('Apply pending migrations.')
  .action(async () => (await import('./commands/database')).migrateCommand());
database
  .command('new-migration')
  .description('Create a migration from the changes in prisma/schema.prisma (for developers).')
  .argument('<name>', 'what the migration does, in snake_case')
  .action(async (name: string) => (await import('./commands/database')).newMigrationCommand(name));

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportFatal(error);
}
