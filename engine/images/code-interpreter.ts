// Builds the sandbox images Sandpool runs, from Debian packages, on this host. There is no
// registry to pull from, so the image is made here: debootstrap a minimal Debian, apt-get the
// Python stack into it inside a chroot, bake the agent in, trim, and import it into containerd.
//
// The image's tag is a hash of its recipe (packages, suite, stubs, configuration, trim rules,
// the agent's source files and CODE_INTERPRETER_RECIPE_VERSION), so `ensure…` is a cheap
// `ctr images check` when nothing changed and a rebuild when something did. The mirror is
// deliberately not part of the recipe: the same recipe from another mirror is the same image.
//
// It is built in two layers so that editing the agent does not redo the Debian part:
// - `sandpool.local/code-interpreter-base:<hash of the Debian recipe>`: Debian, the Python
//   stack, the sandbox user, trimmed (3–4 minutes, one ~210 MiB layer); kept in containerd as
//   the build cache;
// - `sandpool.local/code-interpreter:<hash of everything>`: the base's layer plus a tiny
//   layer with the agent, and the image configuration (a few seconds).
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, readdirSync, readFileSync, type WriteStream } from 'node:fs';
import { chmod, chown, copyFile, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureDebianPackages } from '../../cli/provision/apt';
import { ensureDir, logsDir, sandpoolHome } from '../../cli/paths';
import { StepError } from '../../cli/ui';
import { imageExists, imageSize, importImage, importRootfsImage, type ImageConfig } from './oci';

const execFileAsync = promisify(execFile);

/** Bump when the build steps below change in a way the recipe object does not capture. */
export const CODE_INTERPRETER_RECIPE_VERSION = 1;
export const TEST_IMAGE_RECIPE_VERSION = 1;

export const CODE_INTERPRETER_REPOSITORY = 'sandpool.local/code-interpreter';
export const CODE_INTERPRETER_BASE_REPOSITORY = 'sandpool.local/code-interpreter-base';
export const TEST_IMAGE_REPOSITORY = 'sandpool.local/busybox';
const DEBIAN_SUITE = 'bookworm';

/** What every sandbox image promises the runtime driver. */
export const SANDBOX_CONTRACT = {
  /** The agent and the user's code run as this uid/gid (user `sandbox`). */
  uid: 1000,
  gid: 1000,
  /** The root filesystem can be mounted read-only; only these must be writable mounts. */
  writablePaths: ['/tmp', '/mnt/data', '/run/sandpool'],
  /** The agent's socket inside /run/sandpool (a host folder writable by uid 1000 must be bind-mounted there). */
  agentSocketPath: '/run/sandpool/agent.sock',
  dataDir: '/mnt/data',
} as const;

/**
 * The Python stack of Azure's code interpreter that Debian bookworm packages. `python3-pptx`
 * is not packaged in bookworm (checked with apt-cache policy), so python-pptx is missing.
 * libopenblas0-serial replaces Debian's reference BLAS/LAPACK (which numpy, scipy and
 * scikit-learn would otherwise get) and is 10–50× faster for linear algebra; the serial
 * build starts no thread pool, which suits sandboxes limited to about one core.
 */
export const CODE_INTERPRETER_PACKAGES = [
  'python3',
  'python3-ipykernel',
  'python3-jupyter-client',
  'python3-numpy',
  'python3-pandas',
  'python3-matplotlib',
  'python3-scipy',
  'python3-sklearn',
  'python3-sympy',
  'python3-openpyxl',
  'python3-pil',
  'python3-docx',
  'python3-reportlab',
  'libopenblas0-serial',
  'tini',
] as const;

/**
 * Hard dependencies that the sandbox never uses, satisfied by a local empty package instead of
 * being installed. Without this apt pulls in g++, gdb, Python headers, boost and Tk (~400 MB).
 */
const STUBBED_PACKAGES: Record<string, string> = {
  'python3-pythran': 'an ahead-of-time compiler scipy was built with; depends on g++, boost and the Python headers',
  'python3-debugpy': "ipykernel's debugger backend; depends on gdb. ipykernel works without it (no %debug over the debug protocol)",
  'python3-pil.imagetk': "Pillow's Tk bridge for matplotlib's TkAgg backend; there is no display in a sandbox",
};

/** Modules the kernel imports while the sandbox waits in the pool (see agent/sandpool_kernel.py). */
const PRELOAD = 'numpy,pandas,matplotlib.pyplot';

const CODE_INTERPRETER_CONFIG: ImageConfig = {
  // tini as PID 1 reaps the orphans user code leaves behind and forwards SIGTERM to the agent.
  entrypoint: ['/usr/bin/tini', '--', '/usr/bin/python3', '-s', '/opt/sandpool/agent.py'],
  user: `${SANDBOX_CONTRACT.uid}:${SANDBOX_CONTRACT.gid}`,
  workingDir: SANDBOX_CONTRACT.dataDir,
  env: [
    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'LANG=C.UTF-8',
    // /home/sandbox is a symlink to /tmp/home, created by the agent: the root fs is read-only.
    'HOME=/home/sandbox',
    'TMPDIR=/tmp',
    'PYTHONUNBUFFERED=1',
    // Every .pyc is compiled at build time; nothing could be written at run time anyway.
    'PYTHONDONTWRITEBYTECODE=1',
    'MPLBACKEND=Agg',
    'MPLCONFIGDIR=/tmp/.config/matplotlib',
    'IPYTHONDIR=/tmp/.ipython',
    'JUPYTER_RUNTIME_DIR=/tmp/.jupyter/runtime',
    'JUPYTER_DATA_DIR=/tmp/.jupyter/data',
    'XDG_CACHE_HOME=/tmp/.cache',
    `SANDPOOL_AGENT_SOCKET=${SANDBOX_CONTRACT.agentSocketPath}`,
    `SANDPOOL_PRELOAD=${PRELOAD}`,
  ],
  labels: { 'io.sandpool.image': 'code-interpreter' },
};

const AGENT_DIR = fileURLToPath(new URL('../agent/', import.meta.url));
const AGENT_FILES = [
  { source: 'agent.py', target: 'opt/sandpool/agent.py', mode: 0o755 },
  { source: 'sandpool_kernel.py', target: 'opt/sandpool/kernel/sandpool_kernel.py', mode: 0o644 },
] as const;

/** Paths removed from the root filesystem after installation (relative to it; globs are not used). */
const TRIM = {
  /** Emptied folders. */
  empty: ['var/lib/apt/lists', 'var/cache/apt', 'var/log', 'tmp', 'var/tmp', 'usr/share/man', 'usr/share/info', 'usr/share/lintian'],
  /** Device nodes debootstrap made: the runtime mounts its own /dev. */
  emptyLast: ['dev'],
  /** Under usr/share/doc only copyright files are kept; of usr/share/locale only English. */
  keepDocCopyright: true,
  keepLocales: ['en', 'locale.alias'],
  /** Test suites of Python packages (~170 MB: pandas, sympy, scipy, numpy…); nothing imports them. */
  removePythonTests: true,
  /** setuid/setgid bits are stripped: nothing in a sandbox should be able to become root. */
  stripSetuid: true,
};

// dpkg never writes these in the first place (the trim above catches the base system).
const DPKG_EXCLUDES = `path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/lintian/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/en*
path-include=/usr/share/locale/locale.alias
`;

const APT_CONF = `APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
Acquire::Retries "3";
`;

const PROGRESS_INTERVAL_MS = 3_000;
/** A build takes 3–5 minutes; a lock held far longer belongs to a stuck process (or a reused pid). */
const LOCK_WAIT_MS = 30 * 60_000;
const HEARTBEAT_INTERVAL_MS = 15_000;

export const imageBuildLogPath = () => join(logsDir, 'image-build.log');
const buildRoot = () => join(sandpoolHome, 'build');

// ---------------------------------------------------------------------------------------------
// Public entry points

/** The reference the current recipe builds, e.g. `sandpool.local/code-interpreter:1a2b3c4d5e6f`. */
export function codeInterpreterReference(): string {
  return `${CODE_INTERPRETER_REPOSITORY}:${recipeHash(codeInterpreterRecipe(readAgentFiles()))}`;
}

/** The Debian part's reference, e.g. `sandpool.local/code-interpreter-base:1a2b3c4d5e6f`. */
export function codeInterpreterBaseReference(): string {
  return `${CODE_INTERPRETER_BASE_REPOSITORY}:${recipeHash(codeInterpreterBaseRecipe())}`;
}

/**
 * Returns the code-interpreter image for the current recipe, building it first when containerd
 * does not have it: 3–5 minutes from nothing, seconds when only the agent changed (progress
 * every few seconds). When it exists this costs one `ctr images check` (~50 ms).
 */
export async function ensureCodeInterpreterImage(progress: (msg: string) => void): Promise<{ reference: string; built: boolean }> {
  // The agent's files are read once: the bytes hashed into the tag are the bytes installed.
  const agent = readAgentFiles();
  const reference = `${CODE_INTERPRETER_REPOSITORY}:${recipeHash(codeInterpreterRecipe(agent))}`;
  return ensureImage(reference, 'code-interpreter', progress, async (workDir) => {
    const base = codeInterpreterBaseReference();
    await ensureImage(base, 'code-interpreter-base', progress, (baseWorkDir) => buildCodeInterpreterBase(base, baseWorkDir, progress));
    await assembleCodeInterpreter(reference, base, agent, workDir, progress);
  });
}

/** The reference of the small busybox test image, e.g. `sandpool.local/busybox:1a2b3c4d5e6f`. */
export function testImageReference(): string {
  return `${TEST_IMAGE_REPOSITORY}:${recipeHash({ version: TEST_IMAGE_RECIPE_VERSION, package: 'busybox-static', config: TEST_IMAGE_CONFIG })}`;
}

/**
 * A tiny image (busybox only, ~1 MB, built in seconds) for runtime-driver tests that need a
 * container but not Python. Its default command sleeps until SIGTERM; it runs as uid 1000.
 */
export async function ensureTestImage(progress: (msg: string) => void): Promise<{ reference: string; built: boolean }> {
  const reference = testImageReference();
  return ensureImage(reference, 'busybox', progress, (workDir) => buildTestImage(reference, workDir, progress));
}

// ---------------------------------------------------------------------------------------------
// Recipe and cache

function codeInterpreterBaseRecipe() {
  return {
    version: CODE_INTERPRETER_RECIPE_VERSION,
    suite: DEBIAN_SUITE,
    variant: 'minbase',
    packages: CODE_INTERPRETER_PACKAGES,
    stubs: Object.keys(STUBBED_PACKAGES),
    dpkgExcludes: DPKG_EXCLUDES,
    aptConf: APT_CONF,
    trim: TRIM,
    contract: SANDBOX_CONTRACT,
  };
}

type AgentFile = { target: string; mode: number; content: Buffer };

function readAgentFiles(): AgentFile[] {
  return AGENT_FILES.map((file) => ({ target: file.target, mode: file.mode, content: readFileSync(join(AGENT_DIR, file.source)) }));
}

function codeInterpreterRecipe(agent: AgentFile[]) {
  return {
    version: CODE_INTERPRETER_RECIPE_VERSION,
    base: recipeHash(codeInterpreterBaseRecipe()),
    config: CODE_INTERPRETER_CONFIG,
    agent: agent.map((file) => ({ target: file.target, mode: file.mode, sha256: createHash('sha256').update(file.content).digest('hex') })),
  };
}

function recipeHash(recipe: unknown): string {
  return createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 12);
}

// One build per reference at a time in this process…
const inflight = new Map<string, Promise<{ reference: string; built: boolean }>>();

async function ensureImage(
  reference: string,
  name: string,
  progress: (msg: string) => void,
  build: (workDir: string) => Promise<void>,
): Promise<{ reference: string; built: boolean }> {
  if (await imageExists(reference)) return { reference, built: false };
  const running = inflight.get(reference);
  if (running) return running;
  const task = (async () => {
    // …and across processes (an engine and a test run starting together), with a lock folder.
    const release = await acquireBuildLock(name, progress);
    try {
      if (await imageExists(reference)) return { reference, built: false };
      await removeLeftoverBuilds(name, progress);
      const workDir = await mkdtemp(join(buildRoot(), `build-${name}-`));
      const startedAt = performance.now();
      progress(`building ${reference} (log: ${imageBuildLogPath()})`);
      try {
        await build(workDir);
      } finally {
        await removeBuildFolder(workDir);
      }
      const size = await imageSize(reference).catch(() => undefined);
      progress(`built ${reference} in ${((performance.now() - startedAt) / 1000).toFixed(0)}s${size ? ` (${size} compressed)` : ''}`);
      return { reference, built: true };
    } finally {
      await release();
    }
  })();
  inflight.set(reference, task);
  try {
    return await task;
  } finally {
    inflight.delete(reference);
  }
}

async function acquireBuildLock(name: string, progress: (msg: string) => void): Promise<() => Promise<void>> {
  ensureDir(buildRoot());
  const lockDir = join(buildRoot(), `${name}.lock`);
  let waitingSince: number | undefined;
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(join(lockDir, 'pid'), String(process.pid));
      return () => rm(lockDir, { recursive: true, force: true });
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
    }
    const holder = Number(readFileSafe(join(lockDir, 'pid')));
    if (!Number.isInteger(holder) || holder <= 0 || !processAlive(holder)) {
      // The holder died mid-build (or had not written its pid yet: give it a moment).
      if (existsSync(lockDir) && Date.now() - (await stat(lockDir)).mtimeMs > 5_000) await rm(lockDir, { recursive: true, force: true });
    } else if (waitingSince === undefined) {
      waitingSince = Date.now();
      progress(`another process (pid ${holder}) is building the ${name} image; waiting for it`);
    } else if (Date.now() - waitingSince > LOCK_WAIT_MS) {
      throw new StepError(
        `Process ${holder} has held the ${name} image build lock (${lockDir}) for over ${LOCK_WAIT_MS / 60_000} minutes.`,
        `If no build is running (\`ps -p ${holder}\`), remove ${lockDir} and start again.`,
      );
    }
    await sleep(1_000);
  }
}

async function removeLeftoverBuilds(name: string, progress: (msg: string) => void): Promise<void> {
  // mkdtemp's suffix is 6 characters: `build-code-interpreter-XXXXXX` never matches the base's folders.
  const pattern = new RegExp(`^build-${name}-[A-Za-z0-9]{6}$`);
  for (const entry of readdirSync(buildRoot())) {
    if (!pattern.test(entry)) continue;
    progress(`removing the unfinished build folder ${entry} from an interrupted build`);
    await removeBuildFolder(join(buildRoot(), entry));
  }
}

/** Unmounts whatever is still mounted inside (a /proc from an interrupted build), then deletes. */
async function removeBuildFolder(dir: string): Promise<void> {
  for (const mountPoint of mountsUnder(dir)) {
    await execFileAsync('umount', ['--lazy', mountPoint]).catch(() => undefined);
  }
  const left = mountsUnder(dir);
  if (left.length > 0) {
    throw new StepError(`Cannot remove the build folder ${dir}: ${left.join(', ')} is still mounted.`, `Unmount it (\`umount --lazy ${left[0]}\`), then remove ${dir}.`);
  }
  await rm(dir, { recursive: true, force: true });
}

function mountsUnder(dir: string): string[] {
  const prefix = `${resolve(dir)}/`;
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .map((point) => point.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((point) => point.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

// ---------------------------------------------------------------------------------------------
// The code-interpreter build

async function buildCodeInterpreterBase(reference: string, workDir: string, progress: (msg: string) => void): Promise<void> {
  await ensureDebianPackages(['debootstrap'], progress);
  const sources = debianSources();
  const rootfs = join(workDir, 'rootfs');
  const startedAt = performance.now();
  const phaseTime = (since: number) => `${((performance.now() - since) / 1000).toFixed(0)}s`;

  let since = performance.now();
  progress(`debootstrap ${DEBIAN_SUITE} (minbase) from ${sources.mirror}`);
  await run('debootstrap', ['--variant=minbase', '--components=main', DEBIAN_SUITE, rootfs, sources.mirror], {
    title: 'debootstrap',
    progress,
    phases: DEBOOTSTRAP_PHASES,
  });
  progress(`base system ready (${phaseTime(since)})`);

  await writeFile(join(rootfs, 'etc/apt/sources.list'), sources.chrootList);
  await writeFile(join(rootfs, 'etc/apt/apt.conf.d/99sandpool'), APT_CONF);
  await writeFile(join(rootfs, 'etc/dpkg/dpkg.cfg.d/99sandpool-excludes'), DPKG_EXCLUDES);
  // No service may start inside the chroot during package configuration.
  await writeFile(join(rootfs, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  await writeStubPackage(rootfs);

  const procDir = join(rootfs, 'proc');
  await run('mount', ['-t', 'proc', 'proc', procDir], { title: 'mount /proc in the build chroot', progress });
  try {
    await chroot(rootfs, ['dpkg', '--install', '/tmp/sandpool-build-stubs.deb'], 'install the stub package', progress);
    since = performance.now();
    await chroot(rootfs, ['apt-get', 'update'], 'apt-get update (in the image)', progress);
    // Security and point-release updates of the base system first, then the Python stack.
    await chroot(rootfs, ['apt-get', 'upgrade', '-y'], 'apt-get upgrade (in the image)', progress, APT_PHASES);
    progress(`installing ${CODE_INTERPRETER_PACKAGES.length} packages and their dependencies`);
    await chroot(rootfs, ['apt-get', 'install', '-y', ...CODE_INTERPRETER_PACKAGES], 'apt-get install (in the image)', progress, APT_PHASES);
    progress(`packages installed (${phaseTime(since)})`);

    since = performance.now();
    const { uid, gid } = SANDBOX_CONTRACT;
    await chroot(rootfs, ['groupadd', '--gid', String(gid), 'sandbox'], 'create the sandbox group', progress);
    await chroot(rootfs, ['useradd', '--uid', String(uid), '--gid', String(gid), '--home-dir', '/home/sandbox', '--no-create-home', '--shell', '/bin/bash', 'sandbox'], 'create the sandbox user', progress);
    await mkdir(join(rootfs, 'opt/sandpool/matplotlib'), { recursive: true, mode: 0o755 });
    await trimRootfs(rootfs, progress);
    // Matplotlib scans every font on first use (~1 s and a warning on a read-only fs); the
    // agent copies this cache into MPLCONFIGDIR at start-up.
    await chroot(rootfs, ['env', 'MPLCONFIGDIR=/opt/sandpool/matplotlib', 'python3', '-c', 'import matplotlib.font_manager'], 'build the matplotlib font cache', progress);
    // Every module must have its .pyc: the root filesystem is read-only at run time, so a
    // missing one would be recompiled in every sandbox, at every start.
    await chroot(rootfs, ['python3', '-m', 'compileall', '-q', '-j', '0', '/usr/lib/python3/dist-packages', '/usr/lib/python3.11'], 'pre-compile Python modules', progress);
    await chroot(
      rootfs,
      ['python3', '-c', 'import ipykernel, jupyter_client, numpy, pandas, matplotlib.pyplot, scipy.stats, scipy.optimize, sklearn.linear_model, sympy, openpyxl, PIL.Image, docx, reportlab.pdfgen.canvas, matplotlib_inline.backend_inline'],
      'check that every package imports',
      progress,
    );
    progress(`configured the image (${phaseTime(since)})`);
  } finally {
    await execFileAsync('umount', ['--lazy', procDir]).catch(() => undefined);
  }
  await finalTouches(rootfs);

  since = performance.now();
  await importRootfsImage({
    rootfsDir: rootfs,
    reference,
    // Only a layer cache for the real image: not meant to be run.
    config: { env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], labels: { 'io.sandpool.image': 'code-interpreter-base' } },
    progress,
    workDir,
  });
  progress(`base image imported (${phaseTime(since)}); whole base build ${phaseTime(startedAt)}`);
}

/** The real image: the base's layer, a layer with the agent, and the run-time configuration. */
async function assembleCodeInterpreter(reference: string, base: string, agent: AgentFile[], workDir: string, progress: (msg: string) => void): Promise<void> {
  const agentLayer = join(workDir, 'agent-layer');
  await mkdir(agentLayer, { mode: 0o755 });
  await installAgent(agentLayer, agent);
  // The agent's two files are not pre-compiled: agent.py and the kernel run as scripts (never
  // cached).
  await importImage({
    layers: [{ layersOf: base }, { rootfsDir: agentLayer }],
    reference,
    config: { ...CODE_INTERPRETER_CONFIG, labels: { ...CODE_INTERPRETER_CONFIG.labels, 'io.sandpool.recipe': reference.split(':').pop() ?? '', 'io.sandpool.base': base } },
    progress,
    workDir,
  });
}

/** An empty .deb that `Provides:` the stubbed packages, so apt considers them installed. */
async function writeStubPackage(rootfs: string): Promise<void> {
  const packageDir = join(rootfs, 'tmp', 'sandpool-build-stubs');
  await mkdir(join(packageDir, 'DEBIAN'), { recursive: true });
  const reasons = Object.entries(STUBBED_PACKAGES).map(([name, why]) => ` ${name}: ${why}.`);
  await writeFile(
    join(packageDir, 'DEBIAN', 'control'),
    [
      'Package: sandpool-build-stubs',
      'Version: 1',
      'Architecture: all',
      'Maintainer: Sandpool <root@localhost>',
      `Provides: ${Object.keys(STUBBED_PACKAGES).join(', ')}`,
      'Description: stands in for dependencies a Sandpool sandbox never uses',
      ...reasons,
      '',
    ].join('\n'),
  );
  await run('dpkg-deb', ['--root-owner-group', '--build', packageDir, join(rootfs, 'tmp', 'sandpool-build-stubs.deb')], { title: 'build the stub package', progress: () => {} });
}

async function installAgent(rootfs: string, agent: AgentFile[]): Promise<void> {
  for (const file of agent) {
    const target = join(rootfs, file.target);
    await mkdir(join(target, '..'), { recursive: true, mode: 0o755 });
    await writeFile(target, file.content);
    await chmod(target, file.mode);
    await chown(target, 0, 0);
  }
}

async function trimRootfs(rootfs: string, progress: (msg: string) => void): Promise<void> {
  for (const dir of TRIM.empty) await emptyDir(join(rootfs, dir));
  const docDir = join(rootfs, 'usr/share/doc');
  for (const pkg of await readdir(docDir).catch(() => [] as string[])) {
    for (const entry of await readdir(join(docDir, pkg)).catch(() => [] as string[])) {
      if (entry !== 'copyright') await rm(join(docDir, pkg, entry), { recursive: true, force: true });
    }
  }
  const localeDir = join(rootfs, 'usr/share/locale');
  for (const entry of await readdir(localeDir).catch(() => [] as string[])) {
    if (!TRIM.keepLocales.some((keep) => entry === keep || entry.startsWith(`${keep}_`))) await rm(join(localeDir, entry), { recursive: true, force: true });
  }
  // -prune keeps find from descending into what it is about to delete.
  await run('find', [join(rootfs, 'usr/lib/python3/dist-packages'), '-type', 'd', '(', '-name', 'tests', '-o', '-name', 'testing_data_dummy', ')', '-prune', '-exec', 'rm', '-rf', '{}', '+'], {
    title: 'remove Python test suites',
    progress,
  });
  await run('find', [rootfs, '-xdev', '-type', 'f', '-perm', '/6000', '-exec', 'chmod', 'ug-s', '{}', '+'], { title: 'strip setuid bits', progress });
}

/** Files a sandbox expects, and the writable places it gets at run time. */
async function finalTouches(rootfs: string): Promise<void> {
  for (const dir of TRIM.emptyLast) await emptyDir(join(rootfs, dir));
  await rm(join(rootfs, 'usr/sbin/policy-rc.d'), { force: true });
  await rm(join(rootfs, 'etc/apt/apt.conf.d/99sandpool'), { force: true });
  await writeFile(join(rootfs, 'etc/resolv.conf'), '');
  await writeFile(join(rootfs, 'etc/hostname'), 'sandbox\n');
  await writeFile(join(rootfs, 'etc/hosts'), '127.0.0.1\tlocalhost sandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n');
  await ensureRuntimeDirs(rootfs);
  // HOME must be writable on a read-only root: the agent creates /tmp/home at start-up.
  await rm(join(rootfs, 'home/sandbox'), { recursive: true, force: true });
  await symlink('/tmp/home', join(rootfs, 'home/sandbox'));
}

async function ensureRuntimeDirs(rootfs: string): Promise<void> {
  await mkdir(join(rootfs, 'tmp'), { recursive: true });
  await chmod(join(rootfs, 'tmp'), 0o1777);
  await mkdir(join(rootfs, 'mnt/data'), { recursive: true });
  await chown(join(rootfs, 'mnt/data'), SANDBOX_CONTRACT.uid, SANDBOX_CONTRACT.gid);
  await chmod(join(rootfs, 'mnt/data'), 0o755);
  await mkdir(join(rootfs, 'run/sandpool'), { recursive: true });
  await chmod(join(rootfs, 'run/sandpool'), 0o755);
  for (const dir of ['dev', 'proc', 'sys', 'home']) await mkdir(join(rootfs, dir), { recursive: true });
}

async function emptyDir(dir: string): Promise<void> {
  for (const entry of await readdir(dir).catch(() => [] as string[])) await rm(join(dir, entry), { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// The busybox test image

const TEST_IMAGE_CONFIG: ImageConfig = {
  // Sleeps until SIGTERM/SIGINT (PID 1 ignores signals it has no handler for).
  cmd: ['/bin/sh', '-c', "trap 'exit 0' TERM INT; while :; do sleep 1 & wait $!; done"],
  user: `${SANDBOX_CONTRACT.uid}:${SANDBOX_CONTRACT.gid}`,
  workingDir: SANDBOX_CONTRACT.dataDir,
  env: ['PATH=/bin', 'HOME=/tmp'],
  labels: { 'io.sandpool.image': 'busybox-test' },
};

async function buildTestImage(reference: string, workDir: string, progress: (msg: string) => void): Promise<void> {
  const downloadDir = join(workDir, 'download');
  await mkdir(downloadDir);
  // `apt-get download` fetches the .deb without installing it on the host.
  const download = () => run('apt-get', ['download', 'busybox-static'], { title: 'apt-get download busybox-static', progress, cwd: downloadDir });
  await download().catch(async () => {
    await run('apt-get', ['update'], { title: 'apt-get update', progress });
    await download();
  });
  const deb = readdirSync(downloadDir).find((name) => name.endsWith('.deb'));
  if (!deb) throw new StepError('apt-get download busybox-static produced no .deb.', `See ${imageBuildLogPath()}.`);
  const extracted = join(workDir, 'extracted');
  await run('dpkg-deb', ['-x', join(downloadDir, deb), extracted], { title: 'unpack busybox-static', progress });
  const busybox = ['bin/busybox', 'usr/bin/busybox'].map((path) => join(extracted, path)).find((path) => existsSync(path));
  if (!busybox) throw new StepError('busybox-static did not contain bin/busybox.', 'Check the package with `dpkg -c`.');

  const rootfs = join(workDir, 'rootfs');
  await mkdir(join(rootfs, 'bin'), { recursive: true });
  await copyFile(busybox, join(rootfs, 'bin/busybox'));
  await chmod(join(rootfs, 'bin/busybox'), 0o755);
  const { stdout } = await execFileAsync(busybox, ['--list']);
  for (const applet of stdout.split('\n').map((line) => line.trim())) {
    if (applet && applet !== 'busybox' && /^[\w.[-]+$/.test(applet)) await symlink('busybox', join(rootfs, 'bin', applet)).catch(() => undefined);
  }
  await mkdir(join(rootfs, 'etc'));
  await writeFile(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nsandbox:x:1000:1000:sandbox:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  await writeFile(join(rootfs, 'etc/group'), 'root:x:0:\nsandbox:x:1000:\nnogroup:x:65534:\n');
  await writeFile(join(rootfs, 'etc/hosts'), '127.0.0.1\tlocalhost sandbox\n');
  await mkdir(join(rootfs, 'root'), { mode: 0o700 });
  await ensureRuntimeDirs(rootfs);
  await importRootfsImage({ rootfsDir: rootfs, reference, config: TEST_IMAGE_CONFIG, progress, workDir });
}

// ---------------------------------------------------------------------------------------------
// Debian mirror from the host's apt configuration

type AptEntry = { uri: string; suites: string[]; components: string[] };

/**
 * The Debian mirror for debootstrap and the sources.list for the image, from the host's own
 * apt sources (one-line `.list` and deb822 `.sources` files), so a host with a local mirror
 * or proxy builds through it. SANDPOOL_DEBIAN_MIRROR overrides the mirror.
 */
export function debianSources(): { mirror: string; chrootList: string } {
  const entries: AptEntry[] = [];
  const files = ['/etc/apt/sources.list'];
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) for (const name of readdirSync(dir).sort()) if (name.endsWith('.list') || name.endsWith('.sources')) files.push(join(dir, name));
  for (const file of files) {
    const text = readFileSafe(file);
    if (text) entries.push(...(file.endsWith('.sources') ? parseDeb822(text) : parseOneLine(text)));
  }
  const override = process.env.SANDPOOL_DEBIAN_MIRROR?.trim();
  const main = entries.find((entry) => entry.suites.includes(DEBIAN_SUITE) && entry.components.includes('main'));
  const mirror = override || main?.uri;
  if (!mirror) {
    throw new StepError(
      `No Debian ${DEBIAN_SUITE} "main" mirror was found in /etc/apt/sources.list or /etc/apt/sources.list.d/.`,
      `Set SANDPOOL_DEBIAN_MIRROR to a Debian mirror URL (e.g. http://deb.debian.org/debian) and start again.`,
    );
  }
  const lines = new Set<string>([`deb ${mirror} ${DEBIAN_SUITE} main`]);
  for (const entry of entries) {
    if (!entry.components.includes('main')) continue;
    for (const suite of entry.suites) {
      if (suite === `${DEBIAN_SUITE}-updates` || suite === `${DEBIAN_SUITE}-security`) lines.add(`deb ${entry.uri} ${suite} main`);
    }
  }
  return { mirror, chrootList: `${[...lines].join('\n')}\n` };
}

function parseOneLine(text: string): AptEntry[] {
  const entries: AptEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    // deb [options] uri suite component...
    const match = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (match?.[1] && match[2]) entries.push({ uri: match[1].replace(/\/$/, ''), suites: [match[2]], components: (match[3] ?? '').split(/\s+/).filter(Boolean) });
  }
  return entries;
}

function parseDeb822(text: string): AptEntry[] {
  const entries: AptEntry[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last = '';
    for (const raw of stanza.split('\n')) {
      if (raw.startsWith('#')) continue;
      if (/^\s/.test(raw) && last) fields.set(last, `${fields.get(last) ?? ''} ${raw.trim()}`);
      const match = /^([\w-]+):\s*(.*)$/.exec(raw);
      if (match?.[1]) fields.set((last = match[1].toLowerCase()), match[2] ?? '');
    }
    if (fields.get('enabled')?.trim() === 'no') continue;
    if (!(fields.get('types') ?? '').split(/\s+/).includes('deb')) continue;
    const suites = (fields.get('suites') ?? '').split(/\s+/).filter(Boolean);
    const components = (fields.get('components') ?? '').split(/\s+/).filter(Boolean);
    for (const uri of (fields.get('uris') ?? '').split(/\s+/).filter(Boolean)) entries.push({ uri: uri.replace(/\/$/, ''), suites, components });
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------
// Running the build's commands

type Phases = (line: string) => { phase: string; item?: string; total?: number } | undefined;

/** debootstrap's "I: Retrieving libc6 2.36-9" lines name the phase and the package. */
const DEBOOTSTRAP_PHASES: Phases = (line) => {
  const match = /^I: (Retrieving|Validating|Extracting|Unpacking|Configuring|Installing|Resolving|Checking|Base system)\s*(\S*)/.exec(line);
  if (!match) return undefined;
  const verb = match[1] ?? '';
  const phase = { Retrieving: 'retrieving packages', Validating: 'retrieving packages', Extracting: 'extracting packages', Unpacking: 'unpacking packages', Configuring: 'configuring packages' }[verb] ?? verb.toLowerCase();
  const counted = verb === 'Retrieving' || verb === 'Extracting' || verb === 'Unpacking' || verb === 'Configuring';
  return { phase, item: counted ? match[2] || undefined : undefined };
};

/** apt-get's "Get:12 …", "Unpacking x", "Setting up x" lines, with the total from its summary. */
const APT_PHASES: Phases = (line) => {
  const total = /(\d+) newly installed/.exec(line);
  if (total) return { phase: 'resolving', total: Number(total[1]) };
  const get = /^Get:\d+ \S+ \S+ \S+ (\S+)/.exec(line);
  if (get) return { phase: 'retrieving packages', item: get[1] };
  const unpack = /^Unpacking (\S+)/.exec(line);
  if (unpack) return { phase: 'unpacking packages', item: unpack[1] };
  const setup = /^Setting up (\S+)/.exec(line);
  if (setup) return { phase: 'configuring packages', item: setup[1] };
  return undefined;
};

async function chroot(rootfs: string, command: string[], title: string, progress: (msg: string) => void, phases?: Phases): Promise<void> {
  await run('chroot', [rootfs, ...command], {
    title,
    progress,
    phases,
    // A clean environment: nothing of the host's (PYTHONPATH, proxies we do not know) leaks in.
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/root', DEBIAN_FRONTEND: 'noninteractive', ...proxyEnv() },
  });
}

function proxyEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY']) {
    const value = process.env[name];
    if (value) env[name] = value;
  }
  return env;
}

let buildLog: WriteStream | undefined;
function log(): WriteStream {
  if (!buildLog) {
    ensureDir(logsDir);
    buildLog = createWriteStream(imageBuildLogPath(), { flags: 'a' });
  }
  return buildLog;
}

/**
 * Runs one build command, appending its output to the build log and reporting its phase
 * (retrieving/unpacking/configuring, with counts) at most every few seconds.
 */
async function run(
  command: string,
  args: string[],
  options: { title: string; progress: (msg: string) => void; phases?: Phases; env?: Record<string, string>; cwd?: string },
): Promise<void> {
  const { title, progress, phases } = options;
  log().write(`\n=== ${new Date().toISOString()} ${title}: ${command} ${args.join(' ')}\n`);
  const startedAt = Date.now();
  const tail: string[] = [];
  let phase = '';
  // Counted per phase: apt alternates unpacking and configuring for essential packages.
  const counts = new Map<string, number>();
  let total: number | undefined;
  let item = '';
  let lastReport = 0;
  let reported = '';
  const report = (force: boolean) => {
    if (!phase) return;
    const now = Date.now();
    const count = counts.get(phase) ?? 0;
    const line = `${title}: ${phase}${count ? ` (${count}${total ? `/${total}` : ''}${item ? `, ${item}` : ''})` : ''}`;
    if (now - lastReport < PROGRESS_INTERVAL_MS && !force) return;
    if (line === reported && now - lastReport < HEARTBEAT_INTERVAL_MS) return;
    lastReport = now;
    reported = line;
    progress(`${line} [${Math.round((now - startedAt) / 1000)}s]`);
  };
  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > 15) tail.shift();
    const parsed = phases?.(line);
    if (!parsed) return;
    if (parsed.total !== undefined) total = parsed.total;
    if (parsed.phase !== phase) item = '';
    phase = parsed.phase;
    if (parsed.item) {
      counts.set(phase, (counts.get(phase) ?? 0) + 1);
      item = parsed.item;
    }
    report(false);
  };
  const env = options.env ? ({ ...options.env } as NodeJS.ProcessEnv) : process.env;
  const child = spawn(command, args, { env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      log().write(chunk);
      const lines = (pending + chunk).split(/\r?\n/);
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) onLine(line.trim());
    });
  }
  const heartbeat = setInterval(() => {
    if (Date.now() - lastReport >= HEARTBEAT_INTERVAL_MS) {
      lastReport = Date.now();
      progress(`${title}: still running${phase ? ` (${phase})` : ''} [${Math.round((Date.now() - startedAt) / 1000)}s]`);
    }
  }, 5_000);
  heartbeat.unref();
  try {
    const exitCode = await new Promise<number | null>((resolvePromise, reject) => {
      child.once('error', reject);
      child.once('close', resolvePromise);
    });
    if (exitCode !== 0) throw buildFailure(title, command, exitCode, tail);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') throw new StepError(`${title} failed: \`${command}\` was not found.`, `Install it (\`apt-get install -y ${command}\`) and start again.`);
    throw error;
  } finally {
    clearInterval(heartbeat);
  }
}

function buildFailure(title: string, command: string, exitCode: number | null, tail: string[]): StepError {
  const text = tail.join('\n');
  const summary = tail.filter((line) => /^(E:|W:|dpkg: error)|error/i.test(line)).slice(-3).join(' | ') || tail.slice(-3).join(' | ');
  if (/Failed to fetch|Temporary failure resolving|Could not connect|Couldn't download|Failed getting release file|Unable to connect/i.test(text)) {
    return new StepError(
      `${title} failed: the Debian mirror could not be reached (${summary}).`,
      `Check network access to the mirror in /etc/apt/sources.list(.d) (or set SANDPOOL_DEBIAN_MIRROR), then start again. Full output: ${imageBuildLogPath()}.`,
    );
  }
  if (/No space left on device/i.test(text)) {
    return new StepError(`${title} failed: the disk is full.`, `Free space under ${buildRoot()} and /var/lib/containerd, then start again.`);
  }
  return new StepError(
    `${title} failed (\`${command}\` exited with ${exitCode ?? 'a signal'}): ${summary}`,
    `Read ${imageBuildLogPath()} for the full output; the build starts from scratch next time.`,
  );
}

function readFileSafe(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((resolvePromise) => setTimeout(resolvePromise, ms));
