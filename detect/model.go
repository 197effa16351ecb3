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
// scores how likely a text is a prompt injection. Weights are quantised to
// int8. A Model is immutable and safe for concurrent use.
type Model struct {
	bits       uint8
	bias       float32
	scale      float32
	thresholds [3]float32 // strict, balanced, permissive
	weights    []int8
}

// ErrBadModel is returned (wrapped) by [LoadModel] for data that is not a
// model.
var ErrBadModel = errors.New("bad injection model")

// Model file layout (little-endian): magic, bits (1 byte), 3 zero bytes,
// bias, scale, three thresholds (float32 each), 2^bits int8 weights, and
// the CRC-32 (IEEE) of everything before it.
const (
	modelMagic      = "AOSINJ1\n"
	modelHeaderSize = len(modelMagic) + 4 + 5*4
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
	if len(data) < modelHeaderSize+4 || string(data[:len(modelMagic)]) != modelMagic {
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
	p += 4
	f := func() float32 {
		v := math.Float32frombits(binary.LittleEndian.Uint32(data[p:]))
		p += 4
		return v
	}
	m.bias, m.scale = f(), f()
	for i := range m.thresholds {
		m.thresholds[i] = f()
	}
	if len(body)-p != 1<<m.bits {
		return nil, fmt.Errorf("%w: %d weight bytes, want %d", ErrBadModel, len(body)-p, 1<<m.bits)
	}
	for _, v := range append([]float32{m.bias, m.scale}, m.thresholds[:]...) {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("%w: non-finite parameter", ErrBadModel)
		}
	}
	m.weights = make([]int8, 1<<m.bits)
	for i, b := range body[p:] {
		m.weights[i] = int8(b)
	}
	return m, nil
}

// MarshalBinary encodes the model in the format [LoadModel] reads.
func (m *Model) MarshalBinary() ([]byte, error) {
	out := make([]byte, 0, modelHeaderSize+len(m.weights)+4)
	out = append(out, modelMagic...)
	out = append(out, m.bits, 0, 0, 0)
	for _, v := range append([]float32{m.bias, m.scale}, m.thresholds[:]...) {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
	}
	for _, w := range m.weights {
		out = append(out, byte(w))
	}
	return binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(out)), nil
}

// Threshold is the probability at or above which the model calls a text
// an injection at the given sensitivity ("" or unknown: balanced).
func (m *Model) Threshold(s Sensitivity) float64 {
	switch s {
	case SensitivityStrict:
		return float64(m.thresholds[0])
	case SensitivityPermissive:
		return float64(m.thresholds[2])
	}
	return float64(m.thresholds[1])
}

// Score returns the model's probability that text is a prompt injection.
// Text is normalised first; a text longer than 1 KiB is scored in windows
// and the highest window counts.
func (m *Model) Score(text string) float64 {
	p, _, _ := m.scoreNormalized(Normalize(text).Text)
	return p
}

// scoreNormalized scores normalised text and returns the probability and
// the span of the best window (-1, -1 when the whole text was one window).
func (m *Model) scoreNormalized(text string) (p float64, start, end int) {
	nb := max((len(text)+modelBlock-1)/modelBlock, 1)
	var fixedSums, fixedCount [8]int32
	b := featureSink{weights: m.weights}
	if nb <= len(fixedSums) {
		b.sums, b.count = fixedSums[:nb], fixedCount[:nb]
	} else {
		b.sums, b.count = make([]int32, nb), make([]int32, nb)
	}
	extractFeatures(text, m.bits, &b)
	const per = modelWindow / modelBlock
	if nb <= per+1 {
		return m.prob(b.sums, b.count), -1, -1
	}
	best := math.Inf(-1)
	start, end = 0, 0
	for i := 0; i+per <= nb; i++ {
		s := m.logit(b.sums[i:i+per], b.count[i:i+per])
		if s > best {
			best, start, end = s, i*modelBlock, min((i+per)*modelBlock, len(text))
		}
	}
	return modelSigmoid(best), start, end
}

func (m *Model) logit(sums, count []int32) float64 {
	var s, n int64
	for i := range sums {
		s += int64(sums[i])
		n += int64(count[i])
	}
	if n == 0 {
		return float64(m.bias)
	}
	return float64(m.bias) + float64(s)*float64(m.scale)/math.Sqrt(float64(n))
}

func (m *Model) prob(sums, count []int32) float64 {
	return modelSigmoid(m.logit(sums, count))
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

// ModelTrainOptions configures [TrainModel].
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
	// Thresholds for strict, balanced and permissive. Zero entries: 0.5,
	// 0.7 and 0.9.
	Thresholds [3]float64
}

// TrainModel fits a model to examples: logistic regression with AdaGrad,
// classes weighted to balance, deterministic for a given Seed. It returns
// ctx's error if ctx ends first.
func TrainModel(ctx context.Context, examples []ModelExample, opts ModelTrainOptions) (*Model, error) {
	bits := opts.Bits
	if bits == 0 {
		bits = 18
	}
	if bits < minModelBits || bits > maxModelBits {
		return nil, fmt.Errorf("train injection model: Bits %d outside [%d, %d]", bits, minModelBits, maxModelBits)
	}
	epochs := modelOr(opts.Epochs, 12)
	lr := modelOr(opts.LearningRate, 0.2)
	l2 := modelOr(opts.L2, 1e-6)
	if l2 < 0 {
		l2 = 0
	}
	var pos, neg float64
	feats := make([][]uint32, len(examples))
	for i, ex := range examples {
		var fl featureSink
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
		return nil, errors.New("train injection model: need examples of both labels")
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
			return nil, fmt.Errorf("train injection model: %w", err)
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
	return quantize(w, bias, bits, opts.Thresholds), nil
}

// quantize turns float weights into a Model with int8 weights.
func quantize(w []float64, bias float64, bits uint8, th [3]float64) *Model {
	maxAbs := 0.0
	for _, v := range w {
		maxAbs = max(maxAbs, math.Abs(v))
	}
	scale := maxAbs / 127
	if scale == 0 {
		scale = 1
	}
	m := &Model{bits: bits, bias: float32(bias), scale: float32(scale), weights: make([]int8, len(w))}
	for i, v := range w {
		m.weights[i] = int8(max(-127, min(127, math.Round(v/scale))))
	}
	def := [3]float64{0.5, 0.7, 0.9}
	for i := range th {
		m.thresholds[i] = float32(modelOr(th[i], def[i]))
	}
	return m
}

// WithThresholds returns a copy of m whose strict, balanced and permissive
// thresholds are th.
func (m *Model) WithThresholds(th [3]float64) *Model {
	c := *m
	c.weights = slices.Clone(m.weights)
	for i := range th {
		c.thresholds[i] = float32(th[i])
	}
	return &c
}

// modelOr returns v, or def if v is zero.
func modelOr[T int | float64](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}
