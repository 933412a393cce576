// Package account keeps the accounts of pimvault's users: a bcrypt password
// hash, a disabled flag, two times and the app passwords, stored as the opaque data of the
// principal in the store, so accounts are journalled, backed up, restored
// and undone like every other change.
//
// Invariants:
//   - Every account change is one storage commit with a precondition checked
//     inside the write: creating needs the principal not to exist, changing
//     needs it to exist.
//   - A password is 8 to 72 bytes (bcrypt's limit); the store keeps only its
//     hash.
//   - A disabled account keeps its data and cannot sign in.
//   - Sign-in checks go through a Verifier: at most as many bcrypt runs at
//     once as it allows, waits that end with the caller's context, one run
//     for concurrent sign-ins with the same credentials, and the same work
//     for a missing or disabled account as for a wrong password. An account
//     lists its ways to sign in as Secrets; cheap ones (app passwords) are
//     tried first, outside the bcrypt limit.
//   - An app password is a 160-bit random token shown once; only its SHA-256
//     hash is kept. Revoking one refuses it at the next request; the changes
//     of one account are serialised, so a last-use note never revives it.
//   - A share is a property of the owner's collection (share.go): only an
//     accepted grant gives access; an invitation waits for the sharee's
//     answer, at most MaxPendingInvites per sharee; a declined one is
//     accepted only after a new invitation.
//
// Sign-in (package server) and the admin commands (package admin) both use
// this package; neither touches account data on its own.
package account
