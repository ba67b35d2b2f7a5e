import { inflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Bytes per pixel of each PNG colour type at 8 bits a channel (grey, -, RGB, palette, grey+alpha, -, RGBA). */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

export interface PngInfo {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
}

/**
 * Decodes a PNG far enough to know it is one: the signature, the IHDR chunk, and the
 * image data, inflated, exactly as long as its rows (a filter byte and the pixels each).
 * Throws on anything else.
 */
export function decodePng(base64: string): PngInfo {
  const png = Buffer.from(base64, 'base64');
  if (!png.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG: bad signature');
  let at = 8;
  let info: PngInfo | null = null;
  const idat: Buffer[] = [];
  let ended = false;
  while (at + 8 <= png.length) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    if (data.length !== length) throw new Error(`chunk ${type} cut short`);
    if (type === 'IHDR') info = { width: data.readUInt32BE(0), height: data.readUInt32BE(4), bitDepth: data[8]!, colorType: data[9]! };
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') {
      ended = true;
      break;
    }
    at += 12 + length; // length, type, data, CRC
  }
  if (!info) throw new Error('no IHDR');
  if (!ended) throw new Error('no IEND');
  const channels = CHANNELS[info.colorType];
  if (info.bitDepth !== 8 || channels === undefined) throw new Error(`unexpected format: depth ${info.bitDepth}, colour type ${info.colorType}`);
  const pixels = inflateSync(Buffer.concat(idat));
  const expected = info.height * (1 + info.width * channels);
  if (pixels.length !== expected) throw new Error(`image data is ${pixels.length} bytes, its rows need ${expected}`);
  return info;
}
