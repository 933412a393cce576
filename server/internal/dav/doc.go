// Package dav is the WebDAV core that pimvault's HTTP handlers share:
//
//   - errors.go: Error, an HTTP status with an optional DAV precondition
//     element (RFC 4918 §16), and ToError, the one function that turns any
//     error — every storage, calendar and card sentinel — into one.
//     WriteError writes it, with Retry-After on a 503.
//   - paths.go, paths_files.go: the URL layout under /dav/ and its parser;
//     segments are unescaped one by one and validated as storage names.
//   - xml_request.go, xml_response.go, props.go, propupdate.go: request
//     bodies (bounded in size, depth and property names) and response
//     elements: propstat, the property names served.
//   - multistatus.go: the multistatus body (RFC 4918 §13), streamed as it is
//     built, namespaces declared once; xmlchars.go: the XML 1.0 character
//     check every response passes (XML 1.0 §2.2).
//   - paths.go also reads COPY/MOVE's Destination (RFC 4918 §10.3), a 502
//     for another origin (§9.8.5).
//   - refusal_log.go, keyrate.go: refusals logged at Info, rate-limited per
//     client address.
//   - conditional.go: If-Match and If-None-Match ETag lists (RFC 9110
//     §13.1.1, §13.1.2), checked by the store inside the write.
//   - body.go: bounded request bodies.
//
// It imports storage, calendar and card only for their error sentinels and
// the Change it fills with conditions. Its only state is the refusal log's
// per-address limiter.
package dav
