// The real tidings server for the Node test suites (clients/js and e2e):
// built once per test run (testing/run.mjs builds it and passes its path in
// TIDINGS_TEST_BIN; a test file run on its own builds its own), started per
// test file on a free port with its own database, stopped with SIGTERM.
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import http from 'node:http'

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

let built

// buildServer returns the path of the server binary: TIDINGS_TEST_BIN when
// it names one, otherwise a build of the repository root into a temporary
// folder, made once per process and removed when the process exits.
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

// startServer starts the server with env on top of the test defaults and
// resolves once it has logged the address it listens on. With dir given,
// the database lives there and is left in place at stop (to restart on the
// same store). stop() sends SIGTERM (SIGKILL 15 s later), waits for the
// exit, and rejects unless the server exited with status 0.
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
  const addr = await listening(child, logs, exited)
  const url = 'http://' + addr
  return {
    url,
    addr,
    logs,
    // publish posts one event and resolves {status, headers, body}.
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
      if (r.code !== 0) throw new Error(`server exited (${r.code ?? r.signal}) on SIGTERM:\n` + logs.join('\n'))
      return r
    },
  }
}

// listening collects child's JSON log lines into logs and resolves with the
// address of its "listening" line; it rejects if the child exits first or
// says nothing of the kind within 30 s.
function listening(child, logs, exited) {
  return new Promise((resolve, reject) => {
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
          continue // not a JSON line: kept in logs only
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
}

// request is a small JSON client on node:http, so that it works in test
// processes that have removed TextDecoder. Resolves {status, headers, body}.
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

// publishAll publishes in order and returns the stored ids; it throws on
// any answer but 201.
export async function publishAll(server, topic, datas, opts) {
  const ids = []
  for (const d of datas) {
    const r = await server.publish(topic, d, opts)
    if (r.status !== 201) throw new Error(`publish to ${topic} answered ${r.status}: ${JSON.stringify(r.body)}`)
    ids.push(r.body.id)
  }
  return ids
}
