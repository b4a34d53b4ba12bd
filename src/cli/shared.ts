/**
 * What every command shares: where messages go, how paths are shown, the backend option, and
 * the output streams' state (a reader such as `head` may close them early).
 */
import * as path from 'node:path';
import { Option, type Command } from 'commander';
import { BACKENDS, initBackend, type BackendName } from '../backends/index';

/** The preset `train` and `summary` use when none is named. */
export const DEFAULT_PRESET = 'fashion';

/** Whether stdout and stderr still have a reader. */
export const output = { stdoutOpen: true, stderrOpen: true };
const closedListeners = new Set<() => void>();
let guarded = false;

/**
 * Makes a closed output (EPIPE from `… | head`, a terminal gone) harmless: the stream is marked
 * closed and later writes to it are dropped; listeners (a training run) may stop cleanly.
 * Without a listener Node would throw the stream's 'error' event with a stack trace.
 */
export function guardOutput(): void {
  if (guarded) return;
  guarded = true;
  const watch = (stream: NodeJS.WriteStream, key: keyof typeof output) =>
    stream.on('error', () => {
      if (!output[key]) return;
      output[key] = false;
      for (const f of closedListeners) f();
    });
  watch(process.stdout, 'stdoutOpen');
  watch(process.stderr, 'stderrOpen');
}

/** Calls `fn` when stdout or stderr is closed by its reader; returns the unsubscribe function. */
export function onOutputClosed(fn: () => void): () => void {
  closedListeners.add(fn);
  return () => closedListeners.delete(fn);
}

/** A line of the CLI's own messages, on stderr (so --json output on stdout stays clean). */
export const say = (line: string): void => {
  if (output.stderrOpen) process.stderr.write(`${line}\n`);
};

/** A line of the command's result, on stdout. */
export const print = (line: string): void => {
  if (output.stdoutOpen) process.stdout.write(`${line}\n`);
};

/** A command's result as one line of JSON on stdout. */
export const printJson = (value: unknown): void => print(JSON.stringify(value));

/**
 * A path as messages show it: relative to the current folder when inside it, else absolute
 * (never `../../somewhere`).
 */
export function showPath(p: string): string {
  const abs = path.resolve(p);
  const rel = path.relative(process.cwd(), abs);
  if (rel === '') return '.';
  return rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel) ? abs : rel;
}

/** The command line as typed (recorded in config.json and reports). */
export const commandLine = (): string => ['fashion-gan', ...process.argv.slice(2)].join(' ');

export function backendOption(): Option {
  return new Option('--backend <name>', 'TF.js backend: auto = tfjs-node (tensorflow) if installed, else native (the C++ addon built at install), else wasm; cpu = pure-JS reference')
    .choices([...BACKENDS])
    .default('auto');
}

/** Activates the backend and says which one runs (and why faster ones were skipped) once; returns what a run records as its backend (see BackendChoice.identity). */
export async function useBackend(name: BackendName, quiet = false): Promise<string> {
  const choice = await initBackend(name);
  const threads = choice.threads ? `, ${choice.threads} thread${choice.threads > 1 ? 's' : ''}` : '';
  const detail = choice.detail ? `, ${choice.detail}` : '';
  if (!quiet) say(`backend: ${choice.name}${threads}${detail}${choice.notes.length ? ` (${choice.notes.join('; ')})` : ''}`);
  return choice.identity;
}

/**
 * Adds an "Examples:" section (command, what it does) to a command's --help, with optional
 * notes after it.
 */
export function withExamples(cmd: Command, examples: [string, string][], notes?: string): Command {
  const width = Math.max(...examples.map(([c]) => c.length));
  const lines = examples.map(([c, what]) => `  ${c.padEnd(width)}   ${what}`);
  return cmd.addHelpText('after', `\nExamples:\n${lines.join('\n')}${notes ? `\n\n${notes}` : ''}`);
}

/** "1 design", "3 designs". */
export const plural = (n: number, word: string, many = `${word}s`): string => `${n.toLocaleString('en-US')} ${n === 1 ? word : many}`;
