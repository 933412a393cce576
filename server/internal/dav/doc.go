// Package dav is the WebDAV core that pimvault's HTTP handlers share:
//
//   - errors.go: Error, an HTTP status with an optional DAV precondition
//     element (RFC 4918 §16), and ToError, the one function that turns any
//     error — every storage, calendar and card sentinel — into one.
//     WriteError writes it, with Retry-After on a 503.
//   - paths.go, paths_files.go: the URL layout under /dav/ and its parser;
//     segments are unescaped one by one and validated as storage names.
//   - xml_request.go, xml_response.go, props.go, propupdate.go: request
//     bodies (bounded in size and depth) and response elements: multistatus
//     (RFC 4918 §13), propstat, the property names served.
//   - conditional.go: If-Match and If-None-Match ETag lists (RFC 9110
//     §13.1.1, §13.1.2), checked by the store inside the write.
//   - body.go: bounded request bodies.
//
// It imports storage, calendar and card only for their error sentinels and
// the Change it fills with conditions; it holds no state.
package dav
