import cliProgress from 'cli-progress';
import type { Progress } from '../training/loop';

export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/**
 * Training progress on stderr: a live bar on a terminal, otherwise a plain line every
 * `intervalSec` seconds (so logs of long runs stay readable).
 */
export function progressReporter(intervalSec = 30): { onStep: (p: Progress) => void; stop: () => void } {
  const tty = process.stderr.isTTY;
  let bar: cliProgress.SingleBar | null = null;
  let lastLine = 0;
  const describe = (p: Progress) =>
    `epoch ${p.epoch} · step ${p.step}${Number.isFinite(p.targetSteps) ? `/${p.targetSteps}` : ''} · ${p.imagesPerSec.toFixed(1)} img/s · ` +
    `G ${p.stats.gen_loss.toFixed(3)} D ${p.stats.disc_loss.toFixed(3)} · acc real ${p.stats.real_accuracy.toFixed(2)} fake ${p.stats.fake_accuracy.toFixed(2)} · ETA ${formatDuration(p.etaSec)}`;
  return {
    onStep(p) {
      if (tty) {
        const total = Number.isFinite(p.targetSteps) ? p.targetSteps : p.step + Math.max(1, Math.round(p.etaSec / Math.max(p.elapsedSec / Math.max(p.step, 1), 1e-3)));
        if (!bar) {
          bar = new cliProgress.SingleBar({ format: '{bar} {percentage}% | {info}', stream: process.stderr, hideCursor: true, barsize: 24 }, cliProgress.Presets.shades_classic);
          bar.start(total, p.step, { info: describe(p) });
        }
        bar.setTotal(total);
        bar.update(p.step, { info: describe(p) });
      } else if (Date.now() - lastLine >= intervalSec * 1000) {
        lastLine = Date.now();
        process.stderr.write(`${describe(p)}\n`);
      }
    },
    stop() {
      (bar as cliProgress.SingleBar | null)?.stop();
    },
  };
}
