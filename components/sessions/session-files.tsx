'use client';
import { useCallback, useEffect, useRef, useState } from 'react';
import { Button } from '@/components/ui/button';
import type { SessionFile } from '@/lib/services/sessions';

export type FileListing = { sessionId: string | null; files: SessionFile[] };

type SessionFilesProps = {
  /** Whose files, as the file routes take it: "session=<id>" or "pool=<name>&identifier=<id>". */
  scope: string;
  /** The listing the page was rendered with; fetched on mount when absent. */
  initial?: FileListing;
  /** Changing it lists the files again (after a run, which may have written some). */
  reloadKey?: number;
  /** Shown when there are no files. */
  emptyHint: string;
};

const FILES_API = '/api/sessions/files';

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

async function errorMessageOf(status: number, text: string): Promise<string> {
  try {
    const message = (JSON.parse(text) as { error?: { message?: string } }).error?.message;
    if (message) return message;
  } catch {
    // not JSON
  }
  return `The request failed with HTTP ${status}.`;
}

type Upload = { name: string; loaded: number; total: number };

/**
 * The files in a session's /mnt/data: list, upload with progress, download, delete. Every request
 * goes through the portal's file routes to the engine's data plane, as the signed-in person.
 */
export function SessionFiles({ scope, initial, reloadKey = 0, emptyHint }: SessionFilesProps) {
  const [listing, setListing] = useState<FileListing | null>(initial ?? null);
  const [problem, setProblem] = useState<string | null>(null);
  const [upload, setUpload] = useState<Upload | null>(null);
  const [isLoading, setIsLoading] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const skipFirstLoad = useRef(initial !== undefined);

  const load = useCallback(async () => {
    setIsLoading(true);
    try {
      const response = await fetch(`${FILES_API}?${scope}`, { cache: 'no-store' });
      const text = await response.text();
      if (!response.ok) throw new Error(await errorMessageOf(response.status, text));
      setListing(JSON.parse(text) as FileListing);
      setProblem(null);
    } catch (error) {
      setProblem(error instanceof Error ? error.message : String(error));
    } finally {
      setIsLoading(false);
    }
  }, [scope]);

  useEffect(() => {
    if (skipFirstLoad.current) {
      skipFirstLoad.current = false;
      return;
    }
    void load();
  }, [load, reloadKey]);

  const send = (file: File) => {
    // XMLHttpRequest, not fetch: only it reports upload progress.
    const request = new XMLHttpRequest();
    request.open('POST', `${FILES_API}?${scope}`);
    request.upload.onprogress = (event) => setUpload({ name: file.name, loaded: event.loaded, total: event.lengthComputable ? event.total : file.size });
    request.onload = async () => {
      setUpload(null);
      if (request.status >= 200 && request.status < 300) {
        if (input.current) input.current.value = '';
        await load();
      } else {
        setProblem(await errorMessageOf(request.status, request.responseText));
      }
    };
    request.onerror = () => {
      setUpload(null);
      setProblem('The upload was cut off before the portal answered. Check your connection and try again.');
    };
    const form = new FormData();
    form.append('file', file, file.name);
    setProblem(null);
    setUpload({ name: file.name, loaded: 0, total: file.size });
    request.send(form);
  };

  const remove = async (path: string) => {
    if (!listing?.sessionId || !window.confirm(`Delete /mnt/data/${path}? The code can no longer read it.`)) return;
    const response = await fetch(`${FILES_API}?session=${encodeURIComponent(listing.sessionId)}&name=${encodeURIComponent(path)}`, { method: 'DELETE' });
    if (!response.ok) setProblem(await errorMessageOf(response.status, await response.text()));
    else await load();
  };

  const percent = upload && upload.total > 0 ? Math.round((upload.loaded / upload.total) * 100) : 0;
  return (
    <div className="space-y-3">
      <form
        aria-label="Upload a file"
        className="space-y-2"
        onSubmit={(event) => {
          event.preventDefault();
          const file = input.current?.files?.[0];
          if (file) send(file);
          else setProblem('Choose a file to upload first.');
        }}
      >
        <label htmlFor={`upload-${scope}`} className="block text-sm font-medium text-zinc-800 dark:text-zinc-200">
          File to upload
        </label>
        <input
          id={`upload-${scope}`}
          ref={input}
          type="file"
          className="block w-full text-sm file:mr-3 file:rounded-md file:border file:border-zinc-300 file:bg-white file:px-2.5 file:py-1 file:text-xs file:font-medium dark:file:border-zinc-700 dark:file:bg-zinc-900 dark:file:text-zinc-100"
        />
        <div className="flex gap-2">
          <Button type="submit" size="sm" variant="secondary" disabled={upload !== null}>
            {upload ? 'Uploading…' : 'Upload'}
          </Button>
          <Button size="sm" variant="ghost" onClick={() => void load()} disabled={isLoading}>
            {isLoading ? 'Refreshing…' : 'Refresh list'}
          </Button>
        </div>
      </form>
      {upload ? (
        <div className="space-y-1" role="status">
          <progress aria-label={`Uploading ${upload.name}`} value={upload.loaded} max={upload.total || 1} className="h-2 w-full overflow-hidden rounded accent-sky-600" />
          <p className="text-xs tabular-nums text-zinc-500 dark:text-zinc-400">
            {upload.name}: {formatBytes(upload.loaded)} of {formatBytes(upload.total)} ({percent}%)
          </p>
        </div>
      ) : null}
      {problem ? (
        <p role="alert" className="rounded-md bg-red-50 px-3 py-2 text-sm text-red-800 dark:bg-red-950 dark:text-red-300">
          {problem}
        </p>
      ) : null}
      {listing && listing.files.length > 0 ? (
        <ul aria-label="Files in /mnt/data" className="divide-y divide-zinc-100 rounded-md border border-zinc-200 text-sm dark:divide-zinc-800 dark:border-zinc-800">
          {listing.files.map((file) => (
            <li key={file.path} data-testid="session-file" className="flex items-center justify-between gap-3 px-3 py-2">
              <div className="min-w-0">
                <p className="truncate font-mono text-xs" title={`/mnt/data/${file.path}`}>
                  {file.path}
                </p>
                <p className="text-xs tabular-nums text-zinc-500 dark:text-zinc-400">
                  {formatBytes(file.sizeInBytes)} · {file.lastModifiedAt.slice(0, 19).replace('T', ' ')} UTC
                </p>
              </div>
              <div className="flex shrink-0 gap-1">
                <a
                  href={`${FILES_API}/content?session=${encodeURIComponent(listing.sessionId ?? '')}&name=${encodeURIComponent(file.path)}`}
                  download={file.path.split('/').at(-1)}
                  aria-label={`Download ${file.path}`}
                  className="rounded-md px-2.5 py-1 text-xs font-medium text-sky-700 hover:bg-sky-50 dark:text-sky-400 dark:hover:bg-sky-950"
                >
                  Download
                </a>
                <Button size="sm" variant="ghost" aria-label={`Delete ${file.path}`} onClick={() => void remove(file.path)}>
                  Delete
                </Button>
              </div>
            </li>
          ))}
        </ul>
      ) : (
        <p className="text-sm text-zinc-500 dark:text-zinc-400">{listing ? emptyHint : 'Loading the files…'}</p>
      )}
    </div>
  );
}
