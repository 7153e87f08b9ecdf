package mfa

import (
	"strings"
	"testing"
)

func TestValidateCode(t *testing.T) {
	t.Parallel()
	ok := []struct {
		in     string
		digits int
		want   string
	}{
		{"123456", 6, "123456"},
		{" 123 456\n", 6, "123456"},
		{"\t12 34 56\r\n", 6, "123456"},
		{"123\u00a0456", 6, "123456"}, // a no-break space, as copied from a web page
		{"000000", 6, "000000"},
		{"1234 5678", 8, "12345678"},
		{"654321", 0, "654321"},
		{"87654321", 0, "87654321"},
	}
	for _, tt := range ok {
		got, err := ValidateCode(tt.in, tt.digits)
		if err != nil || got.Reveal() != tt.want {
			t.Errorf("ValidateCode(%q, %d) = %q, %v; want %q", tt.in, tt.digits, got.Reveal(), err, tt.want)
		}
	}

	bad := []struct {
		in      string
		digits  int
		wantErr string
	}{
		{"", 6, "no code was given; enter the 6-digit code"},
		{" \n", 8, "no code was given; enter the 8-digit code"},
		{"12345", 6, "the code has 5 digits; your authenticator shows 6"},
		{"1234567", 6, "the code has 7 digits; your authenticator shows 6"},
		{"123456", 8, "the code has 6 digits; your authenticator shows 8"},
		{"1234567", 0, "the code has 7 digits; authenticator codes have 6 or 8"},
		{"12345a", 6, "digits only, but it contains a letter"},
		{"123-456", 6, "digits only, but it contains punctuation or a symbol"},
		{"12345\x00", 6, "digits only, but it contains a control character"},
		{"12345٦", 6, "digits only, but it contains a digit other than 0-9"},
		{"12345é", 6, "digits only, but it contains a non-ASCII character"},
		{"hunter2-password", 6, "digits only, but it contains a letter"},
		{"123456", 7, "codes of 7 digits are not supported; want 6 or 8"},
		{"123456", -1, "codes of -1 digits are not supported"},
	}
	for _, tt := range bad {
		got, err := ValidateCode(tt.in, tt.digits)
		if err == nil {
			t.Errorf("ValidateCode(%q, %d) = %q, want an error", tt.in, tt.digits, got.Reveal())
			continue
		}
		if !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("ValidateCode(%q, %d) error = %q, want it to contain %q", tt.in, tt.digits, err, tt.wantErr)
		}
		if strings.TrimSpace(tt.in) != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.in)) {
			t.Errorf("ValidateCode(%q) error %q repeats the input", tt.in, err)
		}
	}
}

// FuzzValidateCode checks that ValidateCode never panics, that what it
// accepts is exactly the digits of its input, and that its errors never
// repeat the input.
func FuzzValidateCode(f *testing.F) {
	for _, s := range []string{"123456", " 123 456 ", "12345678", "12a456", "", "٣٣٣٣٣٣"} {
		f.Add(s, 6)
	}
	f.Fuzz(func(t *testing.T, in string, digits int) {
		got, err := ValidateCode(in, digits)
		if err != nil {
			digitsOnly := len(in) >= 3 && strings.Trim(in, "0123456789") == ""
			if (digits == 0 || digits == 6 || digits == 8) && digitsOnly && strings.Contains(err.Error(), in) {
				t.Errorf("error %q repeats the input %q", err, in)
			}
			return
		}
		c := got.Reveal()
		if n := len(c); n != digits && !(digits == 0 && (n == 6 || n == 8)) {
			t.Errorf("ValidateCode(%q, %d) = %q: wrong length", in, digits, c)
		}
		if strings.Trim(c, "0123456789") != "" || !strings.Contains(strings.Join(strings.Fields(in), ""), c) {
			t.Errorf("ValidateCode(%q, %d) = %q: not the input's digits", in, digits, c)
		}
	})
}
