package zoomspec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/getkin/kin-openapi/openapi3"
)

// ValidateWebhook checks a webhook body against the schema of its event in
// rooms-webhooks.json or marketplace-webhooks.json. The event name is read
// from the body's "event" field. It uses the documents from Load.
func ValidateWebhook(body []byte) error {
	s, err := Load()
	if err != nil {
		return err
	}
	return s.ValidateWebhook(body)
}

// ValidateWebhook checks a webhook body against its event's schema.
func (s *Spec) ValidateWebhook(body []byte) error {
	var head struct {
		Event string `json:"event"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return fmt.Errorf("zoomspec: webhook body: %w", err)
	}
	schema, ok := s.webhooks[head.Event]
	if !ok {
		return fmt.Errorf("zoomspec: webhook event %q is not in Zoom's documents", head.Event)
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("zoomspec: webhook body: %w", err)
	}
	v = numbersToFloat(v)
	if err := schema.VisitJSON(v, openapi3.MultiErrors(), openapi3.EnableFormatValidation()); err != nil {
		return fmt.Errorf("zoomspec: webhook %s: %w", head.Event, err)
	}
	return nil
}

// WebhookEvents lists the event names the documents describe.
func (s *Spec) WebhookEvents() []string {
	names := make([]string, 0, len(s.webhooks))
	for n := range s.webhooks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// numbersToFloat converts json.Number values into float64, the form
// kin-openapi's VisitJSON expects.
func numbersToFloat(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = numbersToFloat(e)
		}
	case []any:
		for i, e := range t {
			t[i] = numbersToFloat(e)
		}
	case json.Number:
		f, _ := t.Float64()
		return f
	}
	return v
}
