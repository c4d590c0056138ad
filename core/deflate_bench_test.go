package session

import (
	"testing"
	"time"
)

// BenchmarkSaveDeflated saves sessions whose data is deflated (above the
// 1024-byte threshold) in cookies, with zdeflate (new) and with the
// compress/flate BestSpeed writer of earlier versions (old). Both report
// setcookie-B, the length of the Set-Cookie lines of a save. ratio runs the
// two in turns, each iteration one old save and one new, so that both meet
// the same machine load, and reports the time per save old/new (below 1:
// new is slower) and the Set-Cookie length old/new (above 1: new is
// shorter).
func BenchmarkSaveDeflated(b *testing.B) {
	corpus := map[string]corpusItem{}
	for _, it := range deflateCorpus() {
		corpus[it.name] = it
	}
	for _, name := range []string{"tokens-2000", "noise-2000", "cart-8000", "text-16000", "unicode-16000", "text-45000"} {
		data := corpus[name].data
		b.Run(name+"/old", func(b *testing.B) {
			useOldDeflate(b)
			s := newBenchSaver(b)
			b.ReportAllocs()
			for b.Loop() {
				s.save(b, data)
			}
			b.ReportMetric(float64(s.cookieBytes()), "setcookie-B")
		})
		b.Run(name+"/new", func(b *testing.B) {
			s := newBenchSaver(b)
			b.ReportAllocs()
			for b.Loop() {
				s.save(b, data)
			}
			b.ReportMetric(float64(s.cookieBytes()), "setcookie-B")
		})
		b.Run(name+"/ratio", func(b *testing.B) {
			b.Cleanup(func() { deflater = zdeflate })
			s := newBenchSaver(b)
			var oldTime, newTime time.Duration
			var oldBytes, newBytes int
			for b.Loop() {
				deflater = flateFastest
				start := time.Now()
				s.save(b, data)
				oldTime += time.Since(start)
				oldBytes = s.cookieBytes()
				deflater = zdeflate
				start = time.Now()
				s.save(b, data)
				newTime += time.Since(start)
				newBytes = s.cookieBytes()
			}
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(oldTime)/float64(newTime), "old/new-time")
			b.ReportMetric(float64(oldBytes)/float64(newBytes), "old/new-size")
		})
	}
}

func useOldDeflate(b *testing.B) {
	deflater = flateFastest
	b.Cleanup(func() { deflater = zdeflate })
}

type benchSaver struct {
	m *Manager
	r *recorder
}

func newBenchSaver(b *testing.B) *benchSaver {
	return &benchSaver{m: mustNew(b, Config{Secret: "benchmark-secret"}), r: newRecorder("")}
}

func (s *benchSaver) save(b *testing.B, data map[string]any) {
	s.r.setCookies = s.r.setCookies[:0]
	sess := s.m.NewSession(s.r)
	sess.SetData(data)
	if err := sess.Save(); err != nil {
		b.Fatal(err)
	}
}

func (s *benchSaver) cookieBytes() int {
	n := 0
	for _, c := range s.r.setCookies {
		n += len(c)
	}
	return n
}
