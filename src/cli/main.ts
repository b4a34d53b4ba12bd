import * as fs from 'node:fs';
import { Command, CommanderError } from 'commander';
import { UserError } from '../errors';
import { register as bench } from './commands/bench';
import { register as classifier } from './commands/classifier';
import { register as compare } from './commands/compare';
import { register as data } from './commands/data';
import { register as evaluate } from './commands/evaluate';
import { register as generate } from './commands/generate';
import { register as presets } from './commands/presets';
import { register as runs } from './commands/runs';
import { register as serve } from './commands/serve';
import { register as summary } from './commands/summary';
import { register as train } from './commands/train';
import { guardOutput, say, withExamples } from './shared';

/** The version in package.json. */
export const VERSION: string = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

export function buildProgram(): Command {
  const program = new Command('fashion-gan')
    .description('Train DCGANs that design fashion that never existed — the seed\'s models as presets, exact resume, offline metrics, and an app.')
    .version(VERSION, '-V, --version', 'print the version')
    .option('--verbose', 'print stack traces for unexpected errors')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) })
    .exitOverride();
  for (const register of [train, generate, evaluate, compare, runs, serve, data, presets, summary, bench, classifier]) register(program);
  withExamples(program, [
    ['fashion-gan train --minutes 4', 'train the default preset for 4 minutes into runs/'],
    ['fashion-gan generate --run runs/NAME --count 64', 'new designs from a run'],
    ['fashion-gan runs', 'the runs, and which are training, finished or interrupted'],
    ['fashion-gan serve', 'the app in the browser'],
    ['fashion-gan help train', 'one command\'s options'],
  ]);
  return program;
}

/** Runs the CLI; returns the exit code. User errors print one line, never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  guardOutput();
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
