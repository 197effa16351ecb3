package paritytest

// BackendStub is a stub external backend of the policy-evaluator vectors:
// a declared answer or an error.
type BackendStub struct {
	Name    string `json:"name"`
	Returns *struct {
		Allowed bool   `json:"allowed"`
		Reason  string `json:"reason"`
		Error   string `json:"error"`
	} `json:"returns"`
	Raises string `json:"raises"`
}

// Failure is the stub's error message, "" when it answers.
func (s BackendStub) Failure() string {
	if s.Raises != "" {
		return s.Raises
	}
	if s.Returns == nil {
		return "stub has neither returns nor raises"
	}
	return s.Returns.Error
}

// BackendDecision is the part of an expected decision the backend vectors
// pin.
type BackendDecision struct {
	Allowed     *bool   `json:"allowed"`
	Reason      string  `json:"reason"`
	MatchedRule *string `json:"matched_rule"`
}

// BackendCase is a policy-evaluator case that consults stub backends.
type BackendCase struct {
	ID             string           `json:"id"`
	Context        map[string]any   `json:"context"`
	Backends       []BackendStub    `json:"backends"`
	Expected       BackendDecision  `json:"expected"`
	Deviation      string           `json:"deviation"`
	DeviationKinds []string         `json:"deviation_kinds"`
	GoExpected     *BackendDecision `json:"go_expected"`
}
