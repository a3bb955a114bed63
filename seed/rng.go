package seed

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// stream names one independent family of random draws. Every field group of
// every entity reads its own stream keyed by (seed, stream, index), so a field
// can be recomputed alone (the hot-card pass needs only view counts, the tag
// count pass only tags) and adding a draw to one field never shifts another.
type stream uint64

const (
	streamUser stream = iota + 1
	streamNick
	streamCardMeta
	streamCardText
	streamCardTags
	streamCardLoc
	streamCardViews
	streamViewLog
	streamImage
	streamJob
	numStreams
)

const golden = 0x9e3779b97f4a7c15

// mix64 is the splitmix64 finaliser: a bijection on uint64 that spreads every
// input bit over the output, used to derive stream keys and PCG seeds.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// rng is a PCG-DXSM generator (math/rand/v2's PCG, whose output sequence is
// specified) with our own derivations on top. The derivations (bounded ints,
// floats, normals) are written here rather than taken from rand.Rand because
// the data must stay byte-identical across Go releases, and only the PCG
// algorithm itself is pinned by its specification.
type rng struct{ p rand.PCG }

// newRNG returns the generator for entity index i of the stream whose key is
// key. Both PCG seed words go through mix64 so neighbouring indices start in
// unrelated states.
func newRNG(key, i uint64) rng {
	a := mix64(key + i*golden)
	b := mix64(a ^ key ^ 0x632be59bd9b4e019)
	var r rng
	r.p.Seed(a, b)
	return r
}

func (r *rng) u64() uint64 { return r.p.Uint64() }

// intn returns a uniform int64 in [0, n) by Lemire's multiply-and-reject; n
// must be positive.
func (r *rng) intn(n int64) int64 {
	un := uint64(n)
	hi, lo := bits.Mul64(r.u64(), un)
	if lo < un {
		thresh := -un % un
		for lo < thresh {
			hi, lo = bits.Mul64(r.u64(), un)
		}
	}
	return int64(hi)
}

// float returns a uniform float64 in [0, 1) with 53 random bits.
func (r *rng) float() float64 { return float64(r.u64()>>11) * 0x1p-53 }

// norm returns a standard normal deviate (Box-Muller, one of the pair).
func (r *rng) norm() float64 {
	u1 := 1 - r.float() // (0, 1], so the log is finite
	u2 := r.float()
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// expBelow returns an exponential deviate with the given mean conditioned on
// being below limit (inverse CDF of the truncated distribution, one draw);
// limit <= 0 gives 0.
func (r *rng) expBelow(mean, limit float64) float64 {
	u := r.float()
	if limit <= 0 {
		return 0
	}
	return -mean * math.Log1p(-u*-math.Expm1(-limit/mean))
}

// pick returns a uniform element of s.
func pick[T any](r *rng, s []T) T { return s[r.intn(int64(len(s)))] }

// zipf draws ranks in [1, n] with P(k) ∝ k^-s (s > 1) by rejection-inversion
// (Hörmann and Derflinger 1996): invert the integral H of the continuous
// density x^-s, round to the nearest rank, and accept when the rank's true
// mass covers the sample. It needs O(1) memory and a handful of float ops per
// draw at any n, which a cumulative table over 6 M ranks would not.
type zipf struct {
	n, s       float64
	hX1, hN    float64 // H(1.5)-1 and H(n+0.5): the sampled interval
	squeeze    float64 // accept without evaluating H when k-x is below it
	oneMinusS  float64
	invOneMinS float64
}

func newZipf(n int64, s float64) zipf {
	z := zipf{n: float64(n), s: s, oneMinusS: 1 - s, invOneMinS: 1 / (1 - s)}
	z.hX1 = z.hInt(1.5) - 1
	z.hN = z.hInt(z.n + 0.5)
	z.squeeze = 2 - z.hIntInv(z.hInt(2.5)-z.h(2))
	return z
}

// h is the unnormalised density x^-s.
func (z *zipf) h(x float64) float64 { return math.Exp(-z.s * math.Log(x)) }

// hInt is ∫₁ˣ t^-s dt = (x^(1-s) - 1)/(1-s), written with Expm1 so it stays
// accurate for x near 1.
func (z *zipf) hInt(x float64) float64 {
	lx := math.Log(x)
	return math.Expm1(z.oneMinusS*lx) * z.invOneMinS
}

// hIntInv inverts hInt.
func (z *zipf) hIntInv(y float64) float64 {
	return math.Exp(math.Log1p(y*z.oneMinusS) * z.invOneMinS)
}

func (z *zipf) draw(r *rng) int64 {
	for {
		u := z.hN + r.float()*(z.hX1-z.hN)
		x := z.hIntInv(u)
		k := math.Floor(x + 0.5)
		if k < 1 {
			k = 1
		} else if k > z.n {
			k = z.n
		}
		if k-x <= z.squeeze || u >= z.hInt(k+0.5)-z.h(k) {
			return int64(k)
		}
	}
}

// perm is a keyed pseudo-random permutation of [0, n): a 4-round balanced
// Feistel network on the smallest even bit width covering n, with cycle
// walking to stay inside [0, n). It gives k distinct values in O(1) memory,
// which is how a card's distinct viewers are drawn without a set.
type perm struct {
	n, key, mask uint64
	half         uint
}

func newPerm(n, key uint64) perm {
	w := uint(bits.Len64(n - 1))
	if w < 2 {
		w = 2
	}
	w += w & 1
	return perm{n: n, key: key, half: w / 2, mask: 1<<(w/2) - 1}
}

func (p perm) at(i uint64) uint64 {
	x := i
	for {
		l, r := x>>p.half, x&p.mask
		for round := uint64(0); round < 4; round++ {
			l, r = r, l^(mix64(r^p.key^(round+1)*golden)&p.mask)
		}
		x = l<<p.half | r
		if x < p.n {
			return x
		}
	}
}

// affine is the permutation j -> (a·j + b) mod n with gcd(a, n) = 1, plus its
// inverse. It spreads neighbouring ranks across a composed name space so that
// rank order does not walk the word lists in order.
type affine struct{ n, a, b, ainv uint64 }

func newAffine(n uint64, frac float64) affine {
	if n <= 1 {
		return affine{n: 1, a: 1, ainv: 1}
	}
	a := uint64(float64(n)*frac) | 1
	for gcd(a, n) != 1 {
		a += 2
	}
	a %= n
	return affine{n: n, a: a, b: n / 3, ainv: modInverse(a, n)}
}

func (f affine) at(j uint64) uint64  { return (mulMod(f.a, j, f.n) + f.b) % f.n }
func (f affine) inv(y uint64) uint64 { return mulMod(f.ainv, (y+f.n-f.b)%f.n, f.n) }

func mulMod(a, b, n uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return bits.Rem64(hi, lo, n)
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// modInverse returns x with a·x ≡ 1 (mod n), for gcd(a, n) = 1.
func modInverse(a, n uint64) uint64 {
	t, newT := int64(0), int64(1)
	r, newR := int64(n), int64(a)
	for newR != 0 {
		q := r / newR
		t, newT = newT, t-q*newT
		r, newR = newR, r-q*newR
	}
	if t < 0 {
		t += int64(n)
	}
	return uint64(t)
}
