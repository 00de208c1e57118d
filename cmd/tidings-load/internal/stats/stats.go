// Package stats summarises the load tool's samples: exact percentiles over
// recorded latencies and medians over repeated runs.
package stats

import (
	"math"
	"slices"
	"time"
)

// Percentile returns the p-th percentile (0 < p ≤ 100) of sorted by the
// nearest-rank method: the smallest sample such that at least p% of the
// samples are at or below it. It returns 0 for no samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Latency is a latency distribution in milliseconds, ready for JSON.
type Latency struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p999_ms"`
	Max  float64 `json:"max_ms"`
}

// Summarize sorts samples in place and returns their distribution.
func Summarize(samples []time.Duration) Latency {
	slices.Sort(samples)
	if len(samples) == 0 {
		return Latency{}
	}
	return Latency{
		N:    len(samples),
		P50:  Millis(Percentile(samples, 50)),
		P99:  Millis(Percentile(samples, 99)),
		P999: Millis(Percentile(samples, 99.9)),
		Max:  Millis(samples[len(samples)-1]),
	}
}

// Millis is d in milliseconds, rounded to microseconds.
func Millis(d time.Duration) float64 {
	return math.Round(float64(d)/1e3) / 1e3
}

// Median returns the median of xs (the mean of the middle two for an even
// count), without reordering xs. It returns 0 for none.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
