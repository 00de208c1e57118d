// The tidings web console: server information, the topic list, a live tail
// and a publish form, all through this server's own API and the project's
// JavaScript client. The token, when the server needs one, stays in
// sessionStorage and travels in the Authorization header only.
import { Tidings, Publisher } from './client/index.js'

const $ = (id) => document.getElementById(id)
// The server's base URL: the folder of this page, so the console also works
// below a path prefix on a proxy.
const base = new URL('.', location.href)
const api = (path) => new URL(path, base).href
const TOPIC = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,127}$/
const CAP = 500 // events kept in the page
const TOPICS_LIMIT = 100
const INFO_EVERY = 2000 // ms between server information refreshes
const TOPICS_EVERY = 15000 // ms between topic list refreshes when the head stands still
const TOKEN_KEY = 'tidings.console.token'

let token = ''
try {
  token = sessionStorage.getItem(TOKEN_KEY) || ''
} catch (e) {}

const plural = (n, word) => n + ' ' + word + (n === 1 ? '' : 's')

const authHeaders = () => (token ? { Authorization: 'Bearer ' + token } : {})

// getJSON fetches a JSON answer; an error status rejects with the server's
// message, its status and its code.
async function getJSON(path) {
  const res = await fetch(api(path), { headers: authHeaders(), cache: 'no-store' })
  let body = null
  try {
    body = await res.json()
  } catch (e) {}
  if (!res.ok) {
    const err = new Error((body && body.error && body.error.message) || 'HTTP ' + res.status)
    err.status = res.status
    err.code = body && body.error && body.error.code
    throw err
  }
  return body
}

// describe turns a failed request into a sentence for the page, saying
// plainly when the server refused the token.
function describe(err) {
  const s = err.status
  if (s === 401)
    return (
      'Refused (401 ' + (err.code || 'unauthorized') + '): ' + err.message + ' ' +
      (token ? 'Check the token under Access.' : 'This server needs a token: enter it under Access.')
    )
  if (s === 403) return 'Refused (403 ' + (err.code || 'forbidden') + '): ' + err.message
  if (s) return 'Error (' + s + (err.code ? ' ' + err.code : '') + '): ' + err.message
  return 'Cannot reach the server: ' + err.message
}

function setStatus(el, text, kind) {
  el.textContent = text || ''
  el.classList.toggle('error', kind === 'error')
  el.classList.toggle('ok', kind === 'ok')
}

function when(iso) {
  const d = new Date(iso)
  if (isNaN(d)) return iso
  return d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString() : d.toLocaleString()
}

// ---- Server information and the topic list ---------------------------

let lastHead = null
let topicsAt = 0
let topicsSeq = 0

async function refreshInfo() {
  try {
    const info = await getJSON('v1/info')
    $('info-head').textContent = info.head
    $('info-subscribers').textContent = info.subscribers
    $('info-version').textContent = info.version
    $('info-error').hidden = true
    $('token-section').hidden = info.open
    if (info.head !== lastHead || Date.now() - topicsAt > TOPICS_EVERY) {
      lastHead = info.head
      await refreshTopics()
    }
  } catch (err) {
    $('info-error').textContent = describe(err)
    $('info-error').hidden = false
  }
}

let infoTimer = null
let infoDue = 0 // when the next refresh is scheduled; 0 while one runs

// infoLoop refreshes the server information (and with it the topic list)
// every INFO_EVERY while the page is visible, or sooner when asked.
async function infoLoop() {
  infoTimer = null
  infoDue = 0
  if (!document.hidden) await refreshInfo()
  later(INFO_EVERY)
}

function later(ms) {
  clearTimeout(infoTimer)
  infoDue = Date.now() + ms
  infoTimer = setTimeout(infoLoop, ms)
}

// soon brings the next refresh forward (never back): something was just
// published.
function soon() {
  if (infoDue && infoDue > Date.now() + 300) later(300)
}

document.addEventListener('visibilitychange', () => {
  if (!document.hidden) soon()
})

async function refreshTopics() {
  const seq = ++topicsSeq
  const status = $('topics-status')
  const prefix = $('prefix').value.trim()
  if (prefix && !TOPIC.test(prefix)) {
    $('prefix').setAttribute('aria-invalid', 'true')
    setStatus(status, 'A prefix holds only the characters A-Z a-z 0-9 _ . : - and starts with a letter, digit or underscore.', 'error')
    return
  }
  $('prefix').removeAttribute('aria-invalid')
  try {
    const a = await getJSON('v1/topics?limit=' + TOPICS_LIMIT + (prefix ? '&prefix=' + encodeURIComponent(prefix) : ''))
    if (seq !== topicsSeq) return
    topicsAt = Date.now()
    renderTopics(a.topics)
    const n = a.topics.length
    let text = plural(n, 'topic') + (prefix ? ' beginning with ' + prefix : '') + '.'
    if (n === 0) text = prefix ? 'No topic with retained events begins with ' + prefix + '.' : 'No topic has retained events yet.'
    else if (n === TOPICS_LIMIT) text = 'The first ' + n + ' topics; narrow the prefix to see others.'
    setStatus(status, text)
    if (token) setStatus($('token-status'), 'Token accepted.', 'ok')
  } catch (err) {
    if (seq !== topicsSeq) return
    setStatus(status, describe(err), 'error')
    if (err.status === 401 || err.status === 403) {
      renderTopics([])
      setStatus($('token-status'), 'The server refused ' + (token ? 'this token' : 'to list topics without a token') + ': ' + err.message, 'error')
    }
  }
}

const rows = new Map() // topic → its list item, reused so focus survives refreshes

function renderTopics(list) {
  const ul = $('topic-list')
  const keep = new Set()
  list.forEach((t, i) => {
    let li = rows.get(t.topic)
    if (!li) {
      li = topicRow(t.topic)
      rows.set(t.topic, li)
    }
    keep.add(t.topic)
    const stats = plural(t.events, 'event') + ' · last #' + t.last_id + ' · ' + when(t.last_time)
    const el = li.querySelector('.stats')
    if (el.textContent !== stats) el.textContent = stats
    el.title = 'first #' + t.first_id + ', last event at ' + t.last_time
    if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null)
  })
  for (const [name, li] of rows) {
    if (!keep.has(name)) {
      li.remove()
      rows.delete(name)
    }
  }
}

function topicRow(name) {
  const li = document.createElement('li')
  const div = document.createElement('div')
  div.className = 'name'
  const a = document.createElement('a')
  a.href = '?topics=' + name
  a.textContent = name
  a.title = 'Tail ' + name
  a.addEventListener('click', (e) => {
    if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return
    e.preventDefault()
    navigate([name])
  })
  const stats = document.createElement('span')
  stats.className = 'stats'
  div.append(a, stats)
  const add = document.createElement('button')
  add.type = 'button'
  add.className = 'small'
  add.textContent = 'Add'
  add.setAttribute('aria-label', 'Add ' + name + ' to the tail')
  add.addEventListener('click', () => {
    if (!topics.includes(name)) navigate(topics.concat(name))
  })
  li.append(div, add)
  return li
}

let prefixTimer
$('prefix').addEventListener('input', () => {
  clearTimeout(prefixTimer)
  prefixTimer = setTimeout(refreshTopics, 200)
})

// ---- Live tail --------------------------------------------------------

let sub = null
let topics = []
let paused = false
let refused = false
let lastId = 0
let shown = 0

function parseTopics(text) {
  const list = []
  for (const t of text.split(',').map((s) => s.trim())) if (t && !list.includes(t)) list.push(t)
  return list
}

// navigate tails list and records it in the page address (never the token).
function navigate(list) {
  const q = list.length ? '?topics=' + list.join(',') : location.pathname
  history.pushState(null, '', q)
  startTail(list, null)
}

function fromAddress() {
  const q = new URLSearchParams(location.search)
  const list = parseTopics(q.get('topics') || '')
  const c = q.get('cursor')
  startTail(list, c != null && /^[0-9]+$/.test(c) ? Number(c) : null)
}

window.addEventListener('popstate', fromAddress)

function stopTail() {
  if (sub) {
    sub.stop()
    sub = null
  }
}

function startTail(list, cursor) {
  stopTail()
  topics = list
  paused = false
  refused = false
  lastId = 0
  clearEvents()
  $('tail-topics').value = list.join(', ')
  $('tail-topics').removeAttribute('aria-invalid')
  $('pause').textContent = 'Pause'
  $('pause').disabled = true
  setStatus($('tail-status'), '')
  if (!list.length) {
    setState('stopped')
    setStatus($('tail-status'), 'Choose topics to tail: type them above or pick them from the topic list.')
    return
  }
  const bad = list.find((t) => !TOPIC.test(t))
  if (bad !== undefined) {
    setState('stopped')
    $('tail-topics').setAttribute('aria-invalid', 'true')
    setStatus($('tail-status'), JSON.stringify(bad) + ' is not a topic: a topic is 1 to 128 of the characters A-Z a-z 0-9 _ . : - and starts with a letter, digit or underscore.', 'error')
    return
  }
  if (!$('pub-topic').value) $('pub-topic').value = list[0]
  const opts = {
    url: base.href,
    topics: list,
    transport: 'auto',
    // Streams over fetch (or long-poll), never EventSource, so the token
    // goes in a header and never in a URL.
    EventSource: null,
  }
  if (token) opts.token = token
  if (cursor != null) opts.cursor = cursor
  const s = new Tidings(opts)
  s.on('event', onEvent)
  s.on('reset', onReset)
  s.on('state', setState)
  s.on('error', onError)
  sub = s
  $('pause').disabled = false
  s.start()
}

// restartTail opens the tail again (after a token change) from where it
// was, so nothing is lost and nothing is shown twice.
function restartTail() {
  if (!topics.length) return
  const cursor = sub && sub.cursor != null ? sub.cursor : null
  const keepLast = lastId
  const list = topics
  const items = Array.from($('events').children)
  const count = shown
  startTail(list, cursor)
  $('events').append(...items)
  lastId = keepLast
  shown = count
  showCounts()
}

function setState(s) {
  const label = refused && s === 'stopped' ? 'refused' : paused && s === 'stopped' ? 'paused' : s
  $('state').textContent = label
  $('state-dot').className = 'dot ' + label
  // Back online: a note about a connection problem or a pause is over.
  if (s === 'open' && !$('tail-status').classList.contains('error')) setStatus($('tail-status'), '')
  showCounts()
}

function onError(err) {
  const st = $('tail-status')
  if (err.status === 401 || err.status === 403 || err.status === 400) {
    // The client gives up on a request that can never succeed as sent.
    refused = true
    setStatus(st, describe(err), 'error')
    $('pause').disabled = true
    return
  }
  setStatus(st, 'Connection problem (' + err.message + '); retrying.')
}

function onEvent(e) {
  if (e.id <= lastId) return
  lastId = e.id
  const li = document.createElement('li')
  const meta = document.createElement('div')
  meta.className = 'meta'
  const id = document.createElement('span')
  id.className = 'id'
  id.textContent = '#' + e.id
  const topic = document.createElement('span')
  topic.className = 'topic'
  topic.textContent = e.topic
  const type = document.createElement('span')
  type.className = 'type'
  type.textContent = e.type
  const time = document.createElement('time')
  time.dateTime = e.time
  time.textContent = e.time
  meta.append(id, topic, type, time)
  const pre = document.createElement('pre')
  pre.textContent = JSON.stringify(e.data, null, 2)
  li.append(meta, pre)
  li.dataset.id = e.id
  prepend(li)
  shown++
  showCounts()
  soon()
}

function onReset(info) {
  const li = document.createElement('li')
  li.className = 'reset'
  li.setAttribute('role', 'note')
  const why =
    info.reason === 'cursor_expired'
      ? 'events after the cursor were pruned before they could be shown'
      : info.reason === 'cursor_ahead'
        ? 'the cursor is ahead of the server (its store was replaced or restored)'
        : info.reason
  const strong = document.createElement('strong')
  strong.textContent = 'Reset'
  li.append(strong, ' (' + info.reason + '): ' + why + '; the tail continues from cursor ' + info.cursor + '.')
  prepend(li)
  setStatus($('tail-status'), 'Reset (' + info.reason + '): the tail continues from cursor ' + info.cursor + '.')
  showCounts()
}

function prepend(li) {
  const ol = $('events')
  ol.insertBefore(li, ol.firstChild)
  while (ol.children.length > CAP) ol.lastChild.remove()
}

function clearEvents() {
  $('events').replaceChildren()
  shown = 0
  showCounts()
}

function showCounts() {
  $('cursor').textContent = sub && sub.cursor != null ? sub.cursor : '–'
  const kept = $('events').querySelectorAll('li[data-id]').length
  $('shown').textContent = kept === shown ? String(shown) : kept + ' of ' + shown
}

// The cursor also moves on blocks that carry no event.
setInterval(() => {
  if (sub) showCounts()
}, 1000)

$('tail-form').addEventListener('submit', (e) => {
  e.preventDefault()
  navigate(parseTopics($('tail-topics').value))
})

$('pause').addEventListener('click', () => {
  if (!sub) return
  if (paused) {
    paused = false
    $('pause').textContent = 'Pause'
    sub.start()
  } else {
    paused = true
    $('pause').textContent = 'Resume'
    sub.stop()
    setStatus($('tail-status'), 'Paused at cursor ' + sub.cursor + '; Resume continues from there without losing events.')
  }
})

$('clear').addEventListener('click', clearEvents)
$('tail-cap').textContent = CAP

// ---- Token ------------------------------------------------------------

$('token').value = token

function useToken(t) {
  token = t
  try {
    if (t) sessionStorage.setItem(TOKEN_KEY, t)
    else sessionStorage.removeItem(TOKEN_KEY)
  } catch (e) {}
  setStatus($('token-status'), t ? 'Checking the token…' : 'No token: only public topics are listed and tailed.')
  restartTail()
  refreshTopics()
}

$('token-form').addEventListener('submit', (e) => {
  e.preventDefault()
  useToken($('token').value.trim())
})

$('token-forget').addEventListener('click', () => {
  $('token').value = ''
  useToken('')
})

// ---- Publish ----------------------------------------------------------

const publisher = new Publisher({ url: base.href, token: () => token || undefined })

function fieldError(input, el, text) {
  if (text) input.setAttribute('aria-invalid', 'true')
  else input.removeAttribute('aria-invalid')
  el.textContent = text || ''
  el.hidden = !text
}

$('publish-form').addEventListener('submit', (e) => {
  e.preventDefault()
  const topicIn = $('pub-topic')
  const dataIn = $('pub-data')
  const topic = topicIn.value.trim()
  const type = $('pub-type').value.trim()
  const result = $('pub-result')
  fieldError(topicIn, $('pub-topic-error'), '')
  fieldError(dataIn, $('pub-data-error'), '')
  if (!TOPIC.test(topic)) {
    fieldError(topicIn, $('pub-topic-error'), topic ? 'Not a topic: use 1 to 128 of A-Z a-z 0-9 _ . : -, starting with a letter, digit or underscore.' : 'Name the topic to publish to.')
    topicIn.focus()
    return
  }
  let data
  try {
    data = JSON.parse(dataIn.value)
  } catch (err) {
    fieldError(dataIn, $('pub-data-error'), 'Data is not valid JSON: ' + err.message)
    dataIn.focus()
    return
  }
  const button = $('pub-button')
  button.disabled = true
  setStatus(result, 'Publishing…')
  const slow = setTimeout(() => setStatus(result, 'Waiting for the server; the event is sent once it answers.'), 3000)
  publisher.publish(topic, data, { type: type || undefined }).then(
    (ev) => {
      clearTimeout(slow)
      button.disabled = false
      result.replaceChildren()
      const p = document.createElement('p')
      p.className = 'ok'
      p.textContent = (ev.duplicate ? 'Already stored as event #' : 'Stored as event #') + ev.id + '.'
      const pre = document.createElement('pre')
      pre.textContent = JSON.stringify(ev, null, 2)
      result.append(p, pre)
      soon()
    },
    (err) => {
      clearTimeout(slow)
      button.disabled = false
      setStatus(result, describe(err), 'error')
    },
  )
})

fromAddress()
infoLoop()
