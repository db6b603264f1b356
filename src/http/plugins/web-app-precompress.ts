// Writes a brotli (.br) and a gzip (.gz) copy beside each text file of the built web app,
// once, at build time (web/vite.config.ts), so the service sends them (@fastify/static's
// preCompressed) without compressing per request. Brotli at its best quality takes a
// second or two for the whole app: fine once per build, too slow for every request.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const compressibleExtensions = new Set([
  '.html',
  '.js',
  '.mjs',
  '.css',
  '.svg',
  '.json',
  '.map',
  '.txt',
  '.webmanifest',
]);
/** Below this a compressed copy saves less than its headers cost. */
const compressBytesMin = 1024;

export interface PrecompressedFile {
  file: string;
  bytes: number;
  brotliBytes: number;
  gzipBytes: number;
}

/** Compresses every compressible file under `directory`; a copy that is not smaller is not written. */
export async function precompressDirectory(directory: string): Promise<PrecompressedFile[]> {
  const written: PrecompressedFile[] = [];
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile() || !compressibleExtensions.has(path.extname(entry.name))) continue;
    const file = path.join(entry.parentPath, entry.name);
    const content = await readFile(file);
    if (content.length < compressBytesMin) continue;
    const brotli = brotliCompressSync(content, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: content.length,
      },
    });
    const gzip = gzipSync(content, { level: constants.Z_BEST_COMPRESSION });
    if (brotli.length < content.length) await writeFile(`${file}.br`, brotli);
    if (gzip.length < content.length) await writeFile(`${file}.gz`, gzip);
    written.push({
      file: path.relative(directory, file),
      bytes: content.length,
      brotliBytes: brotli.length,
      gzipBytes: gzip.length,
    });
  }
  return written;
}
