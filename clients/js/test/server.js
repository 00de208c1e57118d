// Runs the real tidings server for integration tests: built once per test
// run (test/run.js builds it and passes TIDINGS_TEST_BIN; a file run on its
// own builds its own), started per test file on a free port with its own
// database, stopped with SIGTERM.
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import http from 'node:http'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..')

let built

// buildServer compiles the server from the repository root and returns the
// binary's path.
export function buildServer() {
  const given = process.env.TIDINGS_TEST_BIN
  if (given && existsSync(given)) return given
  if (!built) {
    const dir = mkdtempSync(path.join(tmpdir(), 'tidings-bin-'))
    built = path.join(dir, 'tidings')
    execFileSync('go', ['build', '-o', built, '.'], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] })
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
  }
  return built
}

// startServer starts the server with extra environment and resolves once it
// has logged the address it listens on. With dir given, the database lives
// there and is left in place at stop (to restart on the same store).
export async function startServer(env = {}, { dir: keep } = {}) {
  const bin = buildServer()
  const dir = keep || mkdtempSync(path.join(tmpdir(), 'tidings-test-'))
  const child = spawn(bin, [], {
    env: {
      ...process.env,
      TIDINGS_ADDR: '127.0.0.1:0',
      TIDINGS_DB: path.join(dir, 't.db'),
      TIDINGS_LOG_FORMAT: 'json',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const logs = []
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  const addr = await new Promise((resolve, reject) => {
    let rest = ''
    const timer = setTimeout(() => reject(new Error('server did not log "listening" within 30s:\n' + logs.join('\n'))), 30000)
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (s) => {
      const lines = (rest + s).split('\n')
      rest = lines.pop()
      for (const line of lines) {
        logs.push(line)
        let rec
        try {
          rec = JSON.parse(line)
        } catch {
          continue
        }
        if (rec.msg === 'listening' && rec.addr) {
          clearTimeout(timer)
          resolve(rec.addr)
        }
      }
    })
    exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`server exited (${code ?? signal}) before listening:\n` + logs.join('\n')))
    })
  })
  const url = 'http://' + addr
  return {
    url,
    addr,
    logs,
    // publish posts one event and returns the parsed answer with its status.
    publish: (topic, data, opts = {}) =>
      request('POST', `${url}/v1/topics/${topic}/events`, { data, type: opts.type, key: opts.key }),
    // poll answers at once with what is retained after cursor.
    poll: (topics, cursor, query = '') =>
      request('GET', `${url}/v1/topics/${topics}/poll?timeout=0&limit=1000${cursor == null ? '' : '&cursor=' + cursor}${query}`),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      const killer = setTimeout(() => child.kill('SIGKILL'), 15000)
      const r = await exited
      clearTimeout(killer)
      if (!keep) rmSync(dir, { recursive: true, force: true })
      return r
    },
  }
}

// request is a small JSON client on node:http, so that it works in test
// processes that have removed TextDecoder. Resolves {status, body}.
export function request(method, url, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body))
    const req = http.request(url, {
      method,
      headers: data ? { 'content-type': 'application/json', 'content-length': data.length, ...headers } : headers,
    })
    req.on('response', (res) => {
      const parts = []
      res.on('data', (b) => parts.push(b))
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8')
        let parsed = text
        try {
          parsed = JSON.parse(text)
        } catch {}
        resolve({ status: res.statusCode, headers: res.headers, body: parsed })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(data)
  })
}

// publishAll publishes in order and returns the stored ids.
export async function publishAll(server, topic, datas, opts) {
  const ids = []
  for (const d of datas) {
    const r = await server.publish(topic, d, opts)
    if (r.status !== 201) throw new Error(`publish answered ${r.status}: ${JSON.stringify(r.body)}`)
    ids.push(r.body.id)
  }
  return ids
}
