// Builds and runs the real tidings server for the end-to-end suites: one
// build per test file into a temporary folder, one process per suite on a
// free port with its own database, stopped with SIGTERM.
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

// startServer builds tidings and starts it with env on top of the test
// defaults, resolving once it has logged its address. stop() sends SIGTERM,
// waits for the exit and removes the temporary folder.
export async function startServer(env = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'tidings-e2e-'))
  const bin = path.join(dir, 'tidings')
  execFileSync('go', ['build', '-o', bin, repoRoot], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit'] })
  const child = spawn(bin, [], {
    env: {
      ...process.env,
      TIDINGS_ADDR: '127.0.0.1:0',
      TIDINGS_DB: path.join(dir, 't.db'),
      TIDINGS_LOG_FORMAT: 'json',
      TIDINGS_SSE_MAX_DURATION: '1s',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const logs = []
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  const addr = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('tidings did not log "listening" within 30 s:\n' + logs.join('\n'))), 30000)
    let rest = ''
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (chunk) => {
      const lines = (rest + chunk).split('\n')
      rest = lines.pop()
      for (const line of lines) {
        logs.push(line)
        try {
          const rec = JSON.parse(line)
          if (rec.msg === 'listening' && rec.addr) {
            clearTimeout(timer)
            resolve(rec.addr)
          }
        } catch {
          // Not a JSON line: kept in logs only.
        }
      }
    })
    exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`tidings exited (${code ?? signal}) before listening:\n${logs.join('\n')}`))
    })
  })
  const url = `http://${addr}`
  return {
    url,
    logs,
    // publish posts one event and returns the stored event (201 only).
    async publish(topic, data, type) {
      const body = JSON.stringify(type ? { data, type } : { data })
      const res = await fetch(`${url}/v1/topics/${encodeURIComponent(topic)}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      })
      const text = await res.text()
      if (res.status !== 201) throw new Error(`publish to ${topic}: ${res.status} ${text}`)
      return JSON.parse(text)
    },
    async stop() {
      child.kill('SIGTERM')
      const { code } = await exited
      rmSync(dir, { recursive: true, force: true })
      if (code !== 0) throw new Error(`tidings exited with ${code}:\n${logs.join('\n')}`)
    },
  }
}

// publishPaced publishes n events {n: i} to topic, one every gapMs (so the
// publishing spans several bounded responses), with a noise event on
// another topic every tenth. It returns the ids of the topic's events.
export async function publishPaced(server, topic, n, gapMs) {
  const ids = []
  for (let i = 0; i < n; i++) {
    ids.push((await server.publish(topic, { n: i })).id)
    if (i % 10 === 5) await server.publish(`${topic}.noise`, { noise: i })
    await new Promise((r) => setTimeout(r, gapMs))
  }
  return ids
}

// waitUntil polls check until it returns true or timeoutMs passes.
export async function waitUntil(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

export const timeRE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/
