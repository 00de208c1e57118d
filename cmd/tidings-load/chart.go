package main

import (
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"strings"
)

type series struct {
	name   string
	color  string
	dashed bool
	ys     []float64 // NaN: no point
}

// lineChart draws series over categorical x values as a small SVG.
func lineChart(title, xlabel, ylabel string, xs []string, ss []series, guide float64, guideLabel string) string {
	const w, h, left, right, top, bottom = 720, 400, 80, 200, 40, 60
	pw, ph := float64(w-left-right), float64(h-top-bottom)
	ymax := guide
	for _, s := range ss {
		for _, y := range s.ys {
			if !math.IsNaN(y) {
				ymax = max(ymax, y)
			}
		}
	}
	ymax = niceCeil(ymax * 1.05)
	xAt := func(i int) float64 {
		if len(xs) == 1 {
			return left + pw/2
		}
		return left + pw*float64(i)/float64(len(xs)-1)
	}
	yAt := func(v float64) float64 { return top + ph*(1-v/ymax) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))
	for i := 0; i <= 5; i++ {
		v := ymax * float64(i) / 5
		y := yAt(v)
		fmt.Fprintf(&b, `<line x1="%d" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", left, left+pw, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y+4, tick(v))
	}
	for i, x := range xs {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", xAt(i), top+ph+18, html.EscapeString(x))
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", left+pw/2, h-14, html.EscapeString(xlabel))
	fmt.Fprintf(&b, `<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", top+ph/2, html.EscapeString(ylabel))
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.0f" height="%.0f" fill="none" stroke="#888"/>`+"\n", left, top, pw, ph)
	if guide > 0 {
		y := yAt(guide)
		fmt.Fprintf(&b, `<line x1="%d" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#c00" stroke-dasharray="2 4"/>`+"\n", left, left+pw, y, y)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="#c00" text-anchor="end">%s</text>`+"\n", left+pw-4, y-4, html.EscapeString(guideLabel))
	}
	k := 0 // legend entries so far: a series with nothing measured has none
	for _, s := range ss {
		dash := ""
		if s.dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		var pts []string
		for i, y := range s.ys {
			if math.IsNaN(y) {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xAt(i), yAt(y)))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", xAt(i), yAt(y), s.color)
		}
		if len(pts) == 0 {
			continue
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), s.color, dash)
		ly := top + 10 + 20*k
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", left+pw+12, left+pw+36, ly, ly, s.color, dash)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`+"\n", left+pw+42, ly+4, html.EscapeString(s.name))
		k++
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func tick(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%gk", v/1e3)
	default:
		return fmt.Sprintf("%g", math.Round(v*100)/100)
	}
}

// writeCharts writes publish.svg and fanout.svg for what was measured.
func (r *report) writeCharts(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var pubs []int
	for _, x := range r.Publish {
		if x.Target == "tidings" && x.Batch == 1 {
			pubs = append(pubs, x.Publishers)
		}
	}
	if len(pubs) > 0 {
		xs := make([]string, len(pubs))
		ys := func(target string) []float64 {
			v := make([]float64, len(pubs))
			for i, p := range pubs {
				v[i] = math.NaN()
				if x := r.publishRow(target, 1, p); x != nil {
					v[i] = x.RequestsPerSec
				}
			}
			return v
		}
		for i, p := range pubs {
			xs[i] = fmt.Sprint(p)
		}
		lines := []series{{name: "tidings (committed)", color: "#1f77b4", ys: ys("tidings")}, {name: "no-op handler", color: "#999", dashed: true, ys: ys("noop")}}
		if r.publishRow("compare", 1, pubs[0]) != nil {
			lines = append(lines, series{name: "compared build", color: "#ff7f0e", ys: ys("compare")})
		}
		svg := lineChart("Acknowledged publishes per second", "concurrent keep-alive publishers", "requests/s", xs, lines, 0, "")
		if err := os.WriteFile(filepath.Join(dir, "publish.svg"), []byte(svg), 0o644); err != nil {
			return err
		}
	}
	var subs []int
	for _, x := range r.Fanout {
		if x.Target == "tidings" && !x.Distinct {
			subs = append(subs, x.Subscribers)
		}
	}
	if len(subs) > 0 {
		xs := make([]string, len(subs))
		get := func(target string, distinct bool, p99 bool) []float64 {
			ys := make([]float64, len(subs))
			for i, s := range subs {
				ys[i] = math.NaN()
				if x := r.fanoutRow(target, s, distinct); x != nil {
					ys[i] = x.P50
					if p99 {
						ys[i] = x.P99
					}
				}
			}
			return ys
		}
		for i, s := range subs {
			xs[i] = fmt.Sprint(s)
		}
		rate := r.Fanout[0].Rate
		svg := lineChart(fmt.Sprintf("Publish-to-delivery latency, one publisher at %d events/s", rate), "SSE subscribers", "milliseconds", xs, []series{
			{name: "tidings p99", color: "#d62728", ys: get("tidings", false, true)},
			{name: "tidings p50", color: "#1f77b4", ys: get("tidings", false, false)},
			{name: "tidings p99, topic each", color: "#ff7f0e", ys: get("tidings", true, true)},
			{name: "baseline p99", color: "#999", dashed: true, ys: get("sse-baseline", false, true)},
			{name: "baseline p50", color: "#bbb", dashed: true, ys: get("sse-baseline", false, false)},
		}, 50, "target p99 50 ms")
		if err := os.WriteFile(filepath.Join(dir, "fanout.svg"), []byte(svg), 0o644); err != nil {
			return err
		}
	}
	return nil
}
