/** A timestamp rendered the same on server and client (UTC), with the ISO value for tooltips and machines. */
export function Time({ value, fallback = '—' }: { value: Date | null; fallback?: string }) {
  if (!value) return <span className="text-zinc-400">{fallback}</span>;
  const iso = value.toISOString();
  return (
    <time dateTime={iso} title={iso} className="whitespace-nowrap tabular-nums">
      {iso.slice(0, 16).replace('T', ' ')} UTC
    </time>
  );
}
