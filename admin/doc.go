// Package admin holds pimvault's admin commands (verify, rebuild, status,
// user-* (add, passwd, disable, enable, admin, unadmin, list), prune, recovery-*, backup, drill, undo, export, import) and the
// local admin socket through which they reach a running server.
//
// The admin socket is <data dir>/admin.sock, mode 0600 from the moment it
// is bound, speaking HTTP with JSON bodies: POST /admin/<command> with
// {"args": Request} answers Result as {"output": "...", "failed": bool,
// "error": "..."}. The same commands run directly on an opened store when no
// server holds the data directory (Run), so an admin command behaves the
// same whether the server runs or not.
//
// Every command is in one table (commands in socket.go); each reads the
// fields of Request it documents. A command that ran and found a problem
// sets Result.Failed (exit status 1); an error means it could not run.
package admin
