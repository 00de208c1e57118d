// Lists live events, newest first. The page listens on the app's
// subscription while it exists and stops listening when it unloads.
const app = getApp()

Page({
  data: { state: 'stopped', events: [] },

  onLoad() {
    this.onEvent = (e) => {
      const row = { id: e.id, type: e.type, text: JSON.stringify(e.data), time: e.time.slice(11, 19) }
      this.setData({ events: [row].concat(this.data.events).slice(0, 100) })
    }
    this.onState = (state) => this.setData({ state })
    // After a reset the list may show events that are gone or miss some:
    // start over from what arrives next (a real app reloads from its API).
    this.onReset = () => this.setData({ events: [] })
    app.sub.on('event', this.onEvent).on('state', this.onState).on('reset', this.onReset)
    this.setData({ state: app.sub.state })
  },

  onUnload() {
    app.sub.off('event', this.onEvent).off('state', this.onState).off('reset', this.onReset)
  },
})
