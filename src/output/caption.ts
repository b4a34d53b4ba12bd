import { Resvg } from '@resvg/resvg-js';
import { encodePng, type Image8 } from './image';

/** Text drawn above an image grid. */
export interface GridLabels {
  /** one line over the whole grid, e.g. "step 1,200 · epoch 3" */
  title?: string;
  /** one label centred over each column, e.g. the class names of a conditional grid */
  columns?: string[];
  /** one label left of each row (drawn in a band left of the grid) */
  rows?: string[];
}

/** Where a grid's cells are (as `tileGrid` lays them out): `pad` pixels around cells `cellWidth` wide (and `cellHeight` high). */
export interface GridGeometry {
  cellWidth: number;
  pad: number;
  cellHeight?: number;
}

const TITLE_HEIGHT = 20;
const COLUMN_HEIGHT = 16;

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The grid as PNG bytes with its labels drawn in a band above it: an SVG of the grid (as an
 * `<image>`, pixels unchanged, nearest-neighbour) and `<text>`, rendered by resvg with the
 * system's fonts. Without labels, the plain grid.
 */
export function labelledGridPng(grid: Image8, labels: GridLabels = {}, geometry: GridGeometry = { cellWidth: grid.width, pad: 0 }): Buffer {
  const title = labels.title?.trim();
  const columns = labels.columns?.length ? labels.columns : undefined;
  const rows = labels.rows?.length ? labels.rows : undefined;
  if (!title && !columns && !rows) return encodePng(grid);
  const band = (title ? TITLE_HEIGHT : 0) + (columns ? COLUMN_HEIGHT : 0);
  // Row labels: a band on the left, about 6.5 px per character at 11 px.
  const left = rows ? Math.ceil(8 + 6.5 * Math.max(...rows.map((r) => r.length))) : 0;
  const width = grid.width + left;
  const { height } = grid;
  const texts: string[] = [];
  if (title) texts.push(`<text x="${width / 2}" y="14" font-size="13" text-anchor="middle">${escapeXml(title)}</text>`);
  if (rows) {
    const { pad } = geometry;
    const cellHeight = geometry.cellHeight ?? geometry.cellWidth;
    rows.forEach((label, i) => texts.push(`<text x="${left - 4}" y="${band + pad + i * (cellHeight + pad) + cellHeight / 2 + 4}" font-size="11" text-anchor="end">${escapeXml(label)}</text>`));
  }
  if (columns) {
    const { cellWidth, pad } = geometry;
    const longest = Math.max(...columns.map((c) => c.length));
    // DejaVu Sans averages ≈ 0.6 em per character: shrink to fit the cell, never below 7 px.
    const size = Math.max(7, Math.min(11, Math.floor(cellWidth / (0.62 * Math.max(1, longest)))));
    const fits = Math.max(1, Math.floor(cellWidth / (0.62 * size)));
    const y = band - 4;
    columns.forEach((label, i) => {
      const text = label.length > fits ? `${label.slice(0, Math.max(1, fits - 1))}…` : label;
      texts.push(`<text x="${left + pad + i * (cellWidth + pad) + cellWidth / 2}" y="${y}" font-size="${size}" text-anchor="middle">${escapeXml(text)}</text>`);
    });
  }
  const png = encodePng(grid).toString('base64');
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height + band}" viewBox="0 0 ${width} ${height + band}">` +
    `<rect width="${width}" height="${height + band}" fill="white"/>` +
    `<image x="${left}" y="${band}" width="${grid.width}" height="${height}" image-rendering="optimizeSpeed" xlink:href="data:image/png;base64,${png}"/>` +
    `<g font-family="DejaVu Sans, sans-serif" fill="#222">${texts.join('')}</g></svg>`;
  const resvg = new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' }, background: 'white' });
  return resvg.render().asPng();
}
