package cedar_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	cedargo "github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/agentos/agentos/policy/cedar"
)

func TestPascalCase(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"file_read", "FileRead"},
		{"execute_code", "ExecuteCode"},
		{"read_data", "ReadData"},
		{"", ""},
		{"a__b", "AB"},
		{"_x", "X"},
		{"x_", "X"},
		{"___", ""},
		{"read2x", "Read2x"},
		{"2fa_check", "2faCheck"},
		{"v2_api_call", "V2ApiCall"},
		{"get_HTTP", "GetHTTP"},
		{"FileRead", "FileRead"},
		{"émettre_reçu", "ÉmettreReçu"},
		{"ǆ_x", "ǅX"},
		{"ß_a", "ßA"},
		{"читать_файл", "ЧитатьФайл"},
		{"工具_调用", "工具调用"},
		{"read-file", "Read-file"},
		{"github.create_issue", "Github.createIssue"},
		{"\xff_a", "\uFFFDA"},
		{"\xc7_\xa9", "\uFFFD\uFFFD"},
	}
	for _, tt := range tests {
		if got := cedar.PascalCase(tt.in); got != tt.want {
			t.Errorf("PascalCase(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func mustDecimal(t *testing.T, s string) cedargo.Decimal {
	t.Helper()
	d, err := types.ParseDecimal(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestMapRequest(t *testing.T) {
	t.Parallel()
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name      string
		input     map[string]any
		principal cedargo.EntityUID
		action    cedargo.EntityUID
		resource  cedargo.EntityUID
		context   cedargo.RecordMap
	}{
		{
			name:      "reference-vector",
			input:     map[string]any{"tool_name": "execute_code", "agent_id": "bot", "resource": "db1", "extra": 1},
			principal: cedargo.NewEntityUID("Agent", "bot"),
			action:    cedargo.NewEntityUID("Action", "ExecuteCode"),
			resource:  cedargo.NewEntityUID("Resource", "db1"),
			context:   cedargo.RecordMap{"extra": cedargo.Long(1)},
		},
		{
			name:      "defaults",
			input:     map[string]any{},
			principal: cedargo.NewEntityUID("Agent", "anonymous"),
			action:    cedargo.NewEntityUID("Action", "Unknown"),
			resource:  cedargo.NewEntityUID("Resource", "default"),
			context:   cedargo.RecordMap{},
		},
		{
			name:      "null-and-empty-take-defaults",
			input:     map[string]any{"agent_id": nil, "tool_name": "__", "resource": ""},
			principal: cedargo.NewEntityUID("Agent", "anonymous"),
			action:    cedargo.NewEntityUID("Action", "Unknown"),
			resource:  cedargo.NewEntityUID("Resource", "default"),
			context:   cedargo.RecordMap{},
		},
		{
			name:      "agent-id-with-colons-kept-verbatim",
			input:     map[string]any{"agent_id": `Org::User::"alice"`, "tool_name": "file_read"},
			principal: cedargo.NewEntityUID("Org::User", "alice"),
			action:    cedargo.NewEntityUID("Action", "FileRead"),
			resource:  cedargo.NewEntityUID("Resource", "default"),
			context:   cedargo.RecordMap{},
		},
		{
			name: "context-values",
			input: map[string]any{
				"tool_name": "refund_payment",
				"count":     json.Number("3"),
				"whole":     float64(7),
				"ratio":     0.1,
				"price":     json.Number("2.50"),
				"exp":       json.Number("1.5e2"),
				"neg":       -0.25,
				"flag":      true,
				"gone":      nil,
				"when":      at,
				"wait":      90 * time.Second,
				"tags":      []any{"a", "b", "a"},
				"names":     []string{"x"},
				"labels":    map[string]string{"team": "payments"},
				"args":      map[string]any{"amount": 120, "note": nil, "items": []any{map[string]any{"sku": "s1"}}},
				"u8":        uint8(8),
			},
			principal: cedargo.NewEntityUID("Agent", "anonymous"),
			action:    cedargo.NewEntityUID("Action", "RefundPayment"),
			resource:  cedargo.NewEntityUID("Resource", "default"),
			context: cedargo.RecordMap{
				"count":  cedargo.Long(3),
				"whole":  cedargo.Long(7),
				"ratio":  mustDecimal(t, "0.1"),
				"price":  mustDecimal(t, "2.5"),
				"exp":    cedargo.Long(150),
				"neg":    mustDecimal(t, "-0.25"),
				"flag":   cedargo.True,
				"when":   cedargo.NewDatetime(at),
				"wait":   cedargo.NewDuration(90 * time.Second),
				"tags":   cedargo.NewSet(cedargo.String("a"), cedargo.String("b")),
				"names":  cedargo.NewSet(cedargo.String("x")),
				"labels": cedargo.NewRecord(cedargo.RecordMap{"team": cedargo.String("payments")}),
				"args": cedargo.NewRecord(cedargo.RecordMap{
					"amount": cedargo.Long(120),
					"items":  cedargo.NewSet(cedargo.NewRecord(cedargo.RecordMap{"sku": cedargo.String("s1")})),
				}),
				"u8": cedargo.Long(8),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := cedar.MapRequest(tt.input)
			if err != nil {
				t.Fatalf("MapRequest(%v) error: %v", tt.input, err)
			}
			if req.Principal != tt.principal || req.Action != tt.action || req.Resource != tt.resource {
				t.Errorf("MapRequest(%v) = %v, %v, %v, want %v, %v, %v", tt.input,
					req.Principal, req.Action, req.Resource, tt.principal, tt.action, tt.resource)
			}
			if want := cedargo.NewRecord(tt.context); !req.Context.Equal(want) {
				t.Errorf("MapRequest(%v).Context = %v, want %v", tt.input, req.Context, want)
			}
		})
	}
}

func TestMapRequestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		input map[string]any
		want  string
	}{
		{"agent-id-not-string", map[string]any{"agent_id": 7}, "agent_id is int, want a string"},
		{"agent-id-bad-uid", map[string]any{"agent_id": "team::bot"}, `agent_id "team::bot" contains "::" but is not a Cedar entity UID`},
		{"tool-name-not-string", map[string]any{"tool_name": []any{"x"}}, "tool_name is []interface {}, want a string"},
		{"tool-name-not-utf8", map[string]any{"tool_name": "\xc7_\xa9"}, "tool_name \"\\xc7_\\xa9\" is not valid UTF-8"},
		{"resource-not-string", map[string]any{"resource": map[string]any{}}, "resource is map[string]interface {}, want a string"},
		{"too-many-decimals", map[string]any{"args": map[string]any{"amount": 1.23456}}, "context.args.amount: number 1.23456 has more than 4 decimal places"},
		{"long-out-of-range", map[string]any{"n": json.Number("9223372036854775808")}, "context.n: number 9223372036854775808 is out of range for a Cedar long"},
		{"float-out-of-range", map[string]any{"n": 1e20}, "context.n: number 1e+20 is out of range for a Cedar long"},
		{"decimal-out-of-range", map[string]any{"n": json.Number("922337203685477.5808")}, "out of range for a Cedar decimal"},
		{"huge-exponent", map[string]any{"n": json.Number("1e999999999")}, "cannot be a Cedar long or decimal"},
		{"nan", map[string]any{"n": math.NaN()}, "context.n: number NaN is not finite"},
		{"uint64-too-big", map[string]any{"n": uint64(math.MaxUint64)}, "out of range for a Cedar long"},
		{"bad-json-number", map[string]any{"n": json.Number("1x")}, `context.n: invalid number "1x"`},
		{"null-in-set", map[string]any{"tags": []any{"a", nil}}, "context.tags[1]: null has no Cedar value"},
		{"unsupported-type", map[string]any{"weird key": struct{}{}}, `context["weird key"]: unsupported type struct {}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := cedar.MapRequest(tt.input)
			if !errors.Is(err, cedar.ErrInput) {
				t.Fatalf("MapRequest(%v) error = %v, want ErrInput", tt.input, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("MapRequest(%v) error = %q, want it to contain %q", tt.input, err, tt.want)
			}
		})
	}
	t.Run("too-deep", func(t *testing.T) {
		t.Parallel()
		deep := map[string]any{}
		cur := deep
		for range 100 {
			next := map[string]any{}
			cur["n"] = next
			cur = next
		}
		if _, err := cedar.MapRequest(deep); !errors.Is(err, cedar.ErrInput) {
			t.Errorf("MapRequest(100 levels) error = %v, want ErrInput", err)
		}
	})
}
