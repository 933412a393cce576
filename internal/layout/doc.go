// Package layout holds no code: its test checks the rules of the
// repository's layout that the compiler does not, so that a change breaking
// one fails `make test`. docs/ARCHITECTURE.md explains them.
//
//   - The import direction between packages (see importRules in
//     layout_test.go): device never imports server or storage; storage
//     never imports net/http or encoding/xml; syncproto imports only the
//     standard library; lower layers (syncproto, storage, calendar, card,
//     schedule)
//     import none of the upper ones; server does not import transfer; and
//     no package outside server/ imports a server/... package, except that
//     cmd/... may import server itself, the one entry point that builds the
//     HTTP handler.
//   - No hand-written .go file is longer than 600 lines.
//   - No .go file cites a work item or a path outside the repository in a
//     comment: comments explain the code, so they name what it does, and
//     refer to docs/ARCHITECTURE.md for the design.
package layout
