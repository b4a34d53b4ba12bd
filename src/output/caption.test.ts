import { describe, expect, it } from 'vitest';
import { labelledGridPng } from './caption';
import { decodePng, tileGrid } from './image';

/** A 2×2 grid of 4×4 cells with known pixel values (10, 20, 30, 40), no scaling, pad 2. */
const grid = () => tileGrid(Uint8Array.from({ length: 4 * 16 }, (_, i) => 10 * (1 + Math.floor(i / 16))), 4, 4, 4, 1, 2, 1, 2);

describe('captioned grids', () => {
  it('without labels, the plain grid', () => {
    const g = grid();
    const png = decodePng(labelledGridPng(g));
    expect([png.width, png.height]).toEqual([g.width, g.height]);
  });

  it('a title and column labels add a band above; row labels a band on the left; the pixels stay as they were', () => {
    const g = grid();
    const png = decodePng(labelledGridPng(g, { title: 'step 10', columns: ['a', 'b'], rows: ['Trouser', 'Bag'] }, { cellWidth: 4, cellHeight: 4, pad: 2 }));
    const band = png.height - g.height;
    const left = png.width - g.width;
    expect(band).toBeGreaterThan(20);
    expect(left).toBeGreaterThan(40); // room for "Trouser"
    // The first cell's pixels, where the grid now starts (the grid's own padding is 2).
    const at = (x: number, y: number) => png.data[((band + y) * png.width + left + x) * 4]!;
    expect(at(2, 2)).toBe(10);
    expect(at(2 + 4 + 2, 2)).toBe(20);
    expect(at(2, 2 + 4 + 2)).toBe(30);
    // Text was drawn: the band and the left margin are not all white.
    const dark = (x0: number, y0: number, x1: number, y1: number) => {
      let n = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (png.data[(y * png.width + x) * 4]! < 128) n++;
      return n;
    };
    expect(dark(0, 0, png.width, band)).toBeGreaterThan(10);
    expect(dark(0, band, left, png.height)).toBeGreaterThan(10);
  });
});
