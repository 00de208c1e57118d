// A mini-program TypeScript project: ES2017 only, no DOM library, `wx` is
// declared by the project (here a stand-in for miniprogram-api-typings).
import { Tidings, Publisher, TidingsEvent, Unsubscribe, WxLike } from 'tidings-client'

declare const wx: WxLike & { getStorageSync(key: string): string }

interface Order {
  id: string
  total: number
}

const sub = new Tidings<Order>({
  url: 'https://push.example.com',
  topics: ['orders'],
  token: () => wx.getStorageSync('token'),
  cursor: 'storage',
  wx,
  appLifecycle: true,
})
const off: Unsubscribe = sub.on('event', (e) => {
  const total: number = e.data.total
  // @ts-expect-error e.data is an Order, not a string
  const wrong: string = e.data
  // @ts-expect-error Order has no field "missing"
  e.data.missing
  void total
  void wrong
})
off()
sub.once('reset', (r) => r.cursor.toFixed())
// @ts-expect-error "events" is not an event name
sub.on('events', () => {})
sub.on('state', (s) => {
  // @ts-expect-error 'closed' is not a state
  if (s === 'closed') return
})
const handler = (e: TidingsEvent<Order>) => e.data.id
sub.on('event', handler)
sub.start().stop()

const pub = new Publisher<Order>({ url: 'https://push.example.com', wx })
pub.publish('orders', { id: 'a', total: 1 }).then((a) => a.id + 1)
// @ts-expect-error total must be a number
pub.publish('orders', { id: 'a', total: '1' })
const any = new Publisher({ url: 'https://push.example.com' })
any.publish<Order>('orders', { id: 'b', total: 2 })
// @ts-expect-error the explicit type argument is checked
any.publish<Order>('orders', { id: 'b' })
