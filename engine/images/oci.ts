// Turns a root filesystem folder into a single-layer OCI image in containerd's store.
//
// Why we write the OCI image layout ourselves instead of installing umoci/skopeo/buildah:
// a single-layer image is four small JSON documents plus one tar stream, all of them fully
// specified by the OCI image spec. GNU tar (always on Debian) writes the layer with numeric
// owners, modes, hard links and xattrs exactly as they are on disk, and Node hashes and
// compresses it in the same pass. That is ~150 lines with no extra host package, no extra
// daemonless storage (umoci keeps its own layout, buildah its own store) and a build we fully
// control and can explain in an error message. The result is fed to `ctr images import`,
// which stores the blobs and unpacks the layer for the default (overlayfs) snapshotter.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip } from 'node:zlib';
import { StepError } from '../../cli/ui';

const execFileAsync = promisify(execFile);

/** containerd namespace of everything Sandpool creates, so `ctr -n sandpool …` shows only ours. */
export const CONTAINERD_NAMESPACE = 'sandpool';

/** Progress lines while taring/importing are throttled to one per this interval. */
const PROGRESS_INTERVAL_MS = 3_000;
/**
 * gzip level of the layer. Level 1 compresses a Python/numpy root filesystem to within a few
 * percent of level 6 at roughly three times the speed; the blob is only ever read locally by
 * containerd's unpacker, so the extra percent is not worth ~20 s of build time on 2 cores.
 */
const GZIP_LEVEL = 1;

export type ImageConfig = {
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  user?: string;
  workingDir?: string;
  labels?: Record<string, string>;
};

export type ImportRootfsOptions = {
  /** Folder holding the root filesystem, owned as it should be inside the image (build as root). */
  rootfsDir: string;
  /** Full reference, e.g. `sandpool.local/code-interpreter:0123456789ab`. */
  reference: string;
  config: ImageConfig;
  progress: (msg: string) => void;
  /** Scratch folder for the OCI layout (default: a sibling of rootfsDir). Removed afterwards. */
  workDir?: string;
};

/**
 * One layer of an image being assembled: a folder to pack (its files are added on top of the
 * layers before it), or every layer of an image already in containerd's store, reused as is.
 */
export type LayerSource = { rootfsDir: string } | { layersOf: string };

export type ImportImageOptions = {
  layers: LayerSource[];
  reference: string;
  config: ImageConfig;
  progress: (msg: string) => void;
  /** Scratch folder for the OCI layout. Removed afterwards. */
  workDir: string;
};

const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

type Descriptor = { mediaType: string; digest: string; size: number };

/**
 * Packs `rootfsDir` as one layer, writes an OCI image layout around it and imports it into
 * containerd (namespace `sandpool`) under `reference`, unpacked for the default snapshotter.
 * Returns the manifest digest, which is what containerd reports as the image's digest.
 */
export async function importRootfsImage(options: ImportRootfsOptions): Promise<{ reference: string; digest: string }> {
  const { rootfsDir, ...rest } = options;
  return importImage({ ...rest, layers: [{ rootfsDir }], workDir: options.workDir ?? dirname(rootfsDir) });
}

/**
 * Assembles an image from layers (folders to pack, or the layers of an image containerd
 * already has) and imports it like importRootfsImage. Reusing a big base image's layers
 * makes a change to a small top layer cost about a second: containerd already holds the
 * base blob and its unpacked snapshot, so only the new layer is stored and applied.
 */
export async function importImage(options: ImportImageOptions): Promise<{ reference: string; digest: string }> {
  const { reference, config, progress } = options;
  assertReference(reference);
  if (process.getuid?.() !== 0) {
    throw new StepError(`Packing an image for ${reference} needs root (it must read every file and keep its owner).`, 'Run Sandpool as root.');
  }

  const layoutDir = await mkdtemp(join(options.workDir, 'oci-layout-'));
  try {
    const blobsDir = join(layoutDir, 'blobs', 'sha256');
    await mkdir(blobsDir, { recursive: true });

    const layers: { descriptor: Descriptor; diffId: string }[] = [];
    for (const source of options.layers) {
      if ('rootfsDir' in source) {
        const rootStat = await stat(source.rootfsDir).catch(() => undefined);
        if (!rootStat?.isDirectory()) throw new StepError(`The root filesystem folder ${source.rootfsDir} does not exist.`, 'Build the root filesystem first.');
        layers.push(await writeLayer(source.rootfsDir, blobsDir, progress));
      } else {
        layers.push(...(await layersOf(source.layersOf, progress)));
      }
    }
    const platform = { architecture: ociArchitecture(), os: 'linux' };
    const created = new Date().toISOString();
    const imageConfig = {
      created,
      ...platform,
      config: {
        ...(config.user !== undefined && { User: config.user }),
        ...(config.env && { Env: config.env }),
        ...(config.entrypoint && { Entrypoint: config.entrypoint }),
        ...(config.cmd && { Cmd: config.cmd }),
        ...(config.workingDir !== undefined && { WorkingDir: config.workingDir }),
        ...(config.labels && { Labels: config.labels }),
      },
      rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
      history: layers.map((_, index) => ({ created, created_by: `sandpool: layer ${index + 1} of ${reference}` })),
    };
    const configDescriptor = await writeJsonBlob(blobsDir, MEDIA_TYPES.config, imageConfig);
    const manifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      config: configDescriptor,
      layers: layers.map((layer) => layer.descriptor),
    };
    const manifestDescriptor = await writeJsonBlob(blobsDir, MEDIA_TYPES.manifest, manifest);
    const index = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.index,
      manifests: [
        {
          ...manifestDescriptor,
          platform,
          annotations: {
            // containerd names the imported image after this annotation verbatim; the OCI
            // one (tag only) is there for other tools that might read the same layout.
            'io.containerd.image.name': reference,
            'org.opencontainers.image.ref.name': reference.slice(reference.lastIndexOf(':') + 1),
          },
        },
      ],
    };
    await writeFile(join(layoutDir, 'index.json'), JSON.stringify(index));
    await writeFile(join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));

    await ctrImport(layoutDir, reference, progress);
    if (!(await imageExists(reference))) {
      throw new StepError(
        `ctr imported ${reference} but containerd does not report it as complete and unpacked.`,
        `Run \`ctr -n ${CONTAINERD_NAMESPACE} images check\` to see what is missing, remove it with \`ctr -n ${CONTAINERD_NAMESPACE} images rm ${reference}\`, and start again.`,
      );
    }
    return { reference, digest: manifestDescriptor.digest };
  } finally {
    await rm(layoutDir, { recursive: true, force: true });
  }
}

/** True when `reference` is in containerd's store with all its content and unpacked for the default snapshotter. */
export async function imageExists(reference: string): Promise<boolean> {
  assertReference(reference);
  // `images check -q` prints only references that are fully present *and* unpacked, which is
  // what a container start needs; an image whose snapshot was removed counts as missing.
  const { stdout } = await ctr(['images', 'check', '-q', `name==${reference}`], 15_000);
  return stdout.split('\n').some((line) => line.trim() === reference);
}

/** Removes the image and (synchronously) its now-unreferenced content and snapshots. Unknown references are fine. */
export async function removeImage(reference: string): Promise<void> {
  assertReference(reference);
  try {
    await ctr(['images', 'rm', '--sync', reference], 60_000);
  } catch (error) {
    if (/not found/i.test(error instanceof Error ? error.message : String(error))) return;
    throw error;
  }
}

/** Lists the references of images in our namespace whose name starts with `prefix` (e.g. `sandpool.local/code-interpreter:`). */
export async function listImages(prefix = ''): Promise<string[]> {
  const { stdout } = await ctr(['images', 'ls', '-q'], 15_000);
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && line.startsWith(prefix));
}

/** Size of the image's content (compressed blobs) as containerd reports it, e.g. "123.4 MiB". */
export async function imageSize(reference: string): Promise<string | undefined> {
  const { stdout } = await ctr(['images', 'ls', `name==${reference}`], 15_000);
  const line = stdout.split('\n').find((row) => row.startsWith(`${reference} `));
  // Columns: REF TYPE DIGEST SIZE PLATFORMS LABELS, where SIZE is "<number> <unit>".
  const match = line ? /\ssha256:[0-9a-f]{64}\s+([\d.]+\s+\S+)/.exec(line) : null;
  return match?.[1];
}

// ---------------------------------------------------------------------------------------------

/**
 * The layer descriptors and diff_ids of an image already in containerd's store. Their blobs
 * are *not* copied into the layout: `ctr images import` accepts an archive whose manifest
 * refers to blobs the content store already holds (it only needs them to set the garbage
 * collection labels and to unpack, and it reuses the unpacked snapshot), which makes a new
 * top layer on a 200 MB base cost well under a second instead of re-streaming the base.
 */
async function layersOf(reference: string, progress: (msg: string) => void): Promise<{ descriptor: Descriptor; diffId: string }[]> {
  const { stdout } = await ctr(['images', 'ls', `name==${reference}`], 15_000);
  const target = stdout
    .split('\n')
    .find((line) => line.startsWith(`${reference} `))
    ?.match(/\s(sha256:[0-9a-f]{64})\s/)?.[1];
  if (!target) throw new StepError(`The image ${reference}, whose layers were to be reused, is not in containerd.`, 'Build it again (remove the tag that refers to it).');
  const manifest = JSON.parse((await ctr(['content', 'get', target], 15_000)).stdout) as { config: Descriptor; layers?: Descriptor[] };
  if (!Array.isArray(manifest.layers)) throw new StepError(`${reference} is not a single-platform image manifest.`, 'Build it with Sandpool.');
  const imageConfig = JSON.parse((await ctr(['content', 'get', manifest.config.digest], 15_000)).stdout) as { rootfs?: { diff_ids?: string[] } };
  const diffIds = imageConfig.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) throw new StepError(`${reference}'s configuration does not list one diff_id per layer.`, 'Build it again.');
  progress(`reusing ${manifest.layers.length} layer(s) of ${reference}`);
  return manifest.layers.map((layer, index) => ({ descriptor: { mediaType: layer.mediaType, digest: layer.digest, size: layer.size }, diffId: diffIds[index] ?? '' }));
}

/** Tars the root filesystem, hashing the tar (diff_id) and its gzip (blob digest) in one pass. */
async function writeLayer(rootfsDir: string, blobsDir: string, progress: (msg: string) => void): Promise<{ descriptor: Descriptor; diffId: string }> {
  const partial = join(blobsDir, 'layer.partial');
  // --numeric-owner: the image's /etc/passwd, not the host's, gives names to ids.
  // --sort=name: the same tree always gives the same tar (stable order, easier to diff).
  // --xattrs with security.capability only: file capabilities are part of the filesystem's
  // meaning; other namespaces (selinux labels, user.* from the host) are host noise.
  const tar = spawn(
    'tar',
    ['--create', '--file=-', '--numeric-owner', '--sort=name', '--xattrs', '--xattrs-include=security.capability', `--directory=${rootfsDir}`, '.'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let tarStderr = '';
  tar.stderr.setEncoding('utf8');
  tar.stderr.on('data', (chunk: string) => (tarStderr += chunk));
  const tarExit = new Promise<number | null>((resolve, reject) => {
    tar.once('error', reject);
    tar.once('close', resolve);
  });

  const uncompressed = new HashingCounter();
  const compressed = new HashingCounter();
  const startedAt = performance.now();
  let lastReport = startedAt;
  uncompressed.onProgress = (bytes) => {
    const now = performance.now();
    if (now - lastReport < PROGRESS_INTERVAL_MS) return;
    lastReport = now;
    progress(`packing the root filesystem: ${mib(bytes)} read, ${mib(compressed.bytes)} compressed (${((now - startedAt) / 1000).toFixed(0)}s)`);
  };
  try {
    await pipeline(tar.stdout, uncompressed, createGzip({ level: GZIP_LEVEL }), compressed, createWriteStream(partial));
  } catch (error) {
    tar.kill('SIGKILL');
    throw new StepError(`Packing ${rootfsDir} failed: ${error instanceof Error ? error.message : String(error)}`, 'Check free disk space in the build folder and try again.');
  }
  const exitCode = await tarExit.catch((error: unknown) => {
    throw new StepError(`tar could not be started: ${error instanceof Error ? error.message : String(error)}`, 'Install GNU tar (`apt-get install tar`).');
  });
  // GNU tar exits 1 when a file changed while it read it: for a build folder nobody else
  // touches that never happens, so every non-zero exit is a failure.
  if (exitCode !== 0) {
    throw new StepError(`tar failed with exit code ${exitCode} while packing ${rootfsDir}: ${tarStderr.trim().split('\n').slice(-3).join(' | ')}`, 'Check that the build folder is intact and readable by root, then build again.');
  }
  const digest = `sha256:${compressed.hex()}`;
  await rename(partial, join(blobsDir, compressed.hex()));
  progress(`packed the root filesystem: ${mib(uncompressed.bytes)} as a ${mib(compressed.bytes)} layer in ${((performance.now() - startedAt) / 1000).toFixed(1)}s`);
  return { descriptor: { mediaType: MEDIA_TYPES.layerGzip, digest, size: compressed.bytes }, diffId: `sha256:${uncompressed.hex()}` };
}

/** Pass-through stream that counts bytes and computes their SHA-256. */
class HashingCounter extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;
  onProgress?: (bytes: number) => void;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.onProgress?.(this.bytes);
    callback(null, chunk);
  }

  hex(): string {
    return this.hash.copy().digest('hex');
  }
}

async function writeJsonBlob(blobsDir: string, mediaType: string, value: unknown): Promise<Descriptor> {
  const bytes = Buffer.from(JSON.stringify(value));
  const hex = createHash('sha256').update(bytes).digest('hex');
  await writeFile(join(blobsDir, hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
}

/** Streams the layout folder as a tar archive into `ctr images import -`. */
async function ctrImport(layoutDir: string, reference: string, progress: (msg: string) => void): Promise<void> {
  progress(`importing ${reference} into containerd (namespace ${CONTAINERD_NAMESPACE}) and unpacking it`);
  const startedAt = performance.now();
  const ctrProcess = spawn('ctr', ['-n', CONTAINERD_NAMESPACE, 'images', 'import', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const tar = spawn('tar', ['--create', '--file=-', `--directory=${layoutDir}`, '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  for (const stream of [ctrProcess.stdout, ctrProcess.stderr, tar.stderr]) {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (output += chunk));
  }
  const heartbeat = setInterval(() => progress(`still importing (${((performance.now() - startedAt) / 1000).toFixed(0)}s)`), 10_000);
  heartbeat.unref();
  try {
    const exited = (child: ReturnType<typeof spawn>) =>
      new Promise<number | null>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', resolve);
      });
    const [ctrExit, tarExit] = await Promise.all([exited(ctrProcess), exited(tar), pipeline(tar.stdout, ctrProcess.stdin).catch(() => undefined)]).catch(
      (error: unknown) => {
        if ((error as { code?: unknown }).code === 'ENOENT') {
          throw new StepError('`ctr` (or `tar`) was not found.', 'Install containerd with `apt-get install -y containerd` (it provides `ctr`).');
        }
        throw error;
      },
    );
    if (ctrExit !== 0 || tarExit !== 0) throw ctrFailure(`ctr images import of ${reference}`, output);
  } finally {
    clearInterval(heartbeat);
  }
  progress(`imported ${reference} in ${((performance.now() - startedAt) / 1000).toFixed(1)}s`);
}

/** Runs `ctr -n sandpool …` and turns its failures into StepErrors. */
async function ctr(args: string[], timeoutMs: number): Promise<{ stdout: string }> {
  try {
    const { stdout } = await execFileAsync('ctr', ['-n', CONTAINERD_NAMESPACE, ...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    return { stdout };
  } catch (error) {
    const failed = error as { code?: unknown; stderr?: string; killed?: boolean; message?: string };
    if (failed.code === 'ENOENT') throw new StepError('`ctr` was not found.', 'Install containerd with `apt-get install -y containerd` (it provides `ctr`).');
    if (failed.killed) throw new StepError(`\`ctr ${args.join(' ')}\` did not finish within ${timeoutMs / 1000}s.`, 'Check that containerd is healthy (`ctr version`).');
    throw ctrFailure(`ctr ${args.join(' ')}`, failed.stderr || failed.message || '');
  }
}

function ctrFailure(title: string, output: string): StepError {
  const text = output.trim().split('\n').slice(-4).join(' | ');
  if (/connection refused|no such file or directory.*containerd\.sock|failed to dial|connection error/i.test(output)) {
    return new StepError(`${title} failed: containerd is not answering (${text}).`, 'Start containerd (`npm start` does it, or `containerd &`) and wait until `ctr version` answers.');
  }
  if (/no space left on device/i.test(output)) {
    return new StepError(`${title} failed: the disk is full (${text}).`, 'Free space under /var/lib/containerd and the Sandpool build folder, then try again.');
  }
  if (/not found/i.test(output)) return new StepError(`${title} failed: not found (${text}).`);
  return new StepError(`${title} failed: ${text || 'no output'}.`, 'Check containerd’s log (.sandpool/logs/containerd.log when Sandpool started it) for the cause.');
}

function assertReference(reference: string): void {
  // name[:tag]; lower-case path components as in the distribution spec. We always use a tag.
  if (!/^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*:[\w][\w.-]{0,127}$/.test(reference)) {
    throw new StepError(`"${reference}" is not a valid image reference with a tag.`, 'Use a reference such as sandpool.local/name:tag.');
  }
}

function ociArchitecture(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return map[process.arch] ?? process.arch;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}
