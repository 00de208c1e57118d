// Lists live events, newest first. The page listens on the app's
// subscription while it exists and stops listening when it unloads. Rows
// are handed to setData in batches, at most every 100 ms, rather than the
// whole list once per event: every setData crosses to the render thread.
const app = getApp()

Page({
  data: { state: 'stopped', events: [] },

  onLoad() {
    let rows = []
    let timer = null
    const flush = () => {
      timer = null
      this.setData({ events: rows.reverse().concat(this.data.events).slice(0, 100) })
      rows = []
    }
    this.offs = [
      app.sub.on('event', (e) => {
        rows.push({ id: e.id, type: e.type, text: JSON.stringify(e.data), time: e.time.slice(11, 19) })
        if (!timer) timer = setTimeout(flush, 100)
      }),
      app.sub.on('state', (state) => this.setData({ state })),
      // After a reset the list may show events that are gone or miss some:
      // start over from what arrives next (a real app reloads from its API).
      app.sub.on('reset', () => {
        rows = []
        this.setData({ events: [] })
      }),
    ]
    this.cancel = () => clearTimeout(timer)
    this.setData({ state: app.sub.state })
  },

  onUnload() {
    this.cancel()
    for (const off of this.offs) off()
  },
})
