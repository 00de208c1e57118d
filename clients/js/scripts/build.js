// `npm run build`: the CommonJS entry points (dist/) and the mini-program
// build (miniprogram_dist/, named by the "miniprogram" field, which WeChat
// DevTools' "Build npm" copies as it is), from the ES modules, with esbuild.
// Both are build outputs, not committed: prepare builds them on `npm ci` or
// `npm install` in this folder (so a `file:` dependency on it, as in
// examples/miniprogram, finds them) and prepack before `npm pack`/publish.
//
// node scripts/build.js [outDir] builds into outDir instead of this folder.
import { build } from 'esbuild'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

// The queue entry point requires the core instead of carrying its own copy.
const core = (file) => ({
  name: 'core',
  setup(b) {
    b.onResolve({ filter: /^\.\/index\.js$/ }, (a) =>
      a.importer.endsWith('queue.js') ? { path: './' + file, external: true } : undefined,
    )
  },
})

export async function buildAll(out = root) {
  const targets = [
    // Node and bundlers: ES2017.
    { dir: 'dist', ext: '.cjs', target: 'es2017' },
    // Mini-programs: ES2015 syntax, which every base library runs without
    // the DevTools' ES6 transform.
    { dir: 'miniprogram_dist', ext: '.js', target: 'es2015' },
  ]
  for (const t of targets) {
    mkdirSync(path.join(out, t.dir), { recursive: true })
    for (const name of ['index', 'queue'])
      await build({
        entryPoints: [path.join(root, name + '.js')],
        outfile: path.join(out, t.dir, name + t.ext),
        bundle: true,
        format: 'cjs',
        platform: 'neutral',
        target: t.target,
        legalComments: 'none',
        banner: { js: '// tidings-client, built from ' + name + '.js by scripts/build.js: do not edit.' },
        plugins: [core('index' + t.ext)],
        logLevel: 'warning',
      })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildAll(process.argv[2] && path.resolve(process.argv[2]))
