// The real tidings server for this package's tests: the harness shared with
// the end-to-end suite (testing/server.mjs at the repository root).
export * from '../../../testing/server.mjs'
