// Helpers of the end-to-end suites; the server itself comes from the
// harness shared with the client's suite (testing/server.mjs).

// publishEvent publishes one event and returns the stored event; it throws
// on any answer but 201.
export async function publishEvent(server, topic, data, type) {
  const r = await server.publish(topic, data, { type })
  if (r.status !== 201) throw new Error(`publish to ${topic} answered ${r.status}: ${JSON.stringify(r.body)}`)
  return r.body
}

// publishPaced publishes n events {n: i} to topic, one every gapMs (so the
// publishing spans several bounded responses), with a noise event on
// another topic every tenth. It returns the ids of the topic's events.
export async function publishPaced(server, topic, n, gapMs) {
  const ids = []
  for (let i = 0; i < n; i++) {
    ids.push((await publishEvent(server, topic, { n: i })).id)
    if (i % 10 === 5) await publishEvent(server, `${topic}.noise`, { noise: i })
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
