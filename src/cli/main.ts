import * as path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { BACKENDS, initBackend, type BackendName } from '../backends/index';
import { UserError } from '../errors';
import { registerCoreCommands } from './commands';
import { register as registerServe } from './serve';
import { register as registerClassifier } from './classifier';
import { register as registerEvaluate } from './evaluate';

/** Where the CLI's own messages go (stderr, so --json output on stdout stays clean). */
export const say = (line: string) => process.stderr.write(`${line}\n`);

export function backendOption(): Option {
  return new Option('--backend <name>', 'TF.js backend: auto = tfjs-node if installed, else native (OpenBLAS), else wasm; cpu = pure-JS reference')
    .choices([...BACKENDS])
    .default('auto');
}

/** Activates the backend and says which one runs (and why faster ones were skipped) once. */
export async function useBackend(name: BackendName, quiet = false): Promise<string> {
  const choice = await initBackend(name);
  const threads = choice.threads ? `, ${choice.threads} thread${choice.threads > 1 ? 's' : ''}` : '';
  const detail = choice.detail ? `, ${choice.detail}` : '';
  if (!quiet) say(`backend: ${choice.name}${threads}${detail}${choice.notes.length ? ` (${choice.notes.join('; ')})` : ''}`);
  return choice.name;
}

export function buildProgram(): Command {
  const program = new Command('fashion-gan')
    .description('Train DCGANs that design fashion that never existed — the seed\'s models as presets, exact resume, offline metrics, and an app.')
    .option('--verbose', 'print stack traces for unexpected errors')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) })
    .exitOverride();
  registerCoreCommands(program);
  registerServe(program);
  registerClassifier(program);
  registerEvaluate(program);
  return program;
}

/** Runs the CLI; returns the exit code. User errors print one line, never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const verbose = argv.includes('--verbose');
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof UserError) {
      say(`fashion-gan: ${err.message}`);
      return 1;
    }
    const e = err as Error;
    say(`fashion-gan: ${e?.message ?? String(err)}`);
    if (verbose) say(e?.stack ?? '');
    else say('(run with --verbose for the stack trace)');
    return 1;
  }
}

export const relative = (p: string) => path.relative(process.cwd(), p) || '.';
