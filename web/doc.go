// Package web serves pimvault's pages for people: sign-in, address books and
// calendars, contacts and a month view, history with undo, devices,
// export and import, and for admins the accounts, the store's status,
// recoveries and backups. The pages are mounted by the server under /web/
// on the DAV port (server.Config.Pages); GET / leads there.
//
// Every action goes through the code that DAV, the CLI and the admin socket
// use: sign-in through the server's one check (its rate limits included),
// changes through storage.Store.Commit with the same changes DAV makes,
// undo through storage.Store.Undo (a dry run is the preview), import and
// export through package transfer, account and backup actions through the
// admin command table (admin.Run). There is no second implementation.
//
// Invariants:
//
//   - A user only ever sees and changes their own data: the principal is the
//     session's user, never a parameter, except under /web/admin/, which
//     needs an account with the admin flag, re-read on every request.
//   - Sessions live in memory (lost on restart), at most maxSessions of
//     them, each ending after an idle time and an absolute lifetime, and at
//     once when the account is disabled or its password changes. The
//     session cookie is HttpOnly, SameSite=Strict, Secure under TLS, and is
//     scoped to /web/.
//   - Every POST carries the session's CSRF token (the sign-in form a token
//     bound to a pre-session cookie); a POST without it changes nothing and
//     gets 403.
//   - Pages are html/template (contextual escaping); assets are embedded
//     (embed.FS); every answer carries a Content-Security-Policy that allows
//     only the server's own stylesheet and no scripts, and forbids framing.
//     The pages work without JavaScript.
//   - Every request is bounded: uploads by size, listings by count, the
//     month view by the calendar package's work budget per object and a
//     deadline.
package web
