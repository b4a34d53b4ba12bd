import { Option, type Command } from 'commander';
import { DATASETS, loadDataset, summariseSplit, type DatasetName } from '../../data/dataset';
import { nonEmpty } from '../options';
import { print, printJson, withExamples } from '../shared';

/** `fashion-gan data`: where a data set came from, its counts, shapes, classes and mean pixel. */
export function register(program: Command): void {
  const cmd = program
    .command('data')
    .description('load a data set and describe it (counts, shape, classes, mean pixel)')
    .addOption(new Option('--dataset <name>', 'data set').choices([...DATASETS]).default('fashion-mnist'))
    .option('--data-dir <dir>', 'look here first (then $FASHION_GAN_DATA, the repo copy, /usr/share/datasets, the download cache)', nonEmpty)
    .option('--class <name|index>', 'keep one class, e.g. automobile, sneaker or 7')
    .option('--json', 'print {"dataset", "source", "train", "test"} as one JSON object')
    .action(async (o: { dataset: DatasetName; dataDir?: string; class?: string; json?: boolean }) => {
      const d = await loadDataset({ dataset: o.dataset, dataDir: o.dataDir, classFilter: o.class });
      const out = { dataset: d.name, source: d.source, train: summariseSplit(d.train), test: summariseSplit(d.test) };
      if (o.json) return printJson(out);
      print(`${d.name}${d.classIndex !== null ? ` — class ${d.classIndex} (${d.classNames[d.classIndex]})` : ''}\nsource: ${d.source}`);
      for (const split of ['train', 'test'] as const) {
        const s = out[split];
        print(`${split.padEnd(5)} ${String(s.count).padStart(6)} images, shape ${JSON.stringify(s.shape)}, mean pixel ${s.mean.toFixed(2)}`);
      }
      print('classes (train/test):');
      d.classNames.forEach((n, i) => print(`  ${i} ${n.padEnd(12)} ${String(out.train.classCounts[i]).padStart(6)} ${String(out.test.classCounts[i]).padStart(6)}`));
    });
  withExamples(cmd, [
    ['fashion-gan data', 'the Fashion-MNIST copy train uses'],
    ['fashion-gan data --class sneaker --json', 'one class, as JSON'],
    ['fashion-gan data --dataset cifar10 --data-dir DIR', 'CIFAR-10 from a folder of its binary batches'],
  ]);
}
