// Package observe is what an operator sees of a running server: Prometheus
// metrics (HTTP requests by method, route class and status, latency, in
// flight, rejections, sign-in outcomes, the commit path, the journal,
// snapshots, drills, accounts in RECOVERING, Go runtime) and readiness
// (/healthz: the process is alive; /readyz: the store is open, not
// replaying, not migrating, not draining).
//
// Invariants:
//   - Label values come from small fixed sets (method, route class, status
//     code, outcome), never from paths or user names, so a client cannot
//     grow the series count.
//   - storage knows nothing of Prometheus: it reports commits through
//     storage.Observer, which Metrics implements.
//   - /readyz turns false before a draining server closes its listener, so
//     a load balancer stops sending before connections are refused.
package observe
