package keystore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/pmx-login/pmx-login/keystore/internal/names"
	"github.com/pmx-login/pmx-login/traderapi"
)

// formatVersion is the version of the wire format [Encode] writes.
const formatVersion = 1

// maxRecord caps an encoded record: a session is a few kilobytes at most.
const maxRecord = 64 << 10

// wireRecord is the wire format: short names keep keychain entries small.
type wireRecord struct {
	V     int    `json:"v"`
	Env   string `json:"env"`
	User  string `json:"user"`
	RT    string `json:"rt,omitempty"`
	RX    string `json:"rx,omitempty"`
	AT    string `json:"at,omitempty"`
	AX    string `json:"ax,omitempty"`
	OTP   string `json:"otp,omitempty"`
	MFA   bool   `json:"mfa,omitempty"`
	Saved string `json:"saved,omitempty"`
	Gen   uint64 `json:"gen,omitempty"`
	AL    int64  `json:"al,omitempty"` // access lifetime, milliseconds
	OTS   int64  `json:"ots,omitempty"`
	LO    bool   `json:"lo,omitempty"`
}

// Encode returns the wire form of r: compact JSON with a version field,
// shared by every backend. The record must name its environment and user.
func Encode(r *Record) ([]byte, error) {
	if r == nil {
		return nil, errors.New("keystore: cannot encode a nil record")
	}
	if err := names.CheckEnvironment(r.Environment); err != nil {
		return nil, err
	}
	if err := names.CheckUsername(r.Username); err != nil {
		return nil, err
	}
	w := wireRecord{
		V: formatVersion, Env: r.Environment, User: r.Username,
		RT: r.RefreshToken.Reveal(), RX: formatTime(r.RefreshExpiry),
		AT: r.AccessToken.Reveal(), AX: formatTime(r.AccessExpiry),
		OTP: r.OTPAuthURL.Reveal(), MFA: r.MFA, Saved: formatTime(r.SavedAt),
		Gen: r.Generation, AL: r.AccessLifetime.Milliseconds(), OTS: r.LastOTPStep, LO: r.LoggedOut,
	}
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	if err := e.Encode(w); err != nil {
		return nil, fmt.Errorf("keystore: encoding record: %w", err)
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(b) > maxRecord {
		return nil, fmt.Errorf("%w: record is %d bytes, over the limit of %d", ErrTooLarge, len(b), maxRecord)
	}
	return b, nil
}

// Decode parses the wire form written by [Encode]. Anything else (not JSON,
// another version, missing names, bad times, trailing data) is an error
// matching [ErrCorrupt]; the error never quotes the record's content.
func Decode(b []byte) (*Record, error) {
	if len(b) > maxRecord {
		return nil, corrupt("record is %d bytes, over the limit of %d", len(b), maxRecord)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	var w wireRecord
	if err := d.Decode(&w); err != nil {
		return nil, jsonError(err)
	}
	if len(bytes.TrimSpace(b[d.InputOffset():])) > 0 {
		return nil, corrupt("data after the record")
	}
	switch {
	case w.V == 0:
		return nil, corrupt("no version field: not a pmx-login record")
	case w.V > formatVersion:
		return nil, corrupt("format version %d was written by a newer pmx-login (this one reads %d)", w.V, formatVersion)
	case w.V < 0:
		return nil, corrupt("format version %d is not valid", w.V)
	}
	if err := names.CheckEnvironment(w.Env); err != nil {
		return nil, corrupt("%s", strings.TrimPrefix(err.Error(), "keystore: "))
	}
	if err := names.CheckUsername(w.User); err != nil {
		return nil, corrupt("%s", strings.TrimPrefix(err.Error(), "keystore: "))
	}
	r := &Record{
		Environment:  w.Env,
		Username:     w.User,
		RefreshToken: traderapi.Secret(w.RT),
		AccessToken:  traderapi.Secret(w.AT),
		OTPAuthURL:   traderapi.Secret(w.OTP),
		MFA:          w.MFA,
		Generation:   w.Gen,
		LastOTPStep:  w.OTS,
		LoggedOut:    w.LO,
	}
	if w.AL < 0 || w.OTS < 0 {
		return nil, corrupt("field \"al\" or \"ots\" is negative")
	}
	if w.AL > math.MaxInt64/int64(time.Millisecond) {
		return nil, corrupt("field \"al\" is longer than a Duration holds")
	}
	r.AccessLifetime = time.Duration(w.AL) * time.Millisecond
	for _, f := range []struct {
		name string
		in   string
		out  *time.Time
	}{{"rx", w.RX, &r.RefreshExpiry}, {"ax", w.AX, &r.AccessExpiry}, {"saved", w.Saved, &r.SavedAt}} {
		t, err := parseTime(f.in)
		if err != nil {
			return nil, corrupt("field %q is not an RFC 3339 time", f.name)
		}
		*f.out = t
	}
	return r, nil
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// jsonError describes a JSON decoding error without quoting the input.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return corrupt("not valid JSON (at byte %d)", syntax.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return corrupt("field %q has the wrong type (want %s)", typ.Field, typ.Type)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return corrupt("empty or truncated record")
	}
	return corrupt("not a JSON object")
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}
