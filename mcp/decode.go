package mcp

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	segjson "github.com/segmentio/encoding/json"
)

// maxMessageDepth is the nesting bound of a decoded message, the SDK's.
const maxMessageDepth = 1000

// errTrailingData reports bytes after a message's JSON value.
var errTrailingData = errors.New("unmarshaling jsonrpc message: data after the JSON value")

// wireMessage is a JSON-RPC message as it travels, the union of the
// request and response members.
type wireMessage struct {
	VersionTag string          `json:"jsonrpc"`
	ID         any             `json:"id,omitempty"`
	Method     json.RawMessage `json:"method"`
	Params     json.RawMessage `json:"params,omitempty"`
	Result     json.RawMessage `json:"result,omitempty"`
	Error      *jsonrpc.Error  `json:"error,omitempty"`
}

// decodeMessage decodes one JSON-RPC message into the SDK's types exactly
// as jsonrpc.DecodeMessage does — member names matched case-sensitively,
// the same nesting bound, the same version, id and method rules — but
// parses the bytes in place instead of through a stream decoder, which
// allocated buffers many times the message's size on every message. It is
// stricter in one way: bytes after the JSON value are refused, where the
// SDK ignores them, so what the gateway checked is all the peer gets.
func decodeMessage(data []byte) (jsonrpc.Message, error) {
	return decodeMessageFlags(data, 0)
}

// decodeOwnedMessage is decodeMessage for bytes the caller owns and never
// changes (a Conn's Read): the message's params, result and method are
// sub-slices of data instead of copies, capped so that an append to one
// can never write into data.
func decodeOwnedMessage(data []byte) (jsonrpc.Message, error) {
	return decodeMessageFlags(data, segjson.DontCopyRawMessage)
}

func decodeMessageFlags(data []byte, flags segjson.ParseFlags) (jsonrpc.Message, error) {
	if err := checkDepth(data, maxMessageDepth); err != nil {
		return nil, err
	}
	var msg wireMessage
	rest, err := segjson.Parse(data, &msg, segjson.DontMatchCaseInsensitiveStructFields|flags)
	if err != nil {
		return nil, fmt.Errorf("unmarshaling jsonrpc message: %w", err)
	}
	if len(rest) != 0 {
		return nil, errTrailingData
	}
	msg.Method = capped(msg.Method)
	msg.Params = capped(msg.Params)
	msg.Result = capped(msg.Result)
	if msg.VersionTag != "2.0" {
		return nil, fmt.Errorf("invalid message version tag %q; expected %q", msg.VersionTag, "2.0")
	}
	id, err := jsonrpc.MakeID(msg.ID)
	if err != nil {
		return nil, err
	}
	if len(msg.Method) > 0 {
		var method string
		if _, err := segjson.Parse(msg.Method, &method, segjson.DontMatchCaseInsensitiveStructFields); err != nil {
			return nil, fmt.Errorf("unmarshaling jsonrpc message: %w", err)
		}
		return &jsonrpc.Request{Method: method, ID: id, Params: msg.Params}, nil
	}
	if !id.IsValid() {
		return nil, errors.New("JSON RPC invalid request: a response without an id")
	}
	resp := &jsonrpc.Response{ID: id, Result: msg.Result}
	if msg.Error != nil {
		resp.Error = msg.Error
	}
	return resp, nil
}

// capped returns b with its capacity cut to its length.
func capped(b json.RawMessage) json.RawMessage {
	if b == nil {
		return nil
	}
	return b[:len(b):len(b)]
}

// checkDepth refuses JSON nested deeper than max, counting brackets
// outside strings, as the SDK does before decoding.
func checkDepth(data []byte, max int) error {
	depth, inString, escaped := 0, false, false
	for _, b := range data {
		if inString {
			switch {
			case escaped:
				escaped = false
			case b == '\\':
				escaped = true
			case b == '"':
				inString = false
			}
			continue
		}
		switch b {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > max {
				return fmt.Errorf("json: exceeded maximum nesting depth of %d", max)
			}
		case '}', ']':
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}
