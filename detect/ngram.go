package detect

import "unicode/utf8"

// Feature hashing for the injection [Model]. The features of a normalised
// text are its byte 3-, 4- and 5-grams (white space runs collapsed to one
// space, digits mapped to '0') and its word unigrams and bigrams (a word is
// a run of ASCII letters and digits or of non-ASCII bytes), plus the first
// word of each sentence, line or table cell as a feature of its own, each
// hashed into 2^bits buckets. Every feature is attributed to the byte offset where it
// ends, so a long text can be scored window by window in one pass.
//
// The last five bytes live in one 64-bit shift register, so a gram is a
// mask of it and costs one multiplication to hash (Fibonacci hashing of
// the gram tagged with its length); words are hashed with FNV-1a as they
// are read. A sink may ask for words only (no grams, [extractWords]), and
// then for the words between backticks (Markdown inline code and fenced
// blocks) to be hashed apart from the same words in prose.

// Hash constants: the multiplier is the 64-bit golden ratio (Fibonacci
// hashing); the salts keep the word families apart.
const (
	hashMul    = 0x9E3779B97F4A7C15
	rollBase   = 0x100000001B3 // FNV-1a 64-bit prime
	fnvOffset  = 0xcbf29ce484222325
	saltWord   = 0x6A09E667F3BCC908
	saltBigram = 0x243F6A8885A308D3
	saltLead   = 0x452821E638D01377
	saltCode   = 0xBE5466CF34E90C6C
)

// ngramBucket maps a 64-bit hash to one of 2^bits buckets.
func ngramBucket(h uint64, bits uint8) uint32 {
	return uint32(((h ^ (h >> 29)) * hashMul) >> (64 - bits))
}

// gramBucket maps a gram (up to five bytes, newest lowest, tagged with its
// length in the low bits) to a bucket: the low bits of the key reach every
// high bit of the product, and the top bits are the bucket.
func gramBucket(key uint64, shift uint8) uint32 {
	return uint32((key * hashMul) >> shift)
}

// featureSink receives each feature's bucket and the offset where it ends:
// with weights set it sums them per block of text (scoring); otherwise it
// collects the buckets (training).
type featureSink struct {
	wordsOnly bool // no character n-grams
	codeWords bool // words between backticks hashed apart (with wordsOnly)
	weights   []int8
	sums      []int32
	count     []int32
	ids       []uint32
}

func (f *featureSink) add(b uint32, end int) {
	if f.weights == nil {
		f.ids = append(f.ids, b)
		return
	}
	k := max(end-1, 0) / modelBlock
	f.sums[k] += int32(f.weights[b])
	f.count[k]++
}

// addWord adds the features of a word that ends at offset end: its
// unigram, its bigram with the previous word (prevWord, 0 for none) and,
// when it opens a sentence, a line or a table cell, its lead feature.
func (f *featureSink) addWord(word, prevWord uint64, lead bool, bits uint8, end int) {
	f.add(ngramBucket(word^saltWord, bits), end)
	if prevWord != 0 {
		f.add(ngramBucket((prevWord*31+word)^saltBigram, bits), end)
	}
	if lead {
		f.add(ngramBucket(word^saltLead, bits), end)
	}
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

// ngramSentenceByte reports the bytes after which the next word starts a
// sentence (or a line, a table cell, a list item): its first word is then
// also a feature of its own, which tells an imperative or a question word
// opening a sentence ("Recommend ...", "What ...") from the same word
// inside one.
func ngramSentenceByte(c byte) bool {
	return c == '.' || c == '?' || c == '!' || c == ':' || c == ';' || c == '|' || c == '\n'
}

// extractFeatures feeds the features of text to sink. A scoring sink
// (weights set) is served by scoreFeatures or scoreWords, which give the
// same sums and counts.
func extractFeatures(text string, bits uint8, sink *featureSink) {
	if sink.weights != nil {
		if sink.wordsOnly {
			scoreWords(text, bits, sink.codeWords, sink.weights, sink.sums, sink.count)
		} else {
			scoreFeatures(text, bits, sink.weights, sink.sums, sink.count)
		}
		return
	}
	if sink.wordsOnly {
		extractWords(text, bits, sink)
		return
	}
	shift := 64 - bits
	var g uint64 // last five bytes after space collapsing, newest lowest
	n := 0       // bytes seen after space collapsing
	prevSpace := true
	var word uint64 // hash of the current word
	var prevWord uint64
	inWord := false
	lead, wordLead := true, false // at a sentence start; the current word starts one
	for i := 0; i < len(text); i++ {
		c := text[i]
		// Words.
		if ngramWordByte(c) {
			if !inWord {
				word = fnvOffset
				inWord = true
				wordLead, lead = lead, false
			}
			word = (word ^ uint64(c)) * rollBase
		} else {
			if inWord {
				sink.addWord(word, prevWord, wordLead, bits, i)
				prevWord = word
				inWord = false
			}
			if ngramSentenceByte(c) {
				lead = true
			}
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
		g = g<<8 | uint64(c)
		n++
		if n >= 3 {
			sink.add(gramBucket((g&0xFFFFFF)<<2|1, shift), i+1)
			if n >= 4 {
				sink.add(gramBucket((g&0xFFFFFFFF)<<2|2, shift), i+1)
				if n >= 5 {
					sink.add(gramBucket((g&0xFFFFFFFFFF)<<2|3, shift), i+1)
				}
			}
		}
	}
	if inWord {
		sink.addWord(word, prevWord, wordLead, bits, len(text))
	}
}

// extractWords feeds the word features of text to sink: those of
// [extractFeatures] without the grams, and with sink.codeWords the words
// between backticks hashed apart (a backtick toggles; a fence of three
// toggles too).
func extractWords(text string, bits uint8, sink *featureSink) {
	var word, prevWord, code uint64
	inWord := false
	lead, wordLead := true, false // at a sentence start; the current word starts one
	for i := 0; i < len(text); i++ {
		c := text[i]
		if ngramWordByte(c) {
			if !inWord {
				word = fnvOffset
				inWord = true
				wordLead, lead = lead, false
			}
			word = (word ^ uint64(c)) * rollBase
			continue
		}
		if inWord {
			word ^= code
			sink.addWord(word, prevWord, wordLead, bits, i)
			prevWord = word
			inWord = false
		}
		if ngramSentenceByte(c) {
			lead = true
		}
		if c == '`' && sink.codeWords {
			code ^= saltCode
		}
	}
	if inWord {
		word ^= code
		sink.addWord(word, prevWord, wordLead, bits, len(text))
	}
}

// Byte classes of the feature scanners (ngramClass).
const (
	classWord     = 1 << iota // ngramWordByte
	classSpace                // ngramSpaceByte
	classSentence             // ngramSentenceByte
	classCode                 // a backtick
)

// ngramClass holds the classes of every byte.
var ngramClass = func() (t [256]uint8) {
	for c := range 256 {
		b := byte(c)
		if ngramWordByte(b) {
			t[c] |= classWord
		}
		if ngramSpaceByte(b) {
			t[c] |= classSpace
		}
		if ngramSentenceByte(b) {
			t[c] |= classSentence
		}
		if b == '`' {
			t[c] |= classCode
		}
	}
	return t
}()

// ngramGramByte is the byte a gram holds for each byte: digits become
// '0' and white space ' ' (runs of it are collapsed by the scanner).
var ngramGramByte = func() (t [256]byte) {
	for c := range 256 {
		b := byte(c)
		switch {
		case ngramSpaceByte(b):
			b = ' '
		case '0' <= b && b <= '9':
			b = '0'
		}
		t[c] = b
	}
	return t
}()

// scoreFeatures sums, per block of modelBlock bytes, the weights and the
// number of the features extractFeatures gives (grams and words): the
// same sums and counts as extractFeatures feeding a scoring featureSink.
// The sums are of integers, so the order of the additions does not
// matter, and the grams and the words are summed in separate passes
// (scoreGrams, scoreWords), each with few enough live values to stay in
// registers.
func scoreFeatures(text string, bits uint8, w []int8, sums, count []int32) {
	scoreGrams(text, bits, w, sums, count)
	scoreWords(text, bits, false, w, sums, count)
}

// scoreGrams sums the character grams of extractFeatures: white space
// runs collapsed to one space, digits mapped to '0', the 3-, 4- and
// 5-grams ending at each byte added to the block of that byte.
func scoreGrams(text string, bits uint8, w []int8, sums, count []int32) {
	shift := (64 - bits) & 63
	var g uint64 // last five gram bytes, newest lowest
	n := 0       // gram bytes seen
	i := 0
	// The first gram bytes, until a 5-gram exists: each gram is added
	// as it comes. A space is skipped after a space or at the start.
	for ; i < len(text) && n < 5; i++ {
		c := ngramGramByte[text[i]]
		if c == ' ' && (n == 0 || byte(g) == ' ') {
			continue
		}
		g = g<<8 | uint64(c)
		n++
		k := i / modelBlock
		if n >= 3 {
			sums[k] += int32(w[gramBucket((g&0xFFFFFF)<<2|1, shift)])
			count[k]++
		}
		if n >= 4 {
			sums[k] += int32(w[gramBucket((g&0xFFFFFFFF)<<2|2, shift)])
			count[k]++
		}
		if n >= 5 {
			sums[k] += int32(w[gramBucket((g&0xFFFFFFFFFF)<<2|3, shift)])
			count[k]++
		}
	}
	// Then every gram byte adds its three grams, summed per block.
	w18 := (*[1 << 18]int8)(nil)
	if bits == 18 && len(w) == 1<<18 {
		w18 = (*[1 << 18]int8)(w)
	}
	for i < len(text) {
		k := i / modelBlock
		end := min((k+1)*modelBlock, len(text))
		var s int32
		var grams int
		if w18 != nil {
			s, g, grams = gramBlock18(text[i:end], g, w18)
		} else {
			s, g, grams = gramBlock(text[i:end], g, w, shift)
		}
		sums[k] += s
		count[k] += int32(3 * grams)
		i = end
	}
}

// gramBlock returns the sum of the weights of the three grams ending at
// each gram byte of blk (a space after a space is none), given the last
// five gram bytes before it in g; and g after it and the number of gram
// bytes. At least five gram bytes must precede blk.
func gramBlock(blk string, g uint64, w []int8, shift uint8) (s int32, _ uint64, grams int) {
	shift &= 63
	grams = len(blk)
	for i := 0; i < len(blk); i++ {
		c := ngramGramByte[blk[i]]
		if c == ' ' && byte(g) == ' ' {
			grams--
			continue
		}
		g = g<<8 | uint64(c)
		g2 := g << 2
		s += int32(w[gramBucket(g2&0x3FFFFFC|1, shift)]) +
			int32(w[gramBucket(g2&0x3FFFFFFFC|2, shift)]) +
			int32(w[gramBucket(g2&0x3FFFFFFFFFC|3, shift)])
	}
	return s, g, grams
}

// gramBlock18 is gramBlock for 2^18 buckets (the embedded model's), where
// the bucket's shift is a constant and its index needs no bounds check.
func gramBlock18(blk string, g uint64, w *[1 << 18]int8) (s int32, _ uint64, grams int) {
	const shift = 64 - 18
	grams = len(blk)
	for i := 0; i < len(blk); i++ {
		c := ngramGramByte[blk[i]]
		if c == ' ' && byte(g) == ' ' {
			grams--
			continue
		}
		g = g<<8 | uint64(c)
		g2 := g << 2
		s += int32(w[(g2&0x3FFFFFC|1)*hashMul>>shift]) +
			int32(w[(g2&0x3FFFFFFFC|2)*hashMul>>shift]) +
			int32(w[(g2&0x3FFFFFFFFFC|3)*hashMul>>shift])
	}
	return s, g, grams
}

// scoreWords sums the word features of extractWords (with code set, the
// words between backticks hashed apart) or, with code false, those of
// extractFeatures: each word's unigram, its bigram with the previous
// word and, for a word opening the text, a sentence, a line or a table
// cell, its lead feature, added to the block of its last byte.
func scoreWords(text string, bits uint8, code bool, w []int8, sums, count []int32) {
	h := wordHead{w: w, sums: sums, count: count}
	shift := (64 - bits) & 63
	var prevWord, salt uint64
	lead := true
	i := 0
	for {
		// Skip to the next word, noting sentence ends and backticks.
		for i < len(text) && ngramClass[text[i]]&classWord == 0 {
			cl := ngramClass[text[i]]
			if cl&classSentence != 0 {
				lead = true
			}
			if cl&classCode != 0 && code {
				salt ^= saltCode
			}
			i++
		}
		if i == len(text) {
			return
		}
		word := uint64(fnvOffset)
		for ; i < len(text) && ngramClass[text[i]]&classWord != 0; i++ {
			word = (word ^ uint64(text[i])) * rollBase
		}
		prevWord = h.add(word^salt, prevWord, lead, (i-1)/modelBlock, shift)
		lead = false
	}
}

// wordHead is one head's side of scoreWordsPair.
type wordHead struct {
	code        bool // words between backticks hashed apart
	w           []int8
	sums, count []int32
}

// scoreWordsPair is scoreWords for two heads at once: the words are read
// and hashed once, then salted and summed for each.
func scoreWordsPair(text string, bits uint8, a, b wordHead) {
	shift := (64 - bits) & 63
	var prevA, prevB, saltA, saltB uint64
	lead := true
	i := 0
	for {
		for i < len(text) && ngramClass[text[i]]&classWord == 0 {
			cl := ngramClass[text[i]]
			if cl&classSentence != 0 {
				lead = true
			}
			if cl&classCode != 0 {
				if a.code {
					saltA ^= saltCode
				}
				if b.code {
					saltB ^= saltCode
				}
			}
			i++
		}
		if i == len(text) {
			return
		}
		word := uint64(fnvOffset)
		for ; i < len(text) && ngramClass[text[i]]&classWord != 0; i++ {
			word = (word ^ uint64(text[i])) * rollBase
		}
		k := (i - 1) / modelBlock
		prevA = a.add(word^saltA, prevA, lead, k, shift)
		prevB = b.add(word^saltB, prevB, lead, k, shift)
		lead = false
	}
}

// add sums the features of one word (already salted) into block k and
// returns the word, the next one's previous word.
func (h *wordHead) add(word, prevWord uint64, lead bool, k int, shift uint8) uint64 {
	x := word ^ saltWord
	s := int32(h.w[uint32(((x^(x>>29))*hashMul)>>shift)])
	n := int32(1)
	if prevWord != 0 {
		x := (prevWord*31 + word) ^ saltBigram
		s += int32(h.w[uint32(((x^(x>>29))*hashMul)>>shift)])
		n++
	}
	if lead {
		x := word ^ saltLead
		s += int32(h.w[uint32(((x^(x>>29))*hashMul)>>shift)])
		n++
	}
	h.sums[k] += s
	h.count[k] += n
	return word
}
