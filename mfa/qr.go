package mfa

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"

	"github.com/boombuler/barcode/qr"

	"github.com/pmx-login/pmx-login/internal/newfile"
)

// QuietZone is the light border, in modules, around every QR code drawn
// (ISO/IEC 18004 asks for 4).
const QuietZone = 4

// MaxPNGSize caps the side of a PNG, in pixels.
const MaxPNGSize = 4096

// Terminal colours: black foreground on white background, forced on every
// line so that the code has dark modules on light ground on any theme.
const (
	ansiBlackOnWhite = "\x1b[30;47m"
	ansiReset        = "\x1b[0m"
)

// matrix is a QR code at one cell per module: dark[y*size+x].
type matrix struct {
	size int
	dark []bool
}

// qrMatrix encodes e's URL at error correction level M (as pquerna/otp's
// Key.Image does) and reads its modules.
func qrMatrix(e *Enrollment) (*matrix, error) {
	if e == nil || e.URL.IsZero() {
		return nil, errors.New("mfa: no enrollment URL to draw")
	}
	code, err := qr.Encode(e.URL.Reveal(), qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("mfa: the enrollment URL does not fit in a QR code (%d bytes)", len(e.URL.Reveal()))
	}
	b := code.Bounds()
	m := &matrix{size: b.Dx(), dark: make([]bool, b.Dx()*b.Dy())}
	for y := range b.Dy() {
		for x := range b.Dx() {
			m.dark[y*m.size+x] = isDark(code.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return m, nil
}

// isDark reports whether c is closer to black than to white.
func isDark(c color.Color) bool {
	return color.GrayModel.Convert(c).(color.Gray).Y < 0x80
}

// at reports whether module (x, y) is dark; outside the code (the quiet
// zone) it is light.
func (m *matrix) at(x, y int) bool {
	if x < 0 || y < 0 || x >= m.size || y >= m.size {
		return false
	}
	return m.dark[y*m.size+x]
}

// WriteTerminalQR draws e's otpauth:// URL as a QR code for a phone to scan
// from the terminal: Unicode half blocks, two module rows per line, a quiet
// zone of [QuietZone] modules, each line forced to black on white with ANSI
// escapes (and reset at its end) so that it scans on dark and light themes.
// The drawing holds the TOTP secret: write it to the user's terminal only.
func WriteTerminalQR(w io.Writer, e *Enrollment) error { return writeQR(w, e, true) }

// WritePlainQR draws the QR code as [WriteTerminalQR] does but without any
// escape code: for output that is not a terminal, or a user who set
// NO_COLOR. The half blocks are the dark modules, so it scans as drawn on a
// light background.
func WritePlainQR(w io.Writer, e *Enrollment) error { return writeQR(w, e, false) }

func writeQR(w io.Writer, e *Enrollment, colour bool) error {
	m, err := qrMatrix(e)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	for y := -QuietZone; y < m.size+QuietZone; y += 2 {
		if colour {
			b.WriteString(ansiBlackOnWhite)
		}
		for x := -QuietZone; x < m.size+QuietZone; x++ {
			b.WriteRune(halfBlock(m.at(x, y), m.at(x, y+1)))
		}
		if colour {
			b.WriteString(ansiReset)
		}
		b.WriteByte('\n')
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("mfa: writing the QR code: %w", err)
	}
	return nil
}

// halfBlock is the character showing a dark or light top and bottom module
// in the foreground (dark) and background (light) colours.
func halfBlock(top, bottom bool) rune {
	switch {
	case top && bottom:
		return '█'
	case top:
		return '▀'
	case bottom:
		return '▄'
	}
	return ' '
}

// WritePNG writes e's otpauth:// URL as a QR code in a black-and-white PNG
// of size × size pixels, the code centred with its quiet zone, each module
// a whole number of pixels. The file is created with mode 0600 and never
// written over: if path exists, WritePNG fails (the error matches
// [os.ErrExist]) and leaves it alone; remove it first to replace it. The
// image holds the TOTP secret: delete it once the code is scanned.
func WritePNG(path string, e *Enrollment, size int) error {
	m, err := qrMatrix(e)
	if err != nil {
		return err
	}
	img, err := m.image(size)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("mfa: encoding the QR code: %w", err)
	}
	switch err := newfile.Write(path, buf.Bytes(), 0o600); {
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("mfa: %s already exists; remove it or choose another file name (a QR code is never written over a file): %w", path, err)
	case err != nil:
		return fmt.Errorf("mfa: writing the QR code to %s: %w", path, err)
	}
	return nil
}

// image draws m at the largest whole number of pixels per module that fits
// size, centred, with its quiet zone.
func (m *matrix) image(size int) (*image.Paletted, error) {
	modules := m.size + 2*QuietZone
	if size < modules || size > MaxPNGSize {
		return nil, fmt.Errorf("mfa: a QR code PNG of %d pixels is not possible: choose a size from %d (this code is %d modules wide with its quiet zone) to %d",
			size, modules, modules, MaxPNGSize)
	}
	scale := size / modules
	offset := (size-scale*modules)/2 + QuietZone*scale
	img := image.NewPaletted(image.Rect(0, 0, size, size), color.Palette{color.White, color.Black})
	for y := range m.size {
		for x := range m.size {
			if !m.at(x, y) {
				continue
			}
			for py := range scale {
				row := img.Pix[(offset+y*scale+py)*img.Stride:]
				for px := range scale {
					row[offset+x*scale+px] = 1
				}
			}
		}
	}
	return img, nil
}
