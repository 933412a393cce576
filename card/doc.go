// Package card is pimvault's vCard model: the one validator of a vCard body
// (Validate) and the CardDAV addressbook-query matcher (Compile, Match).
//
// Standards: RFC 6350 (vCard 4.0) and RFC 2426 (vCard 3.0) for the format,
// and the versit vCard 2.1, which Validate rewrites as 3.0 (upgrade21);
// RFC 6352 (CardDAV) §5.1 for what an address object resource must be and
// §10.5 for CARDDAV:filter, with the collations of RFC 4790 and RFC 5051
// (i;unicode-casemap, the default, i;ascii-casemap, i;octet) from
// internal/collation, the one text matcher calendar uses too.
//
// Invariants:
//   - A CardDAV PUT, pimvault import and the device library validate vCards
//     here and nowhere else, so what one accepts the others accept.
//   - Every refusal wraps one sentinel (ErrInvalidData,
//     ErrUnsupportedVersion, ErrBadFilter, ErrUnsupportedCollation) and says
//     what is wrong; the server maps the sentinels to HTTP in one place.
//   - A body is stored byte for byte unless it is a vCard 2.1, which is
//     rewritten as 3.0 (Info.Body) and never stored as 2.1.
//   - A text-match sees a property's value unescaped, and for structured and
//     list properties (N, ADR, ORG, CATEGORIES, NICKNAME…) each component as
//     well; it holds when one of them matches, and negate-condition inverts
//     that answer. A param-filter text-match sees each parameter value.
//   - The package does no I/O and imports no other pimvault package except
//     internal/collation.
package card
