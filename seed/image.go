package seed

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"sync"
)

// ImageSize is the width and height of card images in pixels: small enough
// to seed a million in minutes, large enough to be a real picture in a
// viewer.
const ImageSize = 96

// idStripRows is the height of the strip along the bottom edge that stamps
// the card id in 32 cells, 3 pixels each, most significant bit first. Colours
// alone would make images distinct only with high probability; the stamp
// makes them distinct for every id below 2^32.
const idStripRows = 4

// gradientSteps is how many colours the gradient is drawn with.
const gradientSteps = 48

// pngEncoder is fixed (default compression, pooled buffers): image/png with a
// fixed setting writes the same bytes for the same pixels, so images are
// byte-identical across runs of one Go release.
var pngEncoder = png.Encoder{CompressionLevel: png.DefaultCompression, BufferPool: &pngPool{}}

// pngPool reuses the encoder's zlib state, which dominates the cost of
// encoding an image this small.
type pngPool struct{ p sync.Pool }

func (p *pngPool) Get() *png.EncoderBuffer {
	b, _ := p.p.Get().(*png.EncoderBuffer)
	return b
}
func (p *pngPool) Put(b *png.EncoderBuffer) { p.p.Put(b) }

// Image returns card id's image as PNG bytes (1-3 KB): a two-colour
// gradient in the card's own colours, overlaid with one of four patterns,
// and the id stamp. It depends only on the seed and the id.
func (d *Dataset) Image(id int64) ([]byte, error) {
	r := newRNG(d.keys[streamImage], uint64(id))
	hue := r.float() * 360
	from := hsv(hue, 0.35+0.35*r.float(), 0.65+0.3*r.float())
	to := hsv(hue+60+120*r.float(), 0.35+0.35*r.float(), 0.45+0.4*r.float())
	gx, gy := int(r.intn(7))-3, int(r.intn(7))-3
	if gx == 0 && gy == 0 {
		gx = 1
	}
	kind, width, phase := r.intn(4), int(6+r.intn(14)), int(r.intn(32))
	cx, cy := int(r.intn(ImageSize)), int(r.intn(ImageSize))

	// The gradient parameter runs over [lo, hi] across the corners.
	lo, hi := 0, 0
	for _, c := range [][2]int{{0, 0}, {ImageSize - 1, 0}, {0, ImageSize - 1}, {ImageSize - 1, ImageSize - 1}} {
		v := gx*c[0] + gy*c[1]
		lo, hi = min(lo, v), max(hi, v)
	}

	// A paletted image: gradient steps, the same steps lightened for the
	// pattern, and the two stamp colours. One byte a pixel and no per-row
	// filter search make encoding several times faster than RGB, which
	// matters with a million images to seed.
	pal := make(color.Palette, 2*gradientSteps+2)
	for i := range gradientSteps {
		c := mix(from, to, i, gradientSteps-1)
		pal[i] = c
		pal[gradientSteps+i] = mix(c, color.NRGBA{255, 255, 255, 255}, 1, 4)
	}
	dark, light := uint8(2*gradientSteps), uint8(2*gradientSteps+1)
	pal[dark] = mix(from, color.NRGBA{0, 0, 0, 255}, 3, 5)
	pal[light] = mix(from, color.NRGBA{255, 255, 255, 255}, 3, 5)

	img := image.NewPaletted(image.Rect(0, 0, ImageSize, ImageSize), pal)
	for y := range ImageSize {
		row := img.Pix[y*img.Stride : y*img.Stride+ImageSize]
		for x := range row {
			switch {
			case y >= ImageSize-idStripRows:
				if cell := x / 3; cell < 32 && (uint64(id)>>(31-cell))&1 == 1 {
					row[x] = dark
				} else {
					row[x] = light
				}
			default:
				row[x] = uint8((gx*x + gy*y - lo) * (gradientSteps - 1) / (hi - lo))
				if patterned(kind, x, y, cx, cy, width, phase) {
					row[x] += gradientSteps
				}
			}
		}
	}
	var b bytes.Buffer
	b.Grow(4 << 10)
	if err := pngEncoder.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("encode image of card %d: %w", id, err)
	}
	return b.Bytes(), nil
}

// patterned reports whether pixel (x, y) lies on the pattern: diagonal
// stripes, a dot grid, rings around (cx, cy) or a checkerboard.
func patterned(kind int64, x, y, cx, cy, width, phase int) bool {
	switch kind {
	case 0:
		return (x+y+phase)/width%2 == 0
	case 1:
		dx, dy := (x+phase)%width-width/2, (y+phase)%width-width/2
		return 4*(dx*dx+dy*dy) <= width*width/2
	case 2:
		dx, dy := x-cx, y-cy
		// math.Sqrt is correctly rounded, so its floor is exact here.
		return int(math.Sqrt(float64(dx*dx+dy*dy)))/width%2 == 0
	default:
		return (x/width+y/width)%2 == 0
	}
}

// mix is a + (b-a)·num/den per channel, opaque.
func mix(a, b color.NRGBA, num, den int) color.NRGBA {
	if den == 0 {
		return a
	}
	f := func(p, q uint8) uint8 { return uint8(int(p) + (int(q)-int(p))*num/den) }
	return color.NRGBA{f(a.R, b.R), f(a.G, b.G), f(a.B, b.B), 255}
}

// hsv converts hue (degrees), saturation and value in [0, 1] to a colour.
func hsv(h, s, v float64) color.NRGBA {
	for h >= 360 {
		h -= 360
	}
	c := v * s
	hp := h / 60
	x := c * (1 - abs(mod2(hp)-1))
	var r, g, b float64
	switch int(hp) {
	case 0:
		r, g, b = c, x, 0
	case 1:
		r, g, b = x, c, 0
	case 2:
		r, g, b = 0, c, x
	case 3:
		r, g, b = 0, x, c
	case 4:
		r, g, b = x, 0, c
	default:
		r, g, b = c, 0, x
	}
	m := v - c
	to8 := func(f float64) uint8 { return uint8((f+m)*255 + 0.5) }
	return color.NRGBA{to8(r), to8(g), to8(b), 255}
}

func mod2(x float64) float64 { return x - 2*float64(int(x/2)) }

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
