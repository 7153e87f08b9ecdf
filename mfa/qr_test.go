package mfa

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pquerna/otp"
)

// referenceModules returns the QR modules of url as pquerna/otp's Key.Image
// draws them at one pixel per module: dark[y][x].
func referenceModules(t *testing.T, url string) [][]bool {
	t.Helper()
	key, err := otp.NewKeyFromURL(url)
	if err != nil {
		t.Fatal(err)
	}
	// The module count comes from qrMatrix; the modules themselves from
	// Key.Image at that size, one pixel per module.
	m, err := qrMatrix(&Enrollment{URL: secretOf(url)})
	if err != nil {
		t.Fatal(err)
	}
	img, err := key.Image(m.size, m.size)
	if err != nil {
		t.Fatal(err)
	}
	dark := make([][]bool, m.size)
	for y := range dark {
		dark[y] = make([]bool, m.size)
		for x := range dark[y] {
			dark[y][x] = isDark(img.At(x, y))
		}
	}
	return dark
}

// parseTerminalQR turns WriteTerminalQR's output back into a bitmap,
// checking the colours of every line.
func parseTerminalQR(t *testing.T, out string) [][]bool {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	var rows [][]bool
	for i, line := range lines {
		body, ok := strings.CutPrefix(line, "\x1b[30;47m")
		if !ok {
			t.Fatalf("line %d does not start with black on white: %q", i, line)
		}
		if body, ok = strings.CutSuffix(body, "\x1b[0m"); !ok {
			t.Fatalf("line %d does not end with a colour reset: %q", i, line)
		}
		var top, bottom []bool
		for _, r := range body {
			switch r {
			case '█':
				top, bottom = append(top, true), append(bottom, true)
			case '▀':
				top, bottom = append(top, true), append(bottom, false)
			case '▄':
				top, bottom = append(top, false), append(bottom, true)
			case ' ':
				top, bottom = append(top, false), append(bottom, false)
			default:
				t.Fatalf("line %d has %q, not a half block", i, r)
			}
		}
		rows = append(rows, top, bottom)
	}
	return rows
}

func TestWriteTerminalQR(t *testing.T) {
	t.Parallel()
	e, err := ParseURL(testURL)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteTerminalQR(&out, e); err != nil {
		t.Fatal(err)
	}
	ref := referenceModules(t, testURL)
	n := len(ref)
	rows := parseTerminalQR(t, out.String())
	side := n + 2*QuietZone
	if len(rows) != side+1 { // n is odd, so the last line's lower half is padding
		t.Fatalf("%d module rows; want %d (+1 padding)", len(rows), side)
	}
	for y, row := range rows {
		if len(row) != side {
			t.Fatalf("row %d is %d modules wide; want %d", y, len(row), side)
		}
		for x, dark := range row {
			qx, qy := x-QuietZone, y-QuietZone
			want := qx >= 0 && qy >= 0 && qx < n && qy < n && ref[qy][qx]
			if dark != want {
				t.Fatalf("module (%d, %d) is dark=%v; the QR code has dark=%v", qx, qy, dark, want)
			}
		}
	}
	assertNoSecret(t, out.String(), testSecret)

	// The drawing scans: decode it with zbarimg where installed.
	path := filepath.Join(t.TempDir(), "terminal.png")
	writeBitmapPNG(t, path, rows[:side], 6)
	assertScansAs(t, path, testURL)
}

func TestWriteTerminalQRErrors(t *testing.T) {
	t.Parallel()
	if err := WriteTerminalQR(&bytes.Buffer{}, nil); err == nil {
		t.Error("WriteTerminalQR(nil) succeeded")
	}
	e, _ := ParseURL(testURL)
	if err := WriteTerminalQR(failingWriter{}, e); err == nil || !strings.Contains(err.Error(), "writing the QR code") {
		t.Errorf("WriteTerminalQR to a failing writer = %v", err)
	}
	huge := &Enrollment{URL: secretOf("otpauth://totp/x?secret=" + strings.Repeat("A", 4000))}
	if err := WriteTerminalQR(&bytes.Buffer{}, huge); err == nil || !strings.Contains(err.Error(), "does not fit in a QR code") {
		t.Errorf("WriteTerminalQR of a 4 kB URL = %v; want a too-long error", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWritePNG(t *testing.T) {
	t.Parallel()
	e, _ := ParseURL(testURL)
	ref := referenceModules(t, testURL)
	n := len(ref)
	path := filepath.Join(t.TempDir(), "mfa.png")
	const size = 333
	if err := WritePNG(path, e, size); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v; want 0600", fi.Mode().Perm())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	_ = f.Close()
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != size || b.Dy() != size {
		t.Fatalf("PNG is %v; want %dx%d", b, size, size)
	}
	// Sample the centre of every module, quiet zone included.
	scale := size / (n + 2*QuietZone)
	origin := (size - scale*(n+2*QuietZone)) / 2
	for y := -QuietZone; y < n+QuietZone; y++ {
		for x := -QuietZone; x < n+QuietZone; x++ {
			px, py := origin+(x+QuietZone)*scale+scale/2, origin+(y+QuietZone)*scale+scale/2
			want := x >= 0 && y >= 0 && x < n && y < n && ref[y][x]
			if got := isDark(img.At(px, py)); got != want {
				t.Fatalf("module (%d, %d) at pixel (%d, %d) is dark=%v; want %v", x, y, px, py, got, want)
			}
		}
	}
	if isDark(img.At(0, 0)) || isDark(img.At(size-1, size-1)) {
		t.Error("the PNG's corners are not white")
	}
	assertScansAs(t, path, testURL)
}

func TestWritePNGRefusesToOverwrite(t *testing.T) {
	t.Parallel()
	e, _ := ParseURL(testURL)
	path := filepath.Join(t.TempDir(), "existing.png")
	if err := os.WriteFile(path, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := WritePNG(path, e, 200)
	if !errors.Is(err, os.ErrExist) || !strings.Contains(err.Error(), "already exists; remove it or choose another file name") {
		t.Fatalf("WritePNG over an existing file = %v; want an ErrExist error saying what to do", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "keep me" {
		t.Errorf("the existing file was changed to %q", b)
	}
}

func TestWritePNGRejectsBadSizes(t *testing.T) {
	t.Parallel()
	e, _ := ParseURL(testURL)
	dir := t.TempDir()
	n := len(referenceModules(t, testURL)) + 2*QuietZone
	for _, size := range []int{0, -5, n - 1, MaxPNGSize + 1} {
		path := filepath.Join(dir, "bad.png")
		err := WritePNG(path, e, size)
		if err == nil || !strings.Contains(err.Error(), "choose a size from") {
			t.Errorf("WritePNG(size %d) = %v; want a size error", size, err)
		}
		if _, statErr := os.Stat(path); !errors.Is(statErr, os.ErrNotExist) {
			t.Errorf("WritePNG(size %d) left a file behind", size)
		}
	}
	if err := WritePNG(filepath.Join(dir, "exact.png"), e, n); err != nil {
		t.Errorf("WritePNG at one pixel per module: %v", err)
	}
	if err := WritePNG(filepath.Join(dir, "no-such-dir", "x.png"), e, 200); err == nil {
		t.Error("WritePNG into a missing directory succeeded")
	}
}

// writeBitmapPNG draws rows (dark[y][x]) at scale pixels per module.
func writeBitmapPNG(t *testing.T, path string, rows [][]bool, scale int) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, len(rows[0])*scale, len(rows)*scale))
	for py := range img.Bounds().Dy() {
		for px := range img.Bounds().Dx() {
			c := color.Gray{Y: 0xff}
			if rows[py/scale][px/scale] {
				c.Y = 0
			}
			img.SetGray(px, py, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// assertScansAs decodes the QR code in the image at path with zbarimg (from
// Debian's zbar-tools), when it is installed, and compares its content.
func assertScansAs(t *testing.T, path, want string) {
	t.Helper()
	zbarimg, err := exec.LookPath("zbarimg")
	if err != nil {
		t.Logf("zbarimg is not installed; the QR code was checked module by module only")
		return
	}
	out, err := exec.Command(zbarimg, "--raw", "-q", path).Output()
	if err != nil {
		t.Fatalf("zbarimg could not read the QR code: %v", err)
	}
	if got := strings.TrimSuffix(string(out), "\n"); got != want {
		t.Errorf("zbarimg read a different text from the QR code (%d bytes; want %d)", len(got), len(want))
	}
}
