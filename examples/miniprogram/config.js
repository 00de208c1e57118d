// Where the example connects. Edit these two lines for your server; nothing
// else needs to change.
export default {
  // The tidings server. In WeChat DevTools, "do not verify domains" (urlCheck
  // false in project.config.json) lets a local http://127.0.0.1:8080 work;
  // on a phone it must be an https domain listed among the mini-program's
  // request legal domains.
  url: 'http://127.0.0.1:8080',
  topics: ['room.lobby'],
  // Empty: the topics are public (TIDINGS_PUBLIC_TOPICS='room.*', or a
  // server without TIDINGS_SECRET). Otherwise an endpoint of your backend
  // that answers {"token": "..."} for the logged-in user (docs/auth.md,
  // "A token endpoint for apps").
  tokenUrl: '',
}
