package detect

import "unicode/utf8"

// Feature hashing for the injection [Model]. The features of a normalised
// text are its byte 3-, 4- and 5-grams (white space runs collapsed to one
// space, digits mapped to '0') and its word unigrams and bigrams (a word is
// a run of ASCII letters and digits or of non-ASCII bytes), each hashed into
// 2^bits buckets. Every feature is attributed to the byte offset where it
// ends, so a long text can be scored window by window in one pass.

// Hash constants: the multiplier is the 64-bit golden ratio (Fibonacci
// hashing); the salts keep the feature families apart.
const (
	hashMul    = 0x9E3779B97F4A7C15
	rollBase   = 0x100000001B3 // FNV-1a 64-bit prime
	saltGram3  = 0x51ED27F1A3C5B9D1
	saltGram4  = 0x2B7E151628AED2A6
	saltGram5  = 0x3C6EF372FE94F82B
	saltWord   = 0x6A09E667F3BCC908
	saltBigram = 0x243F6A8885A308D3
)

// ngramBucket maps a 64-bit hash to one of 2^bits buckets.
func ngramBucket(h uint64, bits uint8) uint32 {
	return uint32(((h ^ (h >> 29)) * hashMul) >> (64 - bits))
}

// featureSink receives each feature's bucket and the offset where it ends:
// with weights set it sums them per block of text (scoring); otherwise it
// collects the buckets (training).
type featureSink struct {
	weights []int8
	sums    []float32
	count   []int32
	ids     []uint32
}

func (f *featureSink) add(b uint32, end int) {
	if f.weights == nil {
		f.ids = append(f.ids, b)
		return
	}
	k := max(end-1, 0) / modelBlock
	f.sums[k] += float32(f.weights[b])
	f.count[k]++
}

// ngramSpaceByte reports the white space left in normalised text.
func ngramSpaceByte(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

// ngramWordByte reports bytes that are part of a word: ASCII letters and
// digits, and every byte of a non-ASCII character.
func ngramWordByte(c byte) bool {
	return c >= utf8.RuneSelf || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') || ('A' <= c && c <= 'Z')
}

// extractFeatures feeds the features of text to sink.
func extractFeatures(text string, bits uint8, sink *featureSink) {
	var g [5]byte // last five bytes, g[4] newest
	n := 0        // bytes seen after space collapsing
	prevSpace := true
	var word uint64 // hash of the current word
	var prevWord uint64
	inWord := false
	base := uint64(rollBase)
	pow3 := base * base * base
	pow4 := pow3 * base
	pow5 := pow4 * base
	var h3, h4, h5 uint64
	for i := 0; i < len(text); i++ {
		c := text[i]
		// Words.
		if ngramWordByte(c) {
			if !inWord {
				word = 0xcbf29ce484222325
				inWord = true
			}
			word = (word ^ uint64(c)) * rollBase
		} else if inWord {
			sink.add(ngramBucket(word^saltWord, bits), i)
			if prevWord != 0 {
				sink.add(ngramBucket((prevWord*31+word)^saltBigram, bits), i)
			}
			prevWord = word
			inWord = false
		}
		// Character n-grams.
		if ngramSpaceByte(c) {
			if prevSpace {
				continue
			}
			c = ' '
			prevSpace = true
		} else {
			prevSpace = false
			if '0' <= c && c <= '9' {
				c = '0'
			}
		}
		out3, out4, out5 := g[2], g[1], g[0]
		copy(g[:4], g[1:])
		g[4] = c
		n++
		// Rolling polynomial hashes over the last 3, 4 and 5 bytes.
		h3 = h3*rollBase + uint64(c) + 1 - (uint64(out3)+1)*pow3*ngramBool(n > 3)
		h4 = h4*rollBase + uint64(c) + 1 - (uint64(out4)+1)*pow4*ngramBool(n > 4)
		h5 = h5*rollBase + uint64(c) + 1 - (uint64(out5)+1)*pow5*ngramBool(n > 5)
		if n >= 3 {
			sink.add(ngramBucket(h3^saltGram3, bits), i+1)
		}
		if n >= 4 {
			sink.add(ngramBucket(h4^saltGram4, bits), i+1)
		}
		if n >= 5 {
			sink.add(ngramBucket(h5^saltGram5, bits), i+1)
		}
	}
	if inWord {
		sink.add(ngramBucket(word^saltWord, bits), len(text))
		if prevWord != 0 {
			sink.add(ngramBucket((prevWord*31+word)^saltBigram, bits), len(text))
		}
	}
}

func ngramBool(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
