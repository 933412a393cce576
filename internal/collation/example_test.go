package collation_test

import (
	"fmt"

	"github.com/pimvault/pimvault/internal/collation"
)

func ExampleCollation_Match() {
	c, _ := collation.Parse("", collation.UnicodeCasemap) // CardDAV's default
	fmt.Println(c.Match(collation.Equals, "Ångström", "ÅNGSTRÖM"))
	fmt.Println(c.Match(collation.Contains, "Café", "cafe"))
	fmt.Println(c.Match(collation.Equals, "Straße", "STRASSE"))
	fmt.Println(collation.ASCIICasemap.Match(collation.StartsWith, "Ärger", "ä"))
	// Output:
	// true
	// true
	// false
	// false
}
