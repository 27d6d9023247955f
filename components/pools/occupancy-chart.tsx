'use client';
import { useEffect, useState } from 'react';
import type { OccupancyPoint } from '@/lib/services/pool-views';
import { usePoolLive } from './pool-live';

const WIDTH = 640;
const HEIGHT = 180;
const MARGIN = { top: 10, right: 10, bottom: 22, left: 30 };
const WINDOW_MS = 60 * 60 * 1000;
const TICK_MS = 10_000;

const SERIES = [
  { key: 'ready', label: 'Ready', stroke: 'stroke-emerald-500', swatch: 'bg-emerald-500', dash: undefined },
  { key: 'allocated', label: 'Allocated', stroke: 'stroke-sky-500', swatch: 'bg-sky-500', dash: '5 3' },
] as const;

/** The value in force at `at`: the last point at or before it. */
function valueAt(points: OccupancyPoint[], at: number, key: 'ready' | 'allocated'): number {
  let value = points[0]?.[key] ?? 0;
  for (const point of points) {
    if (point.at > at) break;
    value = point[key];
  }
  return value;
}

/** A step line: counts hold until the next change. */
function stepPath(points: OccupancyPoint[], key: 'ready' | 'allocated', from: number, to: number, x: (at: number) => number, y: (value: number) => number): string {
  let path = `M${x(from).toFixed(1)},${y(valueAt(points, from, key)).toFixed(1)}`;
  for (const point of points) {
    if (point.at <= from || point.at > to) continue;
    path += `H${x(point.at).toFixed(1)}V${y(point[key]).toFixed(1)}`;
  }
  return `${path}H${x(to).toFixed(1)}`;
}

/** Ready and allocated sessions over the last hour, drawn from the pool's transitions and kept moving live. */
export function OccupancyChart() {
  const { occupancy, takenAt, counts } = usePoolLive();
  // Starts at the server's clock so the first render matches the server's HTML.
  const [now, setNow] = useState(takenAt);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), TICK_MS);
    return () => clearInterval(timer);
  }, []);
  const to = Math.max(now, occupancy[occupancy.length - 1]?.at ?? now);
  const from = to - WINDOW_MS;
  const shown = occupancy.filter((point) => point.at > from);
  const peak = Math.max(2, ...shown.map((point) => Math.max(point.ready, point.allocated)), valueAt(occupancy, from, 'ready'), valueAt(occupancy, from, 'allocated'));
  const yMax = peak % 2 === 0 ? peak : peak + 1;
  const plot = { width: WIDTH - MARGIN.left - MARGIN.right, height: HEIGHT - MARGIN.top - MARGIN.bottom };
  const x = (at: number) => MARGIN.left + ((at - from) / WINDOW_MS) * plot.width;
  const y = (value: number) => MARGIN.top + plot.height - (value / yMax) * plot.height;
  const peakReady = Math.max(valueAt(occupancy, from, 'ready'), ...shown.map((point) => point.ready));
  const peakAllocated = Math.max(valueAt(occupancy, from, 'allocated'), ...shown.map((point) => point.allocated));
  const summary = `Sessions over the last hour: now ${counts.ready} ready and ${counts.allocated} allocated; at most ${peakReady} ready and ${peakAllocated} allocated.`;
  return (
    <figure className="px-5 py-4">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={summary} data-testid="occupancy-chart" className="h-auto w-full text-[10px]">
        {[0, yMax / 2, yMax].map((value) => (
          <g key={value}>
            <line x1={MARGIN.left} x2={WIDTH - MARGIN.right} y1={y(value)} y2={y(value)} className="stroke-zinc-200 dark:stroke-zinc-800" />
            <text x={MARGIN.left - 6} y={y(value) + 3} textAnchor="end" className="fill-zinc-500">
              {value}
            </text>
          </g>
        ))}
        {[60, 45, 30, 15, 0].map((minutesAgo) => (
          <text key={minutesAgo} x={x(to - minutesAgo * 60_000)} y={HEIGHT - 6} textAnchor={minutesAgo === 60 ? 'start' : minutesAgo === 0 ? 'end' : 'middle'} className="fill-zinc-500">
            {minutesAgo === 0 ? 'now' : `−${minutesAgo} min`}
          </text>
        ))}
        {SERIES.map((series) => (
          <path key={series.key} d={stepPath(occupancy, series.key, from, to, x, y)} fill="none" strokeWidth={2} strokeDasharray={series.dash} className={series.stroke} />
        ))}
      </svg>
      <figcaption className="mt-2 flex gap-4 text-xs text-zinc-600 dark:text-zinc-400">
        {SERIES.map((series) => (
          <span key={series.key} className="flex items-center gap-1.5">
            <span aria-hidden="true" className={`inline-block h-0.5 w-4 ${series.swatch}`} />
            {series.label} <span className="tabular-nums font-medium text-zinc-900 dark:text-zinc-100">{counts[series.key]}</span>
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
