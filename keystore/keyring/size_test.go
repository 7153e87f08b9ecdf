package keyring

import (
	"errors"
	"strings"
	"testing"

	"github.com/pmx-login/pmx-login/keystore"
	"github.com/pmx-login/pmx-login/keystore/internal/storehelp"
	"github.com/pmx-login/pmx-login/traderapi"
)

func TestFitRecordPerPlatform(t *testing.T) {
	t.Parallel()
	big := func(rt, at int) keystore.Record {
		r := *storehelp.Record("preprod", "alice")
		r.RefreshToken = traderapi.Secret(strings.Repeat("r", rt))
		r.AccessToken = traderapi.Secret(strings.Repeat("a", at))
		return r
	}
	const service = "pmx-login:preprod"
	for _, tc := range []struct {
		goos       string
		r          keystore.Record
		wantAccess bool   // the access token is kept
		wantErr    string // "" = fits
	}{
		{"linux", big(1500, 60000), true, ""},
		{"windows", big(1000, 1000), true, ""},
		{"windows", big(1000, 2000), false, ""},
		{"windows", big(2500, 10), false, "Windows Credential Manager limit of 2560 bytes"},
		{"darwin", big(1000, 900), true, ""},
		{"darwin", big(1000, 2000), false, ""},
		{"darwin", big(3000, 0), false, "macOS keychain limit"},
	} {
		b, err := fitRecord(tc.goos, service, "alice", tc.r)
		if tc.wantErr != "" {
			if !errors.Is(err, keystore.ErrTooLarge) || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "--keystore") {
				t.Errorf("%s: got %v, want ErrTooLarge naming %q with no CLI advice", tc.goos, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.goos, err)
			continue
		}
		if keychainLimit(tc.goos, service, "alice", b) != "" {
			t.Errorf("%s: fitRecord returned %d bytes over the limit", tc.goos, len(b))
		}
		r, err := keystore.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if kept := !r.AccessToken.IsZero(); kept != tc.wantAccess || r.RefreshToken != tc.r.RefreshToken {
			t.Errorf("%s rt=%d at=%d: access kept=%v, want %v; refresh kept=%v",
				tc.goos, len(tc.r.RefreshToken), len(tc.r.AccessToken), kept, tc.wantAccess, r.RefreshToken == tc.r.RefreshToken)
		}
	}
}

func TestDarwinCommandLen(t *testing.T) {
	t.Parallel()
	// "add-generic-password -U -s svc -a 'o'\"'\"'brien' -w go-keyring-base64:YWJj\n"
	want := len("add-generic-password -U -s svc -a 'o'\"'\"'brien' -w go-keyring-base64:YWJj\n")
	if got := darwinCommandLen("svc", "o'brien", []byte("abc")); got != want {
		t.Fatalf("darwinCommandLen = %d, want %d", got, want)
	}
	if got, want := shellQuotedLen("a b"), 5; got != want {
		t.Fatalf("shellQuotedLen(a b) = %d, want %d", got, want)
	}
}
