// One subscription for the whole mini-program: started when the app comes to
// the foreground, stopped when it goes to the background (WeChat would break
// the request there anyway). The cursor is kept in wx storage, so events
// published while hidden, or while the app was killed, arrive on return.
import { Tidings } from 'tidings-client'

App({
  onLaunch() {
    this.sub = new Tidings({
      url: 'https://push.example.com', // also a "request" legal domain of the mini-program
      topics: ['room.lobby'],
      token: () => wx.getStorageSync('token'), // empty: the topic must be public
      cursor: 'storage',
    })
    this.sub.on('error', (err) => console.warn('tidings', err.status || '', err.message))
  },
  onShow() {
    this.sub.start()
  },
  onHide() {
    this.sub.stop()
  },
})
