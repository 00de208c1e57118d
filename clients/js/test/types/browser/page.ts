// A browser TypeScript project with the DOM library: the global fetch and
// EventSource fit the options.
import { Tidings, TidingsError } from 'tidings-client'

type Chat = { text: string }

const sub = new Tidings<Chat>({
  url: location.origin,
  topics: 'room.lobby',
  fetch: window.fetch.bind(window),
  EventSource,
})
sub.on('event', (e) => {
  document.title = e.data.text
  // @ts-expect-error e.data is a Chat
  e.data.toFixed()
})
sub.on('error', (err: TidingsError) => console.warn(err.status, err.code))
const untyped = new Tidings({ url: '/', topics: ['t'], fetch: null })
untyped.on('event', (e) => {
  // @ts-expect-error without a type argument e.data is unknown
  e.data.text
})
