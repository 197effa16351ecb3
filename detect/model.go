package detect

import (
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"slices"
)

// Model is a compact linear classifier (logistic regression over hashed
// character n-grams and words of the [Normalize]d text, see ngram.go) that
// scores how likely a text is a prompt injection. It has one head per
// [Channel] sharing the same features: the prompt head judges a user's own
// prompt, the data head judges untrusted data the agent reads, where any
// instruction or request addressed to the assistant is suspicious. A model
// with one head uses it for both channels. Weights are quantised to int8.
// A Model is immutable and safe for concurrent use.
type Model struct {
	bits  uint8
	heads []modelHead // [0] prompt, [1] data (optional)
}

// modelHead is one channel's weights.
type modelHead struct {
	bias       float32
	scale      float32
	thresholds [3]float32 // strict, balanced, permissive
	weights    []int8
	wordsOnly  bool // features: words and word pairs only, no character n-grams
	codeWords  bool // words between backticks are hashed apart from prose words
	halfWindow bool // long texts are scored in windows of modelWindow/2 bytes
}

// ErrBadModel is returned (wrapped) by [LoadModel] for data that is not a
// model.
var ErrBadModel = errors.New("bad injection model")

// Model file layout (little-endian): magic, bits (1 byte), the number of
// heads (1 byte; 1 or 2), a byte whose bit i says that head i reads word
// features only, a byte whose bit i says that head i hashes words between
// backticks apart and whose bit 4+i says that head i scores long texts in
// half windows (files before these options have a zero byte there), then
// per head its bias, scale and three thresholds (float32 each) and 2^bits
// int8 weights, and last the CRC-32 (IEEE) of everything before it. The
// first version's magic (one head, a zero head count) is still read.
const (
	modelMagic      = "AOSINJ2\n"
	modelMagicV1    = "AOSINJ1\n"
	modelHeaderSize = len(modelMagic) + 4
	modelHeadHeader = 5 * 4
	maxModelHeads   = 2
	// Model ngramBucket counts must lie in this range.
	minModelBits = 10
	maxModelBits = 22
	// modelWindow is the span, in bytes of normalised text, that the model
	// scores at once; longer texts are scored in windows of this size
	// (stepping by a quarter of it) and the highest score counts, so that a
	// short injection inside a long document is not diluted.
	modelWindow = 1024
	modelBlock  = modelWindow / 4
)

//go:embed model/injection.bin
var embeddedModel []byte

// EmbeddedInjectionModel returns the model built into the package (trained
// by the repository's training program; see docs/detection.md).
func EmbeddedInjectionModel() (*Model, error) {
	m, err := LoadModel(embeddedModel)
	if err != nil {
		return nil, fmt.Errorf("embedded injection model: %w", err)
	}
	return m, nil
}

// LoadModel decodes a model written by [Model.MarshalBinary].
func LoadModel(data []byte) (*Model, error) {
	if len(data) < modelHeaderSize+4 {
		return nil, fmt.Errorf("%w: missing header", ErrBadModel)
	}
	magic := string(data[:len(modelMagic)])
	if magic != modelMagic && magic != modelMagicV1 {
		return nil, fmt.Errorf("%w: missing header", ErrBadModel)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrBadModel)
	}
	p := len(modelMagic)
	m := &Model{bits: data[p]}
	if m.bits < minModelBits || m.bits > maxModelBits {
		return nil, fmt.Errorf("%w: %d ngramBucket bits outside [%d, %d]", ErrBadModel, m.bits, minModelBits, maxModelBits)
	}
	nh := int(data[p+1])
	if magic == modelMagicV1 {
		nh = 1
	}
	if nh < 1 || nh > maxModelHeads {
		return nil, fmt.Errorf("%w: %d heads, want 1 to %d", ErrBadModel, nh, maxModelHeads)
	}
	flags, opts := data[p+2], data[p+3]
	if magic == modelMagicV1 {
		flags = 0
	}
	if flags>>nh != 0 || opts&^(1<<nh-1|(1<<nh-1)<<4) != 0 {
		return nil, fmt.Errorf("%w: unknown flags", ErrBadModel)
	}
	p += 4
	if want := nh * (modelHeadHeader + 1<<m.bits); len(body)-p != want {
		return nil, fmt.Errorf("%w: %d bytes of heads, want %d", ErrBadModel, len(body)-p, want)
	}
	f := func() float32 {
		v := math.Float32frombits(binary.LittleEndian.Uint32(data[p:]))
		p += 4
		return v
	}
	for i := range nh {
		h := modelHead{wordsOnly: flags>>i&1 != 0, codeWords: opts>>i&1 != 0, halfWindow: opts>>(4+i)&1 != 0}
		if h.codeWords && !h.wordsOnly {
			return nil, fmt.Errorf("%w: head %d hashes code words apart but reads character grams", ErrBadModel, i)
		}
		h.bias, h.scale = f(), f()
		for i := range h.thresholds {
			h.thresholds[i] = f()
		}
		for _, v := range append([]float32{h.bias, h.scale}, h.thresholds[:]...) {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("%w: non-finite parameter", ErrBadModel)
			}
		}
		h.weights = make([]int8, 1<<m.bits)
		for i, b := range body[p : p+1<<m.bits] {
			h.weights[i] = int8(b)
		}
		p += 1 << m.bits
		m.heads = append(m.heads, h)
	}
	return m, nil
}

// MarshalBinary encodes the model in the format [LoadModel] reads.
func (m *Model) MarshalBinary() ([]byte, error) {
	if len(m.heads) < 1 || len(m.heads) > maxModelHeads {
		return nil, fmt.Errorf("%w: %d heads", ErrBadModel, len(m.heads))
	}
	out := make([]byte, 0, modelHeaderSize+len(m.heads)*(modelHeadHeader+1<<m.bits)+4)
	out = append(out, modelMagic...)
	var flags, opts byte
	for i, h := range m.heads {
		if h.wordsOnly {
			flags |= 1 << i
		}
		if h.codeWords {
			opts |= 1 << i
		}
		if h.halfWindow {
			opts |= 1 << (4 + i)
		}
	}
	out = append(out, m.bits, byte(len(m.heads)), flags, opts)
	for _, h := range m.heads {
		for _, v := range append([]float32{h.bias, h.scale}, h.thresholds[:]...) {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
		for _, w := range h.weights {
			out = append(out, byte(w))
		}
	}
	return binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(out)), nil
}

// Heads returns the number of channel heads: 1 (one head for both
// channels) or 2 (prompt and data).
func (m *Model) Heads() int { return len(m.heads) }

// head returns the head for ch: the data head for [ChannelData] when the
// model has one, else the prompt head.
func (m *Model) head(ch Channel) *modelHead {
	if ch == ChannelData && len(m.heads) > 1 {
		return &m.heads[1]
	}
	return &m.heads[0]
}

// Threshold is the probability at or above which the prompt head calls a
// text an injection at the given sensitivity ("" or unknown: balanced).
func (m *Model) Threshold(s Sensitivity) float64 {
	return m.ChannelThreshold(ChannelPrompt, s)
}

// ChannelThreshold is [Model.Threshold] for the head of channel ch.
func (m *Model) ChannelThreshold(ch Channel, s Sensitivity) float64 {
	h := m.head(ch)
	switch s {
	case SensitivityStrict:
		return float64(h.thresholds[0])
	case SensitivityPermissive:
		return float64(h.thresholds[2])
	}
	return float64(h.thresholds[1])
}

// Score returns the prompt head's probability that text is a prompt
// injection. Text is normalised first; a text longer than 1 KiB is scored
// in windows and the highest window counts.
func (m *Model) Score(text string) float64 {
	return m.ChannelScore(ChannelPrompt, text)
}

// ChannelScore is [Model.Score] with the head of channel ch (whose windows
// may be half as long, see [ModelTrainOptions].DataHalfWindow).
func (m *Model) ChannelScore(ch Channel, text string) float64 {
	p, _, _ := m.scoreNormalized(ch, Normalize(text).Text)
	return p
}

// scoreNormalized scores normalised text with ch's head and returns the
// probability and the span of the best window (-1, -1 when the whole text
// was one window).
func (m *Model) scoreNormalized(ch Channel, text string) (p float64, start, end int) {
	run := [2]bool{ch != ChannelData, ch == ChannelData}
	ps, spans := m.scoreHeads(text, run)
	i := 0
	if run[1] {
		i = 1
	}
	return ps[i], spans[i][0], spans[i][1]
}

// scoreHeads is scoreNormalized for the channels run selects ([0] the
// prompt channel, [1] the data channel), each scored by its head. When
// two distinct heads run, the words are read once for both.
func (m *Model) scoreHeads(text string, run [2]bool) (p [2]float64, span [2][2]int) {
	nb := max((len(text)+modelBlock-1)/modelBlock, 1)
	var fixed [2][2][8]int32
	var heads [2]*modelHead
	var sums, count [2][]int32
	for i, ch := range [2]Channel{ChannelPrompt, ChannelData} {
		if !run[i] {
			continue
		}
		heads[i] = m.head(ch)
		if nb <= len(fixed[i][0]) {
			sums[i], count[i] = fixed[i][0][:nb], fixed[i][1][:nb]
		} else {
			sums[i], count[i] = make([]int32, nb), make([]int32, nb)
		}
	}
	if run[0] && run[1] && heads[0] != heads[1] {
		for i, h := range heads {
			if !h.wordsOnly {
				scoreGrams(text, m.bits, h.weights, sums[i], count[i])
			}
		}
		a, b := heads[0], heads[1]
		scoreWordsPair(text, m.bits,
			wordHead{code: a.wordsOnly && a.codeWords, w: a.weights, sums: sums[0], count: count[0]},
			wordHead{code: b.wordsOnly && b.codeWords, w: b.weights, sums: sums[1], count: count[1]})
	} else {
		for i, h := range heads {
			if h == nil {
				continue
			}
			// As extractFeatures would for a scoring sink.
			if h.wordsOnly {
				scoreWords(text, m.bits, h.codeWords, h.weights, sums[i], count[i])
			} else {
				scoreFeatures(text, m.bits, h.weights, sums[i], count[i])
			}
		}
	}
	for i, h := range heads {
		if h != nil {
			p[i], span[i][0], span[i][1] = h.best(len(text), sums[i], count[i])
		}
	}
	return p, span
}

// best returns the probability of the best window of a text of n bytes,
// given its block sums and counts, and the window's span (-1, -1 when the
// whole text was one window).
func (h *modelHead) best(n int, sums, count []int32) (p float64, start, end int) {
	nb := len(sums)
	per := modelWindow / modelBlock
	if h.halfWindow {
		per /= 2
	}
	if nb <= per+1 {
		return modelSigmoid(h.logit(sums, count)), -1, -1
	}
	best := math.Inf(-1)
	start, end = 0, 0
	for i := 0; i+per <= nb; i++ {
		s := h.logit(sums[i:i+per], count[i:i+per])
		if s > best {
			best, start, end = s, i*modelBlock, min((i+per)*modelBlock, n)
		}
	}
	return modelSigmoid(best), start, end
}

func (h *modelHead) logit(sums, count []int32) float64 {
	var s, n int64
	for i := range sums {
		s += int64(sums[i])
		n += int64(count[i])
	}
	if n == 0 {
		return float64(h.bias)
	}
	return float64(h.bias) + float64(s)*float64(h.scale)/math.Sqrt(float64(n))
}

func modelSigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// ModelExample is one labelled text for [TrainModel].
type ModelExample struct {
	// Text is the raw text; it is normalised before features are taken.
	Text string
	// Injection is the label.
	Injection bool
	// Weight multiplies the example's loss. 0 means 1.
	Weight float64
}

// ModelTrainOptions configures [TrainModel] and [TrainChannelModel].
type ModelTrainOptions struct {
	// Bits is the log2 of the number of hash buckets. 0: 18.
	Bits uint8
	// Epochs over the data. 0: 12.
	Epochs int
	// LearningRate of AdaGrad. 0: 0.2.
	LearningRate float64
	// L2 regularisation per update. 0: 1e-6; negative: none.
	L2 float64
	// Seed for the shuffling; training is deterministic for a given seed
	// and input order.
	Seed uint64
	// Thresholds for strict, balanced and permissive (the prompt head).
	// Zero entries: 0.5, 0.7 and 0.9.
	Thresholds [3]float64
	// DataThresholds are the data head's thresholds ([TrainChannelModel]).
	// Zero entries: as Thresholds.
	DataThresholds [3]float64
	// DataWordsOnly makes the data head read words and word pairs only, no
	// character n-grams: text unlike anything it was trained on then
	// scores near even instead of borrowing the weight of shared letters.
	DataWordsOnly bool
	// DataCodeWords makes the data head hash the words between backticks
	// (inline code and fenced blocks in Markdown) apart from the same
	// words in prose: `delete()` in a code answer is not "delete" in a
	// request. It requires DataWordsOnly.
	DataCodeWords bool
	// DataHalfWindow makes the data head score texts longer than 1 KiB in
	// windows of 512 bytes (stepping by 256) instead of 1 KiB, so that a
	// short request planted in long data is less diluted.
	DataHalfWindow bool
}

// TrainModel fits a one-head model to examples (the head serves both
// channels): logistic regression with AdaGrad, classes weighted to
// balance, deterministic for a given Seed. It returns ctx's error if ctx
// ends first.
func TrainModel(ctx context.Context, examples []ModelExample, opts ModelTrainOptions) (*Model, error) {
	return trainHeads(ctx, opts, examples)
}

// TrainChannelModel fits a two-head model: the prompt head on prompt (what
// is an injection in a user's own prompt) and the data head on data (what
// is an injection in untrusted data the agent reads). The heads share the
// feature hashing and are trained independently, like [TrainModel].
func TrainChannelModel(ctx context.Context, prompt, data []ModelExample, opts ModelTrainOptions) (*Model, error) {
	return trainHeads(ctx, opts, prompt, data)
}

func trainHeads(ctx context.Context, opts ModelTrainOptions, sets ...[]ModelExample) (*Model, error) {
	bits := opts.Bits
	if bits == 0 {
		bits = 18
	}
	if bits < minModelBits || bits > maxModelBits {
		return nil, fmt.Errorf("train injection model: Bits %d outside [%d, %d]", bits, minModelBits, maxModelBits)
	}
	if opts.DataCodeWords && !opts.DataWordsOnly {
		return nil, errors.New("train injection model: DataCodeWords requires DataWordsOnly")
	}
	m := &Model{bits: bits}
	def := [3]float64{0.5, 0.7, 0.9}
	for i, ex := range sets {
		th := opts.Thresholds
		if i == 1 {
			for k := range th {
				th[k] = modelOr(opts.DataThresholds[k], th[k])
			}
		}
		for k := range th {
			th[k] = modelOr(th[k], def[k])
		}
		data := i == 1
		h, err := trainHead(ctx, ex, bits, opts, th, featureSink{wordsOnly: data && opts.DataWordsOnly, codeWords: data && opts.DataCodeWords})
		if err != nil {
			return nil, err
		}
		h.halfWindow = data && opts.DataHalfWindow
		m.heads = append(m.heads, h)
	}
	return m, nil
}

// trainHead fits one head on the features that kind (a featureSink's
// options) selects.
func trainHead(ctx context.Context, examples []ModelExample, bits uint8, opts ModelTrainOptions, th [3]float64, kind featureSink) (modelHead, error) {
	epochs := modelOr(opts.Epochs, 12)
	lr := modelOr(opts.LearningRate, 0.2)
	l2 := modelOr(opts.L2, 1e-6)
	if l2 < 0 {
		l2 = 0
	}
	var pos, neg float64
	feats := make([][]uint32, len(examples))
	for i, ex := range examples {
		fl := featureSink{wordsOnly: kind.wordsOnly, codeWords: kind.codeWords}
		extractFeatures(Normalize(ex.Text).Text, bits, &fl)
		feats[i] = fl.ids
		w := modelOr(ex.Weight, 1)
		if ex.Injection {
			pos += w
		} else {
			neg += w
		}
	}
	if pos == 0 || neg == 0 {
		return modelHead{}, errors.New("train injection model: need examples of both labels")
	}
	posW, negW := (pos+neg)/(2*pos), (pos+neg)/(2*neg)
	w := make([]float64, 1<<bits)
	g2 := make([]float64, 1<<bits)
	var bias, biasG2 float64
	order := make([]int, len(examples))
	for i := range order {
		order[i] = i
	}
	for epoch := range epochs {
		if err := ctx.Err(); err != nil {
			return modelHead{}, fmt.Errorf("train injection model: %w", err)
		}
		rng := rand.New(rand.NewPCG(opts.Seed, uint64(epoch)))
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, i := range order {
			f := feats[i]
			norm := 1.0
			if len(f) > 0 {
				norm = 1 / math.Sqrt(float64(len(f)))
			}
			z := bias
			for _, id := range f {
				z += w[id] * norm
			}
			y, cw := 0.0, negW
			if examples[i].Injection {
				y, cw = 1, posW
			}
			g := (modelSigmoid(z) - y) * cw * modelOr(examples[i].Weight, 1)
			biasG2 += g * g
			bias -= lr * g / math.Sqrt(biasG2+1e-8)
			for _, id := range f {
				gi := g*norm + l2*w[id]
				g2[id] += gi * gi
				w[id] -= lr * gi / math.Sqrt(g2[id]+1e-8)
			}
		}
	}
	h := quantize(w, bias, th)
	h.wordsOnly, h.codeWords = kind.wordsOnly, kind.codeWords
	return h, nil
}

// quantize turns float weights into a head with int8 weights.
func quantize(w []float64, bias float64, th [3]float64) modelHead {
	maxAbs := 0.0
	for _, v := range w {
		maxAbs = max(maxAbs, math.Abs(v))
	}
	scale := maxAbs / 127
	if scale == 0 {
		scale = 1
	}
	h := modelHead{bias: float32(bias), scale: float32(scale), weights: make([]int8, len(w))}
	for i, v := range w {
		h.weights[i] = int8(max(-127, min(127, math.Round(v/scale))))
	}
	for i := range th {
		h.thresholds[i] = float32(th[i])
	}
	return h
}

// WithThresholds returns a copy of m whose prompt head's strict, balanced
// and permissive thresholds are th.
func (m *Model) WithThresholds(th [3]float64) *Model {
	return m.WithChannelThresholds(ChannelPrompt, th)
}

// WithChannelThresholds returns a copy of m whose thresholds for channel
// ch are th (for a one-head model, the thresholds of both channels).
func (m *Model) WithChannelThresholds(ch Channel, th [3]float64) *Model {
	c := &Model{bits: m.bits, heads: slices.Clone(m.heads)}
	for i := range c.heads {
		c.heads[i].weights = slices.Clone(m.heads[i].weights)
	}
	h := c.head(ch)
	for i := range th {
		h.thresholds[i] = float32(th[i])
	}
	return c
}

// modelOr returns v, or def if v is zero.
func modelOr[T int | float64](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}
