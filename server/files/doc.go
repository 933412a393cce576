// Package files is the generic WebDAV area (RFC 4918) of pimvault.
//
// Besides address books and calendars, each user has a plain WebDAV tree at
// /dav/files/<user>/: nested collections, resources of any content type, dead
// properties on both, COPY and MOVE of resources and of collections (Depth,
// Overwrite). It is what litmus (basic, copymove, props, http) tests, and a
// place for a client's own files. It is not in the principal's home sets and
// not listed by CardDAV or CalDAV discovery. No locks: OPTIONS says DAV: 1, 3.
//
// Design decision: storage keeps collections flat per principal and its names
// cannot contain '/', so the tree is encoded in flat collection names rather
// than adding parent links to storage (path.go): the collection at
// a/b is the storage collection "files:a%2Fb" of kind "files" ('%' in a
// segment is written "%25", so the name decodes back), its sub-collections
// at any depth are the names starting with "files:a%2Fb%2F", and a resource
// is an ordinary object of its parent's collection. Storage stays as it was
// (journal first, names validated, one verify/state hash); it gained only
// what the tree needs from it, all checked inside the write: conditions on
// other collections and objects (storage.Cond: a parent exists, a name is
// not taken by the other kind of member), a delete-collection that takes a
// whole subtree in one record, and per-object dead properties. Names
// starting with "files:" are refused in the other homes.
//
// Multi-record operations are ordered so that each record leaves a whole
// tree: DELETE of a collection is one record; COPY creates collections
// top-down and copies resources into them; MOVE of a collection is that copy
// followed by one subtree delete of the source. A crash part-way leaves the
// source whole beside a partial copy (the client got no 2xx; repeating the
// request with Overwrite: T completes it) and verify passes at every point
// (server/files_test.go interrupts a MOVE after each of its records).
//
// A request URI with a '#' fragment is refused with 400: acting on the URL
// without it would touch a resource the client did not name.
//
// The area shares its origin with the DAV tree and /api/, so nothing stored
// here may run there (headers.go): every answer says nosniff and carries
// Content-Security-Policy: sandbox, and a file is shown inline only when
// its type is one browsers render passively; HTML, SVG, XHTML, XML,
// JavaScript and unknown types are attachments.
//
// The area reaches the store through the small Store interface and the
// signed-in user through the path it is given: the server checks that the
// path's user is the signed-in one before it calls Serve.
package files
