package seed

import (
	"math"
	"time"
)

// kst is Korea Standard Time. Posting habits are local (the late-night peak
// is at midnight in Seoul), so the diurnal curve is applied in KST; the
// generated times themselves are UTC.
var kst = time.FixedZone("KST", 9*60*60)

// The dataset's clock: the service opened on 2014-11-01 and the architecture
// post was written in February 2016. Users and cards are created in
// [start, end); end is "now" for the snapshot.
var (
	start = time.Date(2014, 11, 1, 0, 0, 0, 0, kst).UTC()
	end   = time.Date(2016, 3, 1, 0, 0, 0, 0, kst).UTC()
)

// Period returns the dataset's clock: every user and card is created in
// [start, end), and end is the snapshot's "now" (write-behind jobs fall due
// just after it; view logs may run past it).
func Period() (from, to time.Time) { return start, end }

var spanDays = int64(end.Sub(start) / (24 * time.Hour))

// hourWeight is the relative posting activity per KST hour: an anonymous
// late-night app peaks around midnight and is quiet at dawn.
var hourWeight = [24]float64{
	9, 8, 6, 4, 2, 1, 1, 2, 2, 2, 2, 3,
	4, 3, 3, 3, 3, 4, 4, 5, 6, 7, 9, 10,
}

var hourCum = func() (c [25]float64) {
	for h, w := range hourWeight {
		c[h+1] = c[h] + w
	}
	return c
}()

// timeAt maps an activity fraction p in [0, 1) to a creation time. It is
// monotone in p, which is what lets ids be sequential in time and lets
// "users who existed when card c was posted" be a prefix of the user ids.
// Activity grows over the period (density ∝ 1 + 3x, the app was growing) and
// within a day follows hourWeight.
func timeAt(p float64) time.Time {
	x := (math.Sqrt(1+15*p) - 1) / 3 // inverse of the growth CDF (x + 1.5x²)/2.5
	y := x * float64(spanDays)
	day := math.Floor(y)
	if day >= float64(spanDays) { // p rounds up to 1
		day, y = float64(spanDays-1), float64(spanDays)-1e-9
	}
	target := (y - day) * hourCum[24]
	h := 0
	for h < 23 && hourCum[h+1] <= target {
		h++
	}
	sec := float64(h)*3600 + (target-hourCum[h])/hourWeight[h]*3600
	return start.Add(time.Duration(day)*24*time.Hour + time.Duration(math.Floor(sec))*time.Second)
}
