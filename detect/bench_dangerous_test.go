package detect

import "testing"

func BenchmarkDangerousScan(b *testing.B) {
	d := NewDangerous(DangerousOptions{})
	b.Run("command", func(b *testing.B) { benchDetector(b, d, "find . -name '*.log' -mtime +7 -exec gzip {} \\;") })
	b.Run("1KiB", func(b *testing.B) { benchDetector(b, d, cleanText(1<<10)) })
	b.Run("1MiB", func(b *testing.B) { benchDetector(b, d, cleanText(1<<20)) })
}

func BenchmarkCheckRules(b *testing.B) {
	c := NewCheckRules()
	src := cleanText(1 << 16)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Check(src, "python")
	}
}
