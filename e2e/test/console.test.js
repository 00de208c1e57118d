// The web console at / in headless Chromium against the real server: the
// live tail, the publish form, the topic list, the token flow on a server
// with a secret, the layout at desktop and phone widths, and that the page
// reaches nothing but its own server and raises no errors. Screenshots go
// to e2e/screenshots/ (ignored by git).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright-core'
import { startServer } from '../../testing/server.mjs'
import { launchChromium } from '../../testing/chromium.mjs'
import { publishEvent, publishPaced, timeRE } from './helpers.js'

const shots = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../screenshots')
const SECRET = 'console-e2e-secret-0123456789abcdef0123'

function signToken(secret, { subscribe = [], publish = [], ttl = 3600 }) {
  const b64 = (x) => Buffer.from(JSON.stringify(x)).toString('base64url')
  const head = b64({ alg: 'HS256', typ: 'JWT' })
  const body = b64({ exp: Math.floor(Date.now() / 1000) + ttl, 'tidings.subscribe': subscribe, 'tidings.publish': publish })
  const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url')
  return `${head}.${body}.${sig}`
}

// watch records what a page requests and every error it raises.
function watch(page) {
  const w = { requests: [], pageErrors: [], consoleErrors: [] }
  page.on('request', (r) => w.requests.push(r))
  page.on('pageerror', (e) => w.pageErrors.push(String(e)))
  page.on('console', (m) => {
    if (m.type() === 'error') w.consoleErrors.push(m.text())
  })
  return w
}

// checkClean asserts the page asked only its own server and raised no
// error. allowed matches console errors a test expects (a refused request
// is logged by the browser itself).
function checkClean(w, origin, allowed) {
  const foreign = w.requests.map((r) => r.url()).filter((u) => new URL(u).origin !== origin && !u.startsWith('data:'))
  assert.deepEqual(foreign, [], 'no request leaves the server origin')
  assert.deepEqual(w.pageErrors, [], 'no page errors')
  const unexpected = w.consoleErrors.filter((t) => !(allowed && allowed.test(t)))
  assert.deepEqual(unexpected, [], 'no console errors')
}

async function eventIds(page) {
  return page.$$eval('#events li[data-id]', (lis) => lis.map((li) => Number(li.dataset.id)))
}

let server, b
before(async () => {
  await mkdir(shots, { recursive: true })
  // Bounded responses of 1 s with a short retry hint,
  // so the tail crosses many responses and a gap between two cannot
  // account for a late event.
  server = await startServer({ TIDINGS_SSE_MAX_DURATION: '1s', TIDINGS_SSE_RETRY: '50ms' })
  b = await launchChromium(chromium, { viewport: { width: 1280, height: 800 } })
})
after(async () => {
  await b?.close()
  await server?.stop()
})

test('the live tail shows what is published, once, newest first, across bounded responses', async (t) => {
  const page = await b.browser.newPage()
  const w = watch(page)
  await page.goto(`${server.url}/?topics=orders,room.lobby`)
  await page.waitForFunction(() => document.getElementById('state').textContent === 'open', null, { timeout: 10000 })
  assert.equal(await page.inputValue('#tail-topics'), 'orders, room.lobby')

  // An event published with the HTTP API is in the page within a second.
  const data = { order: 1234, items: [{ sku: 'tea', qty: 2 }], note: '你好' }
  // The page notes when each event's item appears (the same clock as
  // this process), so the browser driver's own delays do not count.
  await page.evaluate(() => {
    window.shownAt = {}
    new MutationObserver((records) => {
      for (const r of records) for (const n of r.addedNodes) if (n.dataset && n.dataset.id) window.shownAt[n.dataset.id] = Date.now()
    }).observe(document.getElementById('events'), { childList: true })
  })
  const sent = Date.now()
  const first = await publishEvent(server, 'orders', data, 'order.paid')
  await page.waitForSelector(`#events li[data-id="${first.id}"]`, { timeout: 10000 })
  const delay = (await page.evaluate((id) => window.shownAt[id], first.id)) - sent
  t.diagnostic(`published to shown: ${delay} ms`)
  assert.ok(delay < 1000, `shown ${delay} ms after the publish, want under a second`)
  const item = await page.$eval(`#events li[data-id="${first.id}"]`, (li) => ({
    id: li.querySelector('.id').textContent,
    topic: li.querySelector('.topic').textContent,
    type: li.querySelector('.type').textContent,
    time: li.querySelector('time').textContent,
    data: li.querySelector('pre').textContent,
  }))
  assert.equal(item.id, `#${first.id}`)
  assert.equal(item.topic, 'orders')
  assert.equal(item.type, 'order.paid')
  assert.match(item.time, timeRE)
  assert.equal(item.data, JSON.stringify(data, null, 2), 'data pretty-printed')

  // Events of other topics are not shown; the stream is cut every second
  // (TIDINGS_SSE_MAX_DURATION=1s) while 30 events arrive over several
  // responses: each is shown once, newest first.
  await publishEvent(server, 'elsewhere', { skip: true })
  const ids = await publishPaced(server, 'room.lobby', 30, 100)
  const last = ids.at(-1)
  await page.waitForSelector(`#events li[data-id="${last}"]`, { timeout: 15000 })
  const shown = await eventIds(page)
  const want = [first.id, ...ids].sort((x, y) => y - x)
  assert.deepEqual(shown, want, 'every event once, newest first, nothing from other topics')
  await page.waitForFunction((id) => document.getElementById('cursor').textContent === String(id), last, { timeout: 5000 })
  const streams = w.requests.filter((r) => new URL(r.url()).pathname.endsWith('/sse'))
  assert.ok(streams.length >= 3, `the tail spans several bounded responses, got ${streams.length}`)

  // Pause, publish, resume: the event arrives once, after the resume.
  await page.getByRole('button', { name: 'Pause' }).click()
  await page.waitForFunction(() => document.getElementById('state').textContent === 'paused')
  const during = await publishEvent(server, 'orders', { during: 'pause' })
  await page.getByRole('button', { name: 'Resume' }).click()
  await page.waitForSelector(`#events li[data-id="${during.id}"]`, { timeout: 10000 })
  assert.deepEqual((await eventIds(page)).slice(0, 2), [during.id, last])

  await page.screenshot({ path: path.join(shots, 'tail-desktop.png'), fullPage: false })
  checkClean(w, server.url)
  await page.close()
})

test('the publish form validates data, stores the event and shows the server error', async () => {
  const page = await b.browser.newPage()
  const w = watch(page)
  await page.goto(`${server.url}/?topics=forms`)
  await page.waitForFunction(() => document.getElementById('state').textContent === 'open', null, { timeout: 10000 })
  const posts = () => w.requests.filter((r) => r.method() === 'POST').length

  // Every field has a label; the form works from the keyboard.
  const unlabelled = await page.$$eval('input, textarea, select', (els) => els.filter((e) => e.labels.length === 0).map((e) => e.id))
  assert.deepEqual(unlabelled, [], 'every field has a label')
  await page.getByLabel('Topic', { exact: true }).fill('forms')
  await page.getByLabel('Type', { exact: true }).fill('note.added')

  // Not JSON: said at the field, and nothing is sent.
  await page.getByLabel('Data', { exact: true }).fill('{"text": "hi",}')
  await page.getByRole('button', { name: 'Publish' }).click()
  await page.waitForSelector('#pub-data-error:not([hidden])')
  assert.match(await page.textContent('#pub-data-error'), /not valid JSON/)
  assert.equal(await page.getAttribute('#pub-data', 'aria-invalid'), 'true')
  assert.equal(posts(), 0, 'invalid data is not sent')

  // Valid: Tab from Data reaches Publish, Enter sends it.
  await page.getByLabel('Data', { exact: true }).fill('{"text": "hi", "n": [1, 2]}')
  await page.focus('#pub-data')
  await page.keyboard.press('Tab')
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Publish')
  await page.keyboard.press('Enter')
  await page.waitForSelector('#pub-result .ok', { timeout: 10000 })
  const stored = JSON.parse(await page.textContent('#pub-result pre'))
  assert.equal(stored.topic, 'forms')
  assert.equal(stored.type, 'note.added')
  assert.match(await page.textContent('#pub-result .ok'), new RegExp(`#${stored.id}\\b`))
  // It is stored, and the tail shows it.
  const res = await fetch(`${server.url}/v1/topics/forms/poll?cursor=${stored.id - 1}&timeout=0`)
  const poll = await res.json()
  assert.deepEqual(poll.events[0].data, { text: 'hi', n: [1, 2] })
  assert.equal(poll.events[0].id, stored.id)
  await page.waitForSelector(`#events li[data-id="${stored.id}"]`, { timeout: 10000 })

  // The server's refusal is shown in its own words.
  await page.getByLabel('Type', { exact: true }).fill('tidings.fake')
  await page.getByRole('button', { name: 'Publish' }).click()
  await page.waitForSelector('#pub-result.error', { timeout: 10000 })
  const refusal = await page.textContent('#pub-result')
  assert.match(refusal, /400 invalid_type/)
  assert.match(refusal, /reserved/)

  checkClean(w, server.url, /status of 400/)
  await page.close()
})

test('the topic list is filtered by prefix, refreshed live, and opens a tail', async () => {
  const page = await b.browser.newPage()
  const w = watch(page)
  await page.goto(`${server.url}/`)
  await page.waitForSelector('#topic-list li', { timeout: 10000 })
  const names = () => page.$$eval('#topic-list li .name a', (as) => as.map((a) => a.textContent))
  const listed = await names()
  assert.deepEqual(listed, [...listed].sort(), 'name order')
  for (const t of ['orders', 'room.lobby', 'elsewhere', 'forms']) assert.ok(listed.includes(t), `${t} listed in ${listed}`)
  const stats = await page.$eval('#topic-list li:has(a[href="?topics=room.lobby"]) .stats', (s) => s.textContent)
  assert.match(stats, /^30 events · last #\d+ · /)
  assert.match(await page.textContent('#info-head'), /^\d+$/)
  assert.notEqual(await page.textContent('#info-version'), '–')

  await page.getByLabel('Filter by prefix').fill('room.')
  await page.waitForFunction(() => Array.from(document.querySelectorAll('#topic-list li .name a')).every((a) => a.textContent.startsWith('room.')))
  assert.deepEqual(await names(), ['room.lobby', 'room.lobby.noise'])

  // A new topic appears without a reload.
  await publishEvent(server, 'room.kitchen', { kettle: 'on' })
  await page.waitForFunction(() => document.querySelector('#topic-list a[href="?topics=room.kitchen"]'), null, { timeout: 10000 })

  // Choosing a topic tails it, and Add adds another.
  await page.getByRole('link', { name: 'room.kitchen' }).click()
  await page.waitForFunction(() => document.getElementById('state').textContent === 'open', null, { timeout: 10000 })
  assert.equal(new URL(page.url()).search, '?topics=room.kitchen')
  await page.getByRole('button', { name: 'Add room.lobby to the tail' }).click()
  await page.waitForFunction(() => document.getElementById('state').textContent === 'open', null, { timeout: 10000 })
  assert.equal(new URL(page.url()).search, '?topics=room.kitchen,room.lobby')
  const ev = await publishEvent(server, 'room.lobby', { hello: 1 })
  await page.waitForSelector(`#events li[data-id="${ev.id}"]`, { timeout: 10000 })

  checkClean(w, server.url)
  await page.close()
})

test('at 390 px wide nothing scrolls sideways', async () => {
  const page = await b.browser.newPage()
  const w = watch(page)
  await page.setViewportSize({ width: 390, height: 844 })
  await publishEvent(server, 'a.very.long.topic.name:with-no-natural-breaks_0123456789abcdefghijklmnopqrstuvwxyz', {
    long: 'x'.repeat(300),
    nested: { deeper: { deepest: ['a', 'b', 'c'] } },
  })
  await page.goto(`${server.url}/?topics=orders,room.lobby,a.very.long.topic.name:with-no-natural-breaks_0123456789abcdefghijklmnopqrstuvwxyz&cursor=0`)
  await page.waitForSelector('#events li[data-id]', { timeout: 10000 })
  await page.waitForSelector('#topic-list li', { timeout: 10000 })
  const width = await page.evaluate(() => document.documentElement.scrollWidth)
  assert.ok(width <= 390, `page is ${width} px wide at a 390 px viewport`)
  await page.screenshot({ path: path.join(shots, 'phone.png'), fullPage: false })
  await page.screenshot({ path: path.join(shots, 'phone-full.png'), fullPage: true })
  await page.setViewportSize({ width: 1280, height: 800 })
  await page.screenshot({ path: path.join(shots, 'desktop.png'), fullPage: false })
  await page.emulateMedia({ colorScheme: 'dark' })
  await page.screenshot({ path: path.join(shots, 'desktop-dark.png'), fullPage: false })
  await page.setViewportSize({ width: 390, height: 844 })
  await page.screenshot({ path: path.join(shots, 'phone-dark.png'), fullPage: false })
  checkClean(w, server.url)
  await page.close()
})

test('with a secret: the token is asked for, refusals are plain, and it stays out of URLs', async () => {
  const secured = await startServer({ TIDINGS_SSE_MAX_DURATION: '1s', TIDINGS_SECRET: SECRET, TIDINGS_PUBLIC_TOPICS: 'public.*', TIDINGS_SSE_RETRY: '50ms' })
  const page = await b.browser.newPage()
  const w = watch(page)
  try {
    const admin = signToken(SECRET, { publish: ['*'] })
    const pub = async (topic, data) => {
      const res = await fetch(`${secured.url}/v1/topics/${topic}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
        body: JSON.stringify({ data }),
      })
      assert.equal(res.status, 201)
      return res.json()
    }
    await pub('secret.a', { n: 1 })
    await pub('public.news', { n: 2 })
    await pub('other.z', { n: 3 })

    await page.goto(`${secured.url}/?topics=secret.a`)
    const tokenField = page.getByLabel('Token', { exact: true })
    await tokenField.waitFor({ state: 'visible', timeout: 10000 })
    // No token: the tail is refused plainly; only public topics are listed.
    await page.waitForFunction(() => document.getElementById('state').textContent === 'refused', null, { timeout: 10000 })
    assert.match(await page.textContent('#tail-status'), /Refused \(401 unauthorized\).*needs a token/)
    await page.waitForSelector('#topic-list a[href="?topics=public.news"]', { timeout: 10000 })

    // A bad token: said so.
    await tokenField.fill(signToken('another-secret-0123456789abcdef0123456789', { subscribe: ['*'] }))
    await page.getByRole('button', { name: 'Use token' }).click()
    await page.waitForFunction(() => /refused this token/.test(document.getElementById('token-status').textContent), null, { timeout: 10000 })
    await page.waitForFunction(() => document.getElementById('state').textContent === 'refused', null, { timeout: 10000 })
    assert.match(await page.textContent('#tail-status'), /Refused \(401/)

    // A token that does not cover the topic: 403, said so.
    await tokenField.fill(signToken(SECRET, { subscribe: ['nothing.*'] }))
    await page.getByRole('button', { name: 'Use token' }).click()
    await page.waitForFunction(() => /Refused \(403 forbidden\)/.test(document.getElementById('tail-status').textContent), null, { timeout: 10000 })

    // A good token: the tail opens and works, the list shows what it covers.
    const good = signToken(SECRET, { subscribe: ['secret.*'], publish: ['secret.*'] })
    await tokenField.fill(good)
    await page.getByRole('button', { name: 'Use token' }).click()
    await page.waitForFunction(() => document.getElementById('state').textContent === 'open', null, { timeout: 10000 })
    await page.waitForFunction(() => /Token accepted/.test(document.getElementById('token-status').textContent), null, { timeout: 10000 })
    const ev = await pub('secret.a', { after: 'token' })
    await page.waitForSelector(`#events li[data-id="${ev.id}"]`, { timeout: 10000 })
    await page.waitForFunction(() => !document.querySelector('#topic-list a[href="?topics=other.z"]') && document.querySelector('#topic-list a[href="?topics=secret.a"]'), null, { timeout: 10000 })
    const listed = await page.$$eval('#topic-list li .name a', (as) => as.map((a) => a.textContent))
    assert.deepEqual(listed, ['public.news', 'secret.a'])

    // The form publishes with the token; the server refuses a topic it
    // does not cover, in its own words.
    await page.getByLabel('Topic', { exact: true }).fill('secret.a')
    await page.getByLabel('Data', { exact: true }).fill('{"from": "form"}')
    await page.getByRole('button', { name: 'Publish' }).click()
    await page.waitForSelector('#pub-result .ok', { timeout: 10000 })
    await page.getByLabel('Topic', { exact: true }).fill('other.z')
    await page.getByRole('button', { name: 'Publish' }).click()
    await page.waitForSelector('#pub-result.error', { timeout: 10000 })
    assert.match(await page.textContent('#pub-result'), /Refused \(403 forbidden\)/)

    // The token is in this tab's sessionStorage and in Authorization
    // headers, never in a URL.
    assert.equal(await page.evaluate(() => sessionStorage.getItem('tidings.console.token')), good)
    assert.ok(!page.url().includes(good) && !page.url().includes('token='), `page URL ${page.url()}`)
    for (const r of w.requests) assert.ok(!r.url().includes('token=') && !r.url().includes(good.split('.')[2]), `token in ${r.url()}`)
    const streams = w.requests.filter((r) => new URL(r.url()).pathname.endsWith('/sse'))
    const auths = await Promise.all(streams.map((r) => r.allHeaders().then((h) => h.authorization)))
    assert.equal(auths.at(-1), `Bearer ${good}`, 'the tail sends the token in a header')

    await page.evaluate(() => window.scrollTo(0, 0))
    await page.screenshot({ path: path.join(shots, 'token-desktop.png'), fullPage: false })
    await page.setViewportSize({ width: 390, height: 844 })
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    assert.ok(width <= 390, `page is ${width} px wide at a 390 px viewport`)
    await page.screenshot({ path: path.join(shots, 'token-phone.png'), fullPage: false })
    // The browser logs each refused request itself; nothing else may appear.
    checkClean(w, secured.url, /status of 40[13]/)
  } finally {
    await page.close()
    await secured.stop()
  }
})
