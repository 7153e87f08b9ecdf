package keystore

import (
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{"": BackendKeyring, "keyring": BackendKeyring, " Memory ": BackendMemory} {
		s, err := Open(name)
		if err != nil || s.Backend() != want {
			t.Errorf("Open(%q) = %v, %v; want the %s backend", name, s, err, want)
		}
	}
	_, err := Open("vault")
	if err == nil || !strings.Contains(err.Error(), `"vault"`) || !strings.Contains(err.Error(), "keyring, file, memory") {
		t.Fatalf("Open(vault): %v, want an error naming it and listing the choices", err)
	}
}

func TestKeyString(t *testing.T) {
	t.Parallel()
	if got := (Key{Environment: "prod", Username: "a"}).String(); got != "prod/a/session" {
		t.Fatalf("Key.String() = %q", got)
	}
	for r, want := range map[Reason]string{NoService: "no service", Locked: "locked", Timeout: "timeout", Other: "other"} {
		if r.String() != want {
			t.Errorf("Reason %d = %q, want %q", r, r, want)
		}
	}
}
