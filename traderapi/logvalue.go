package traderapi

import (
	"log/slog"
	"reflect"
)

// redactedGroup is the slog value of a request or response struct: a group
// of its exported fields, each [Secret] redacted by its own LogValue. Without
// it, slog's JSON handler would marshal the struct, and a Secret marshals to
// its value (it goes on the wire that way).
func redactedGroup(v any) slog.Value {
	rv := reflect.ValueOf(v)
	rt := rv.Type()
	attrs := make([]slog.Attr, 0, rt.NumField())
	for i := range rt.NumField() {
		if f := rt.Field(i); f.IsExported() {
			attrs = append(attrs, slog.Any(f.Name, rv.Field(i).Interface()))
		}
	}
	return slog.GroupValue(attrs...)
}

// LogValue implements [slog.LogValuer] with the secrets redacted.
func (r RegisterRequest) LogValue() slog.Value { return redactedGroup(r) }

// LogValue implements [slog.LogValuer] with the secrets redacted.
func (r CheckPasswordRequest) LogValue() slog.Value { return redactedGroup(r) }

// LogValue implements [slog.LogValuer] with the secrets redacted.
func (r LoginRequest) LogValue() slog.Value { return redactedGroup(r) }

// LogValue implements [slog.LogValuer] with the secrets redacted.
func (r LoginResponse) LogValue() slog.Value { return redactedGroup(r) }

// LogValue implements [slog.LogValuer] with the secrets redacted.
func (r RefreshRequest) LogValue() slog.Value { return redactedGroup(r) }

// LogValue implements [slog.LogValuer] with the secrets redacted.
func (r RefreshResponse) LogValue() slog.Value { return redactedGroup(r) }

// LogValue implements [slog.LogValuer] with the secrets redacted.
func (r LogoutRequest) LogValue() slog.Value { return redactedGroup(r) }

// LogValue implements [slog.LogValuer] with the secrets redacted.
func (r ChangePasswordRequest) LogValue() slog.Value { return redactedGroup(r) }

// LogValue implements [slog.LogValuer] with the secrets redacted.
func (r EnrollMFARequest) LogValue() slog.Value { return redactedGroup(r) }

// LogValue implements [slog.LogValuer] with the secrets redacted.
func (r EnrollMFAResponse) LogValue() slog.Value { return redactedGroup(r) }

// LogValue implements [slog.LogValuer] with the secrets redacted.
func (r ConfirmMFARequest) LogValue() slog.Value { return redactedGroup(r) }
