package version

import "testing"

func TestNameFallsBackAndHonoursRelease(t *testing.T) {
	old := Release
	defer func() { Release = old }()
	Release = ""
	if got := Name(); got == "" {
		t.Fatal("Name() is empty without a Release")
	}
	Release = "9.8.7"
	if got := Name(); got != "9.8.7" {
		t.Fatalf("Name() = %q with Release set to 9.8.7", got)
	}
}

func TestCommitIsNeverEmpty(t *testing.T) {
	if Commit() == "" {
		t.Fatal("Commit() is empty")
	}
}
