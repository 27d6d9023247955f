// A tiny test image for the runtime tests, built from what every Debian 12 host has or can
// fetch from its mirror: busybox-static (a shell and the usual tools, `ip` included) and the
// host's own perl-base (essential on Debian), which runs the test agent because busybox's `nc`
// cannot listen on a Unix socket. It is packed as a single-layer OCI archive and imported with
// `ctr images import`, which also unpacks it for the overlayfs snapshotter.
//
// engine/images/ builds the real code-interpreter image; this packer is deliberately minimal and
// only for tests and benchmarks.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export const TEST_NAMESPACE = 'sandpool';
const AGENT_SCRIPT = fileURLToPath(new URL('./agent.pl', import.meta.url));
/** Bump when the image's layout changes, so hosts rebuild it. */
const RECIPE_VERSION = '2';
const PERL_LIBS = '/usr/lib/x86_64-linux-gnu/perl-base';

export type TestImageOptions = {
  namespace?: string;
  /** The image's entrypoint; the default runs the agent. Tests pass a missing binary to make starts fail. */
  entrypoint?: string[];
};

/** The test image's reference (content-addressed by its recipe), importing it when missing. */
export async function ensureTestImage(options: TestImageOptions = {}): Promise<string> {
  const namespace = options.namespace ?? TEST_NAMESPACE;
  const entrypoint = options.entrypoint ?? ['/bin/agent'];
  const recipe = createHash('sha256').update(RECIPE_VERSION).update(readFileSync(AGENT_SCRIPT)).update(JSON.stringify(entrypoint)).digest('hex').slice(0, 12);
  const ref = `sandpool.test/busybox-agent:${recipe}`;
  const { stdout } = await execFileAsync('ctr', ['-n', namespace, 'images', 'ls', '-q']);
  if (stdout.split('\n').includes(ref)) return ref;

  const work = mkdtempSync(join(tmpdir(), 'sandpool-test-image-'));
  try {
    const rootfs = join(work, 'rootfs');
    await buildRootfs(rootfs, work);
    const archive = await packOciArchive(rootfs, ref, entrypoint, join(work, 'layout'));
    await execFileAsync('ctr', ['-n', namespace, 'images', 'import', archive], { maxBuffer: 16 * 1024 * 1024 });
    return ref;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function buildRootfs(rootfs: string, work: string): Promise<void> {
  for (const dir of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'run', 'mnt/data', 'home/sandbox', 'lib64', 'usr/bin']) {
    mkdirSync(join(rootfs, dir), { recursive: true });
  }
  chmodSync(join(rootfs, 'tmp'), 0o1777);

  // busybox-static from the Debian mirror, extracted rather than installed on the host.
  const debs = join(work, 'debs');
  mkdirSync(debs);
  await execFileAsync('apt-get', ['download', 'busybox-static'], { cwd: debs });
  const deb = readdirSync(debs).find((name) => name.endsWith('.deb'));
  if (!deb) throw new Error('apt-get download busybox-static produced no .deb');
  const extracted = join(work, 'busybox');
  await execFileAsync('dpkg-deb', ['-x', join(debs, deb), extracted]);
  copyFileSync(join(extracted, 'bin/busybox'), join(rootfs, 'bin/busybox'));
  chmodSync(join(rootfs, 'bin/busybox'), 0o755);
  const { stdout: applets } = await execFileAsync(join(rootfs, 'bin/busybox'), ['--list']);
  for (const applet of applets.split('\n').filter((name) => name && name !== 'busybox')) {
    symlinkSync('busybox', join(rootfs, 'bin', applet));
  }

  await copyPerl(rootfs);
  copyFileSync(AGENT_SCRIPT, join(rootfs, 'bin/agent'));
  chmodSync(join(rootfs, 'bin/agent'), 0o755);

  // Owned by the sandbox user, so a failed write there proves the read-only mount, not permissions.
  chownSync(join(rootfs, 'home/sandbox'), 1000, 1000);
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nsandbox:x:1000:1000:sandbox:/home/sandbox:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nsandbox:x:1000:\n');
}

/** The host's perl with the shared libraries it links (from ldd) and the perl-base modules. */
async function copyPerl(rootfs: string): Promise<void> {
  const { stdout } = await execFileAsync('ldd', ['/usr/bin/perl']);
  const libraries = [...stdout.matchAll(/(\/\S+\.so[.\d]*)/g)].map((match) => match[1]!);
  for (const library of new Set(libraries)) copyIntoRootfs(rootfs, library);
  copyIntoRootfs(rootfs, '/usr/bin/perl');
  cpSync(PERL_LIBS, join(rootfs, PERL_LIBS), { recursive: true, dereference: true });
}

function copyIntoRootfs(rootfs: string, hostPath: string): void {
  const target = join(rootfs, hostPath);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(hostPath, target); // follows symlinks (/lib64/ld-linux-x86-64.so.2 is one)
  chmodSync(target, 0o755);
}

/** Packs `rootfs` as a one-layer OCI image layout and tars it for `ctr images import`. */
async function packOciArchive(rootfs: string, ref: string, entrypoint: string[], layout: string): Promise<string> {
  const blobs = join(layout, 'blobs/sha256');
  mkdirSync(blobs, { recursive: true });
  const layerTar = join(layout, 'layer.tar');
  // Reproducible; ownership as in the folder (root, except the sandbox user's home).
  await execFileAsync('tar', ['--numeric-owner', '--sort=name', '--mtime=@0', '-C', rootfs, '-cf', layerTar, '.']);
  const layer = storeBlob(blobs, readFileSync(layerTar));
  rmSync(layerTar);

  const config = storeBlob(
    blobs,
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: { Entrypoint: entrypoint, Env: ['PATH=/bin:/usr/bin'], WorkingDir: '/' },
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
      }),
    ),
  );
  const manifest = storeBlob(
    blobs,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
      }),
    ),
  );
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          platform: { architecture: 'amd64', os: 'linux' },
          annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': ref.split(':').pop() },
        },
      ],
    }),
  );
  const archive = `${layout}.tar`;
  await execFileAsync('tar', ['-C', layout, '-cf', archive, '.']);
  return archive;
}

function storeBlob(blobs: string, data: Buffer): { digest: string; size: number } {
  const hex = createHash('sha256').update(data).digest('hex');
  const path = join(blobs, hex);
  if (!existsSync(path)) writeFileSync(path, data);
  return { digest: `sha256:${hex}`, size: data.length };
}
