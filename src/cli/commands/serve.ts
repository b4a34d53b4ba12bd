import type { Command } from 'commander';
import { int } from '../options';
import { say, showPath } from '../shared';

/** Adds `fashion-gan serve`: the web app (Design, Explore, Never existed, Runs). */
export function register(program: Command): void {
  program
    .command('serve')
    .description('serve the web app: design new clothes in the browser, explore them, check they never existed, and watch runs train')
    .option('--port <n>', 'port to listen on (0 picks a free one)', int(0, 65535), 8080)
    .option('--host <address>', 'address to bind (keep 127.0.0.1 unless you mean to share it)', '127.0.0.1')
    .option('--runs <dir>', 'folder of run folders to show', 'runs')
    .option('--models <dir>', 'folder of shipped models (models/fashion is the default generator)')
    .option('--data-dir <dir>', 'where the training data is, for the nearest-image look-ups (default: the usual search)')
    .addHelpText(
      'after',
      [
        '',
        'Everything runs locally: the page loads TensorFlow.js from node_modules and computes designs itself;',
        'the server only serves files of the run folders and finds nearest training images.',
        'Design i of a grid with seed S is `generate --seed S+i --count 1` (add --class for conditional models).',
        '',
        'Examples:',
        '  fashion-gan serve                                 http://127.0.0.1:8080/ with runs/ and the shipped model',
        '  fashion-gan serve --runs runs/ --port 9000        another runs folder and port',
        '  fashion-gan serve --host 0.0.0.0 --port 8080      share it on the network (mind who can reach it)',
      ].join('\n'),
    )
    .action(async (o: { port: number; host: string; runs: string; models?: string; dataDir?: string }) => {
      const { startServer } = await import('../../server/index');
      const server = await startServer({ port: o.port, host: o.host, runsDir: o.runs, modelsDir: o.models, dataDir: o.dataDir });
      say(`fashion-gan app: ${server.url}  (runs: ${showPath(o.runs)}; Ctrl+C to stop)`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          say('stopping…');
          server.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
