package detect

import "testing"

func BenchmarkPIIScan(b *testing.B) {
	p := NewPII(PIIOptions{})
	for _, size := range []int{1 << 10, 1 << 20} {
		input := cleanText(size)
		b.Run(byteSize(size)+"/clean", func(b *testing.B) { benchDetector(b, p, input) })
	}
}
