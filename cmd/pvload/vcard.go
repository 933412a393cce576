// Generated contacts: realistic vCard 3.0 bodies of 400–800 bytes (FN, N,
// ORG, EMAIL, TEL, ADR, NOTE, REV), folded at 75 octets, with unique UIDs and
// content that depends only on the seed, the book's prefix and the index.

package main

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"
)

// contactGen generates the contacts of one address book.
type contactGen struct {
	seed   uint64
	prefix string // tells the books of one run apart ("m" main, "s" sync)
	code   uint64 // hash of prefix
}

func newContactGen(seed uint64, prefix string) contactGen {
	h := fnv.New64a()
	h.Write([]byte(prefix))
	return contactGen{seed: seed, prefix: prefix, code: h.Sum64()}
}

// name is the object name (last URL segment) of contact i.
func (g contactGen) name(i int) string {
	return fmt.Sprintf("pv%d%s-%07d.vcf", g.seed, g.prefix, i)
}

type person struct{ display, ascii string }

var (
	givenNames = []person{{"Anna", "anna"}, {"Ben", "ben"}, {"Clara", "clara"}, {"David", "david"}, {"Elif", "elif"},
		{"François", "francois"}, {"Grace", "grace"}, {"Hiroshi", "hiroshi"}, {"Inès", "ines"}, {"Jonas", "jonas"},
		{"Karin", "karin"}, {"Łukasz", "lukasz"}, {"María", "maria"}, {"Noah", "noah"}, {"Olga", "olga"},
		{"Priya", "priya"}, {"Quentin", "quentin"}, {"Rosa", "rosa"}, {"Søren", "soren"}, {"Tomás", "tomas"},
		{"Uma", "uma"}, {"Viktor", "viktor"}, {"Wen", "wen"}, {"Xavier", "xavier"}, {"Yasmin", "yasmin"}, {"Zoë", "zoe"}}
	familyNames = []person{{"Müller", "mueller"}, {"Smith", "smith"}, {"García", "garcia"}, {"Nguyen", "nguyen"},
		{"Kowalski", "kowalski"}, {"O'Brien", "obrien"}, {"Rossi", "rossi"}, {"Yılmaz", "yilmaz"}, {"Tanaka", "tanaka"},
		{"Dubois", "dubois"}, {"Andersson", "andersson"}, {"Silva", "silva"}, {"Novák", "novak"}, {"Papadopoulos", "papadopoulos"},
		{"Schmidt", "schmidt"}, {"Okafor", "okafor"}, {"Jensen", "jensen"}, {"Fernández", "fernandez"}, {"Kim", "kim"}, {"Weber", "weber"}}
	domains = []string{"example.com", "example.org", "example.net", "mail.example", "post.example"}
	orgs    = []string{"Acme GmbH", "Globex Ltd", "Initech", "Umbrella Pharma", "Stark Logistics", "Wayne Foods",
		"Hooli", "Vandelay Industries", "Cyberdyne Systems", "Soylent AG"}
	titles  = []string{"Engineer", "Nurse", "Teacher", "Accountant", "Electrician", "Designer", "Manager", "Baker"}
	streets = []string{"Hauptstraße", "Main Street", "Rue de la Paix", "Calle Mayor", "Via Roma", "Kings Road",
		"Lindenallee", "Ulica Długa", "Bahnhofstraße", "Elm Street"}
	cities = []struct{ city, country string }{{"Berlin", "Germany"}, {"London", "United Kingdom"}, {"Paris", "France"},
		{"Madrid", "Spain"}, {"Roma", "Italy"}, {"Kraków", "Poland"}, {"Wien", "Austria"}, {"Lisboa", "Portugal"},
		{"Oslo", "Norway"}, {"Zürich", "Switzerland"}}
	noteWords = strings.Fields("met at the conference about storage systems; prefers calls after six, " +
		"has two kids and a dog named Pixel. birthday party every June; allergic to peanuts, likes jazz and long walks. " +
		"owes me a book. ask about the new job, the trip to Lisbon and the garden")
)

// card returns contact i at revision rev: its UID and vCard body. The UID
// is the same at every revision; the NOTE and REV differ.
func (g contactGen) card(i, rev int) (uid string, body []byte) {
	r := rand.New(rand.NewPCG(g.seed, uint64(i)<<16^g.code))
	uid = fmt.Sprintf("%08x-%04x-4%03x-%04x-%04x%08x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xfff,
		0x8000|r.Uint32()&0x3fff, g.code&0xffff, uint32(i))
	given := givenNames[r.IntN(len(givenNames))]
	family := familyNames[r.IntN(len(familyNames))]
	place := cities[r.IntN(len(cities))]
	var b strings.Builder
	line := func(s string) { b.WriteString(fold(s)) }
	line("BEGIN:VCARD")
	line("VERSION:3.0")
	line("PRODID:-//pimvault//pvload//EN")
	line("UID:" + uid)
	line("FN:" + escapeText(given.display+" "+family.display))
	line("N:" + escapeText(family.display) + ";" + escapeText(given.display) + ";;;")
	line("ORG:" + escapeText(orgs[r.IntN(len(orgs))]))
	line("TITLE:" + escapeText(titles[r.IntN(len(titles))]))
	line(fmt.Sprintf("EMAIL;TYPE=INTERNET,HOME:%s.%s%d@%s", given.ascii, family.ascii, i, domains[r.IntN(len(domains))]))
	line(fmt.Sprintf("TEL;TYPE=CELL:+%d %d %07d", 30+r.IntN(19), 150+r.IntN(30), r.IntN(10_000_000)))
	if r.IntN(2) == 0 {
		line(fmt.Sprintf("TEL;TYPE=WORK,VOICE:+%d %d %06d", 30+r.IntN(19), 20+r.IntN(80), r.IntN(1_000_000)))
	}
	line(fmt.Sprintf("ADR;TYPE=HOME:;;%s %d;%s;;%05d;%s", escapeText(streets[r.IntN(len(streets))]), 1+r.IntN(200),
		escapeText(place.city), r.IntN(100000), escapeText(place.country)))
	line(fmt.Sprintf("BDAY:%04d-%02d-%02d", 1940+r.IntN(66), 1+r.IntN(12), 1+r.IntN(28)))

	// The NOTE brings the body to its target size, 420–760 bytes before
	// the edit marker and REV.
	target := 420 + r.IntN(340)
	note := ""
	if rev > 0 {
		note = fmt.Sprintf("(edit %d)", rev)
	}
	nr := rand.New(rand.NewPCG(uint64(i)<<16^g.code, g.seed<<32^uint64(rev)))
	for k := nr.IntN(len(noteWords)); b.Len()+foldedLen(len("NOTE:")+len(note)) < target; k++ {
		if note != "" {
			note += " "
		}
		note += escapeText(noteWords[k%len(noteWords)])
	}
	line("NOTE:" + note)
	rt := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(5*365*24*3600)+rev) * time.Second)
	line("REV:" + rt.Format("20060102T150405Z"))
	line("END:VCARD")
	return uid, []byte(b.String())
}

// textEscaper escapes a vCard 3.0 text value (RFC 2426 §5: \\ \, \; \n).
var textEscaper = strings.NewReplacer(`\`, `\\`, ",", `\,`, ";", `\;`, "\n", `\n`)

func escapeText(s string) string { return textEscaper.Replace(s) }

// foldedLen is the length of a content line of n bytes once folded, with
// its CRLF (multi-byte characters may make it a little longer).
func foldedLen(n int) int {
	if n <= 75 {
		return n + 2
	}
	return n + 2 + 3*((n-75+73)/74)
}

// fold ends a content line with CRLF, folding it at 75 octets without
// splitting a UTF-8 sequence (RFC 2425 §5.8.1).
func fold(s string) string {
	const max = 75
	if len(s) <= max {
		return s + "\r\n"
	}
	var b strings.Builder
	b.Grow(len(s) + 3*(len(s)/74+1))
	n := 0
	for _, r := range s {
		l := utf8.RuneLen(r)
		if n+l > max {
			b.WriteString("\r\n ")
			n = 1
		}
		b.WriteRune(r)
		n += l
	}
	b.WriteString("\r\n")
	return b.String()
}
