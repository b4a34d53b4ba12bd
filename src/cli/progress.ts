import cliProgress from 'cli-progress';
import type { Progress } from '../training/options';
import { output } from './shared';

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** How far a run is, 0–1: by steps when the target counts steps, else by time. */
function fraction(p: Progress): number {
  if (Number.isFinite(p.targetSteps) && p.targetSteps > 0) return Math.min(1, p.step / p.targetSteps);
  const total = p.elapsedSec + p.etaSec;
  return total > 0 ? Math.min(1, p.elapsedSec / total) : 0;
}

/**
 * One progress line at most `width` columns wide: the ETA and the step always, then (as room
 * allows) the losses, speed, bar, epoch and accuracies. `bar` adds a bar for a terminal.
 */
export function progressLine(p: Progress, width: number, bar: boolean): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const f = fraction(p);
  const cells = 12;
  const filled = Math.round(f * cells);
  // Parts in display order; `drop` ranks what goes first when the line is too long (0 = never).
  const parts: { text: string; drop: number }[] = [
    ...(bar ? [{ text: `${'█'.repeat(filled)}${'░'.repeat(cells - filled)} ${String(Math.floor(f * 100)).padStart(3)}%`, drop: 3 }] : []),
    { text: `step ${n(p.step)}${Number.isFinite(p.targetSteps) ? `/${n(p.targetSteps)}` : ''}`, drop: 0 },
    { text: `epoch ${p.epoch}`, drop: 4 },
    { text: `${p.imagesPerSec.toFixed(p.imagesPerSec < 100 ? 1 : 0)} img/s`, drop: 2 },
    { text: `G ${p.stats.gen_loss.toFixed(3)} D ${p.stats.disc_loss.toFixed(3)}`, drop: 1 },
    { text: `acc real ${p.stats.real_accuracy.toFixed(2)} fake ${p.stats.fake_accuracy.toFixed(2)}`, drop: 5 },
    { text: `ETA ${formatDuration(p.etaSec)}`, drop: 0 },
  ];
  const join = () => parts.map((x) => x.text).join(' · ');
  let line = join();
  while (line.length > width) {
    const most = Math.max(...parts.map((x) => x.drop));
    if (most === 0) break;
    parts.splice(parts.findIndex((x) => x.drop === most), 1);
    line = join();
  }
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

/** The width a progress line may take: the terminal's (at most 200), 80 in logs. */
function widthOf(stream: NodeJS.WriteStream): number {
  const cols = stream.isTTY ? stream.columns || 80 : 80;
  // One column short of the edge: some terminals wrap a line that fills the last column.
  return Math.max(20, Math.min(200, cols) - 1);
}

/**
 * Training progress on stderr: a live bar on a terminal, otherwise a plain line every
 * `intervalSec` seconds (so logs of long runs stay readable). Both fit the terminal (80
 * columns in logs).
 */
export function progressReporter(intervalSec = 30): { onStep: (p: Progress) => void; stop: () => void } {
  const stream = process.stderr;
  const tty = stream.isTTY;
  let bar: cliProgress.SingleBar | null = null;
  let lastLine = 0;
  let latest: Progress | null = null;
  return {
    onStep(p) {
      if (!output.stderrOpen) return;
      latest = p;
      if (tty) {
        if (!bar) {
          bar = new cliProgress.SingleBar({ format: () => (latest ? progressLine(latest, widthOf(stream), true) : ''), stream, hideCursor: true }, cliProgress.Presets.shades_classic);
          bar.start(1, 0);
        }
        bar.update(fraction(p));
      } else if (Date.now() - lastLine >= intervalSec * 1000) {
        lastLine = Date.now();
        stream.write(`${progressLine(p, widthOf(stream), false)}\n`);
      }
    },
    stop() {
      (bar as cliProgress.SingleBar | null)?.stop();
      bar = null;
    },
  };
}

/**
 * Progress of long metrics on stderr: a line that updates in place on a terminal, a line per
 * quarter otherwise (so logs stay short).
 */
export function metricProgress(): { report: (label: string, fraction: number) => void; done: () => void } {
  const tty = process.stderr.isTTY;
  let last = '';
  let lastQuarter = -1;
  return {
    report(label, fraction) {
      if (!output.stderrOpen) return;
      const pct = Math.min(100, Math.round(fraction * 100));
      if (tty) {
        process.stderr.write(`\r${label} ${String(pct).padStart(3)}%\x1b[K`);
        last = label;
      } else {
        const quarter = Math.floor(pct / 25);
        if (label !== last || quarter !== lastQuarter) process.stderr.write(`${label} ${pct}%\n`);
        last = label;
        lastQuarter = quarter;
      }
    },
    done() {
      if (tty && last && output.stderrOpen) process.stderr.write('\r\x1b[K');
    },
  };
}
