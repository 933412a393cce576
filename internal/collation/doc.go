// Package collation implements the text comparisons of CalDAV and CardDAV
// text-match (RFC 4791 §9.7.5, RFC 6352 §10.5.4): the collations of RFC 4790
// (i;octet, i;ascii-casemap) and RFC 5051 (i;unicode-casemap), with the
// match types equals, contains, starts-with and ends-with. The calendar and
// card packages both match text here, so a query means the same thing on a
// calendar and on an address book.
//
// # Standards
//
//   - RFC 4790 §9.3 i;octet: strings compare as octets.
//   - RFC 4790 §9.2 i;ascii-casemap: the octets a-z are mapped to A-Z, every
//     other octet is left alone, then the strings compare as octets.
//   - RFC 5051 i;unicode-casemap: each character is replaced by its simple
//     titlecase mapping from UnicodeData.txt (which is the uppercase mapping
//     when no titlecase mapping is given), and the result by its full
//     compatibility decomposition (NFKD); the strings then compare as octets.
//     The mapping is applied once, character by character: a decomposition is
//     not titlecased again, so U+01C4 becomes "D", "z", U+030C as in RFC 5051's
//     own example, and "ﬁ" (U+FB01) becomes "fi" in lower case, which equals no
//     string typed with ordinary letters. Combining marks are not reordered
//     across characters. Hangul syllables are decomposed into jamo, as NFKD does
//     (UnicodeData.txt lists no decomposition for them; RFC 5051 describes its
//     result as "effectively Normalization Form KD"). Case mappings that are
//     not one character to one character (SpecialCasing.txt: ß to SS) do not
//     apply, so "ß" equals neither "ss" nor "SS" nor "ẞ" (U+1E9E).
//   - RFC 4790 §4.2.2 substring semantics: the empty string is a prefix,
//     suffix and substring of every string; equals holds only for equal
//     prepared strings.
//
// # Invariants
//
//   - Preparing a string maps each character on its own, so the prepared form
//     of a concatenation of valid UTF-8 strings is the concatenation of their
//     prepared forms, and a match on prepared strings never depends on where a
//     string was cut.
//   - Invalid UTF-8 is compared as binary, as RFC 5051 §2 asks of text that
//     cannot be converted to Unicode: every byte that does not start a valid
//     UTF-8 sequence is kept as it is, so it matches only the same byte, and
//     never U+FFFD or another invalid byte. (Text reaching a query has passed
//     an XML parser or a body validator, both of which refuse invalid UTF-8;
//     the rule is there so the comparison stays total.)
//   - The package does no I/O and imports no other pimvault package.
package collation
