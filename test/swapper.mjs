// Flips parts of a run folder as a hostile local process would, until killed or `ms` pass:
//   samples/     a real folder ⇄ a symlink to OUTSIDE/samples
//   config.json  a real file   ⇄ a symlink to OUTSIDE/config.json
//   progress.gif deleted ⇄ written again (a file that vanishes between a check and a read)
// Usage: node test/swapper.mjs RUN_DIR OUTSIDE_DIR MS; prints the number of rounds.
import * as fs from 'node:fs';
import * as path from 'node:path';

const [run, outside, ms] = process.argv.slice(2);
const p = (n) => path.join(run, n);
fs.symlinkSync(path.join(outside, 'samples'), p('samples.link'));
fs.symlinkSync(path.join(outside, 'config.json'), p('config.json.link'));
const gif = fs.readFileSync(p('progress.gif'));
const until = Date.now() + Number(ms);
let rounds = 0;
let stop = false;
process.on('SIGTERM', () => (stop = true));
while (!stop && Date.now() < until) {
  fs.renameSync(p('samples'), p('samples.real'));
  fs.renameSync(p('samples.link'), p('samples'));
  fs.renameSync(p('config.json'), p('config.json.real'));
  fs.renameSync(p('config.json.link'), p('config.json'));
  fs.rmSync(p('progress.gif'));
  fs.renameSync(p('samples'), p('samples.link'));
  fs.renameSync(p('samples.real'), p('samples'));
  fs.renameSync(p('config.json'), p('config.json.link'));
  fs.renameSync(p('config.json.real'), p('config.json'));
  fs.writeFileSync(p('.progress.gif.tmp'), gif);
  fs.renameSync(p('.progress.gif.tmp'), p('progress.gif'));
  rounds++;
  if (rounds % 64 === 0) await new Promise((r) => setImmediate(r));
}
process.stdout.write(`${rounds}\n`);
