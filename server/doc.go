// Package server is pimvault's HTTP side: the DAV methods and reports, auth,
// admission control and the web UI (DESIGN.md §6, §7), and the local admin
// socket through which admin commands reach a running server.
//
// The admin socket is <data dir>/admin.sock, mode 0600, speaking HTTP with
// JSON bodies: POST /admin/<command> with {"args": {...}} answers
// {"output": "...", "failed": bool, "error": "..."}. The same commands run
// directly on an opened store when no server holds the data directory, so an
// admin command behaves the same whether the server runs or not.
package server
