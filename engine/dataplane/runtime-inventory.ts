// What the code-interpreter image really has installed (its Python and Python packages), read
// from the image itself for GET /metadata (reference §4.3.3) instead of being written down
// somewhere that could drift from it.
//
// The image's layers are already unpacked in containerd's snapshotter: a throwaway snapshot on
// top of the image gives their folders (overlayfs lowerdirs, top first), and the few files that
// say what is installed are read from there, the way overlayfs would resolve them. No sandbox is
// started and nothing is mounted; it takes tens of milliseconds, once per image.
import { randomUUID } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chainId } from '../runtime/containerd';
import type { ContainerdClient, Mount } from '../runtime/containerd-api';

export type InstalledPackage = { name: string; version: string };

export type RuntimeInventory = {
  image: string;
  python: string;
  packages: InstalledPackage[];
};

/** Where Debian's Python (and pip, for the system interpreter) install packages. */
const packageFolders = (pythonMinor: string) => ['usr/lib/python3/dist-packages', `usr/local/lib/python${pythonMinor}/dist-packages`];

type ImageDocument = { manifests?: { digest: string; platform?: { os?: string; architecture?: string } }[]; config?: { digest: string } };

/** The image's layer folders, top first, while a throwaway snapshot holds them. */
async function withLayers<T>(client: ContainerdClient, snapshotter: string, image: string, read: (layers: string[]) => Promise<T>): Promise<T> {
  let document = JSON.parse((await client.readContent((await client.getImage(image)).target.digest)).toString('utf8')) as ImageDocument;
  if (document.manifests) {
    const architecture = { x64: 'amd64', arm64: 'arm64' }[process.arch as string] ?? process.arch;
    const manifest = document.manifests.find((entry) => entry.platform?.os === 'linux' && entry.platform.architecture === architecture);
    if (!manifest) throw new Error(`image ${image} has no linux/${architecture} manifest`);
    document = JSON.parse((await client.readContent(manifest.digest)).toString('utf8')) as ImageDocument;
  }
  if (!document.config) throw new Error(`image ${image} has no configuration`);
  const config = JSON.parse((await client.readContent(document.config.digest)).toString('utf8')) as { rootfs?: { diff_ids?: string[] } };
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length === 0) throw new Error(`image ${image} has no layers`);
  const key = `sandpool-inventory-${randomUUID()}`;
  const mounts = await client.prepareSnapshot(snapshotter, key, chainId(diffIds));
  try {
    return await read(layerFolders(mounts));
  } finally {
    await client.removeSnapshot(snapshotter, key);
  }
}

function layerFolders(mounts: Mount[]): string[] {
  const mount = mounts[0];
  if (mount?.type === 'bind') return [mount.source];
  const lower = mount?.options.find((option) => option.startsWith('lowerdir='));
  if (!lower) throw new Error(`unexpected snapshot mounts: ${JSON.stringify(mounts)}`);
  return lower.slice('lowerdir='.length).split(':');
}

/** overlayfs marks a file deleted by an upper layer with a 0/0 character device of its name. */
async function presence(path: string): Promise<'absent' | 'deleted' | 'present'> {
  try {
    const stats = await lstat(path);
    return stats.isCharacterDevice() && stats.rdev === 0 ? 'deleted' : 'present';
  } catch {
    return 'absent';
  }
}

/** A file of the merged image, or null. (Opaque folders do not occur in the files read here.) */
async function readMerged(layers: string[], path: string): Promise<string | null> {
  for (const layer of layers) {
    const state = await presence(join(layer, path));
    if (state === 'deleted') return null;
    if (state === 'present') return readFile(join(layer, path), 'utf8').catch(() => null);
  }
  return null;
}

/** The names in a folder of the merged image. */
async function listMerged(layers: string[], folder: string): Promise<string[]> {
  const seen = new Map<string, boolean>();
  for (const layer of layers) {
    const names = await readdir(join(layer, folder)).catch(() => []);
    for (const name of names) {
      if (!seen.has(name)) seen.set(name, (await presence(join(layer, folder, name))) === 'present');
    }
  }
  return [...seen].filter(([, present]) => present).map(([name]) => name);
}

/** `Name:` and `Version:` from a METADATA or PKG-INFO header. */
function packageFrom(metadata: string): InstalledPackage | null {
  const header = metadata.split(/\r?\n\r?\n/, 1)[0]!;
  const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.+)$`, 'mi').exec(header)?.[1]?.trim();
  const name = field('Name');
  const version = field('Version');
  return name && version ? { name, version } : null;
}

/** The interpreter's version from dpkg's records: `python3.11 3.11.2-6+deb12u6` → 3.11.2. */
function pythonFromDpkg(status: string): string | null {
  let best: { minor: number; version: string } | null = null;
  for (const stanza of status.split(/\n\n+/)) {
    const packageName = /^Package: python3\.(\d+)$/m.exec(stanza);
    const version = /^Version: (.+)$/m.exec(stanza)?.[1];
    if (!packageName || !version || !/^Status: .*\binstalled$/m.test(stanza)) continue;
    const minor = Number(packageName[1]);
    // Debian's version is [epoch:]upstream[-revision]; the upstream part is Python's own.
    if (!best || minor > best.minor) best = { minor, version: version.replace(/^\d+:/, '').replace(/-[^-]*$/, '') };
  }
  return best?.version ?? null;
}

export async function readRuntimeInventory(client: ContainerdClient, image: string, snapshotter = 'overlayfs'): Promise<RuntimeInventory> {
  return withLayers(client, snapshotter, image, async (layers) => {
    const python = pythonFromDpkg((await readMerged(layers, 'var/lib/dpkg/status')) ?? '');
    if (!python) throw new Error(`image ${image} has no Python installed by dpkg`);
    const minor = python.split('.').slice(0, 2).join('.');
    const packages = new Map<string, InstalledPackage>();
    for (const folder of packageFolders(minor)) {
      for (const entry of await listMerged(layers, folder)) {
        const kind = /\.(dist-info|egg-info)$/.exec(entry)?.[1];
        if (!kind) continue;
        const path = join(folder, entry);
        // An egg-info is a folder with PKG-INFO, or (older setuptools) the PKG-INFO itself.
        const metadata = (await readMerged(layers, join(path, kind === 'dist-info' ? 'METADATA' : 'PKG-INFO'))) ?? (kind === 'egg-info' ? await readMerged(layers, path) : null);
        const found = metadata ? packageFrom(metadata) : null;
        if (found && !packages.has(found.name.toLowerCase())) packages.set(found.name.toLowerCase(), found);
      }
    }
    return { image, python, packages: [...packages.values()].sort((a, b) => a.name.localeCompare(b.name, 'en', { sensitivity: 'base' })) };
  });
}

/** The inventory of `image`, read on first use and kept (an image never changes). */
export function runtimeInventory(client: () => ContainerdClient, image: string): () => Promise<RuntimeInventory> {
  let inventory: Promise<RuntimeInventory> | undefined;
  return () => {
    inventory ??= readRuntimeInventory(client(), image).catch((error: unknown) => {
      inventory = undefined;
      throw error;
    });
    return inventory;
  };
}
