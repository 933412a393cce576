package calendar

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRefusesDeepNesting(t *testing.T) {
	for _, depth := range []int{MaxDepth + 1, 100000} {
		var b strings.Builder
		b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n")
		for i := 1; i < depth; i++ {
			b.WriteString("BEGIN:X-NEST\r\n")
		}
		for i := 1; i < depth; i++ {
			b.WriteString("END:X-NEST\r\n")
		}
		b.WriteString("END:VCALENDAR\r\n")
		_, err := Parse([]byte(b.String()), nil)
		if !errors.Is(err, ErrInvalidData) || !strings.Contains(err.Error(), "nested deeper") {
			t.Errorf("depth %d: got %v, want a nesting error wrapping ErrInvalidData", depth, err)
		}
	}
}

func TestParseRefusesHugeParameters(t *testing.T) {
	body := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240101T000000Z\r\nX-BIG;P=\"" +
		strings.Repeat("a", 1<<20) + "\":v\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	_, err := Parse([]byte(body), nil)
	if !errors.Is(err, ErrInvalidData) || !strings.Contains(err.Error(), "parameters longer") {
		t.Errorf("got %v, want a parameter size error", err)
	}
}
