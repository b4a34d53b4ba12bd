import * as fs from 'node:fs';
import { parseSampleName } from './paths';

export interface SampleInfo {
  /** File name inside `samples/`, e.g. `e0003-s00000060.png`. */
  file: string;
  epoch: number;
  step: number;
}

/**
 * The sample grids of a run in training order (their names sort by epoch, then step); files
 * whose names are outside the contract are left out. `readdir` lists the folder (the app
 * passes one that refuses symlinks out of its runs folder); a missing folder lists as empty.
 */
export function listSamples(samplesDir: string, readdir: (dir: string) => string[] = fs.readdirSync): SampleInfo[] {
  let names: string[];
  try {
    names = readdir(samplesDir);
  } catch {
    return [];
  }
  const out: SampleInfo[] = [];
  for (const file of names.sort()) {
    const parsed = parseSampleName(file);
    if (parsed) out.push({ file, ...parsed });
  }
  return out;
}
