// One subscription for the whole mini-program: started when the app comes to
// the foreground, stopped when it goes to the background (WeChat would break
// the request there anyway). The cursor is kept in wx storage, so events
// published while hidden, or while the app was killed, arrive on return.
import { Tidings } from 'tidings-client'
import config from './config.js'

// token asks the example token endpoint once and keeps the answer until
// the server refuses it (a 401 makes the client ask again).
let token = ''
function fetchToken() {
  if (!config.tokenUrl) return ''
  if (token) return token
  return new Promise((resolve, reject) =>
    wx.request({
      url: config.tokenUrl,
      method: 'POST',
      timeout: 10000,
      success: (res) => (res.statusCode === 200 && res.data.token ? resolve((token = res.data.token)) : reject(new Error('token endpoint answered ' + res.statusCode))),
      fail: (e) => reject(new Error(e.errMsg)),
    }),
  )
}

App({
  onLaunch() {
    this.sub = new Tidings({
      url: config.url,
      topics: config.topics,
      token: fetchToken,
      cursor: 'storage',
    })
    this.sub.on('error', (err) => {
      if (err.status === 401) token = ''
      console.warn('tidings', err.status || '', err.message)
    })
  },
  onShow() {
    this.sub.start()
  },
  onHide() {
    this.sub.stop()
  },
})
