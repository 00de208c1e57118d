// `npm run size`: the client bundled and minified by esbuild, then gzipped:
// what an application adds to its download. The core (index.js) must stay
// within 5 KB; the queue entry point is reported with the core it imports.
import { build } from 'esbuild'
import { gzipSync } from 'node:zlib'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

// sizes returns {minified, gzipped} in bytes for one entry point.
export async function sizes(entry) {
  const out = await build({
    entryPoints: [path.join(root, entry)],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2017',
    write: false,
  })
  const code = out.outputFiles[0].contents
  return { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const entry of ['index.js', 'queue.js']) {
    const s = await sizes(entry)
    console.log(`${entry}: minified ${s.minified} bytes, minified+gzipped ${s.gzipped} bytes (${(s.gzipped / 1024).toFixed(2)} KiB)`)
  }
}
