// `npm run size`: the client bundled and minified by esbuild, then gzipped:
// what an application adds to its download.
import { build } from 'esbuild'
import { gzipSync } from 'node:zlib'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const out = await build({
  entryPoints: [path.join(root, 'index.js')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2017',
  write: false,
})
const code = out.outputFiles[0].contents
const gz = gzipSync(code, { level: 9 })
console.log(`minified ${code.length} bytes, minified+gzipped ${gz.length} bytes (${(gz.length / 1024).toFixed(2)} KiB)`)
