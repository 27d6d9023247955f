/**
 * A timestamp rendered the same on server and client (UTC), with the ISO value for tooltips and
 * machines; to the minute, or to the second where seconds matter (a session's last access).
 */
export function Time({ value, fallback = '—', seconds = false }: { value: Date | null; fallback?: string; seconds?: boolean }) {
  if (!value) return <span className="text-zinc-400">{fallback}</span>;
  const iso = value.toISOString();
  return (
    <time dateTime={iso} title={iso} className="whitespace-nowrap tabular-nums">
      {iso.slice(0, seconds ? 19 : 16).replace('T', ' ')} UTC
    </time>
  );
}
