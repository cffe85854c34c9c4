package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"zoomsignage/apierror"
)

// The graphql-transport-ws close codes gqlgen does not send by itself, as
// the protocol and its reference server (graphql-ws) use them.
const (
	closeBadRequest      = 4400 // invalid message
	closeUnauthorized    = 4401 // subscribe before connection_ack
	closeForbidden       = 4403 // bad or missing credentials
	closeInitTimeout     = 4408 // no connection_init in time
	closeDuplicateID     = 4409 // subscribe with an id that is still running
	closeTooManyInits    = 4429 // a second connection_init
	closeInternal        = 4500 // the server could not authenticate at all
	transportWS          = "graphql-transport-ws"
	transportWSLegacy    = "graphql-ws"
	reasonInitTimeout    = "Connection initialisation timeout"
	reasonTooManyInits   = "Too many initialisation requests"
	reasonUnauthorized   = "Unauthorized"
	reasonInvalidMessage = "Invalid message received"
)

// clientMessage is the envelope of a message from the client: enough to
// apply the protocol's rules before gqlgen sees the message.
type clientMessage struct {
	Type string          `json:"type"`
	ID   *string         `json:"id"`
	Raw  json.RawMessage `json:"payload"`
}

// protocolState enforces the graphql-transport-ws rules gqlgen leaves out:
// one connection_init, no subscribe before it, unique live operation ids,
// well-formed messages. It sees every client message and every complete or
// error the server sends.
type protocolState struct {
	// maxLive caps the operations running at once on the connection: each
	// holds an event stream, its buffer and a goroutine, so one socket
	// must not be able to open them without bound.
	maxLive int

	mu     sync.Mutex
	inited bool
	live   map[string]struct{} // operation ids the client started and that have not ended
	// ended holds ids the client completed whose end gqlgen has not
	// confirmed yet (it answers with a complete of its own, which the
	// reference server does not send, so it is swallowed). A subscribe
	// reusing such an id waits for that confirmation: gqlgen would
	// otherwise let the old operation's cleanup forget the new one.
	ended map[string]chan struct{}
}

// verdict is what to do with one client message.
type verdict struct {
	pass  bool          // hand the message to gqlgen
	wait  chan struct{} // wait for this, then inspect the message again
	pong  bool          // answer a ping ourselves (before init gqlgen would refuse it)
	pongd bool          // a pong arrived (keep-alive)
	reply []byte        // answer the message with this instead of passing it
	close int           // close the connection with this code (0: don't)
	why   string        // the close reason
}

// inspect applies the rules to one client message of graphql-transport-ws.
func (p *protocolState) inspect(data []byte) verdict {
	// Keep-alive answers are most of what an idle client sends: recognise
	// their usual encoding without decoding, which also keeps the
	// connection's long-lived goroutine stack small.
	if bytes.Equal(data, msgPong) {
		return verdict{pongd: true}
	}
	var m clientMessage
	if err := json.Unmarshal(data, &m); err != nil || m.Type == "" {
		return verdict{close: closeBadRequest, why: reasonInvalidMessage}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch m.Type {
	case "connection_init":
		if p.inited {
			return verdict{close: closeTooManyInits, why: reasonTooManyInits}
		}
		p.inited = true
		return verdict{pass: true}
	case "ping":
		if !p.inited {
			return verdict{pong: true}
		}
		return verdict{pass: true}
	case "pong":
		return verdict{pongd: true}
	case "subscribe":
		if !p.inited {
			return verdict{close: closeUnauthorized, why: reasonUnauthorized}
		}
		if m.ID == nil || *m.ID == "" || len(m.Raw) == 0 {
			return verdict{close: closeBadRequest, why: reasonInvalidMessage}
		}
		if _, dup := p.live[*m.ID]; dup {
			return verdict{close: closeDuplicateID, why: "Subscriber for " + *m.ID + " already exists"}
		}
		if ch, ending := p.ended[*m.ID]; ending {
			return verdict{wait: ch}
		}
		return p.start(*m.ID, "error")
	case "complete":
		if m.ID == nil {
			return verdict{close: closeBadRequest, why: reasonInvalidMessage}
		}
		if _, ok := p.live[*m.ID]; ok {
			delete(p.live, *m.ID)
			if p.ended == nil {
				p.ended = make(map[string]chan struct{})
			}
			p.ended[*m.ID] = make(chan struct{})
		}
		return verdict{pass: p.inited}
	}
	return verdict{close: closeBadRequest, why: reasonInvalidMessage}
}

// start admits operation id unless the connection already runs maxLive;
// an operation over the cap is refused with an error message of errType
// for its id (the connection and its other operations carry on). p.mu must
// be held.
func (p *protocolState) start(id, errType string) verdict {
	if p.maxLive > 0 && len(p.live) >= p.maxLive {
		reply, _ := json.Marshal(struct {
			ID      string           `json:"id"`
			Type    string           `json:"type"`
			Payload []map[string]any `json:"payload"`
		}{id, errType, []map[string]any{{
			"message":    fmt.Sprintf("too many subscriptions on this connection (at most %d at once): complete one first", p.maxLive),
			"extensions": map[string]any{"code": string(apierror.RateLimited)},
		}}})
		return verdict{reply: reply}
	}
	if p.live == nil {
		p.live = make(map[string]struct{})
	}
	p.live[id] = struct{}{}
	return verdict{pass: true}
}

// inspectLegacy applies what holds on the legacy graphql-ws protocol: the
// init timeout (connection_init seen) and the cap on live operations
// ("start"). Everything else goes to gqlgen as it is.
func (p *protocolState) inspectLegacy(data []byte) verdict {
	if bytes.Equal(data, msgPong) {
		return verdict{pass: true}
	}
	var m clientMessage
	if json.Unmarshal(data, &m) != nil {
		return verdict{pass: true} // gqlgen answers malformed messages itself
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case m.Type == "connection_init":
		p.inited = true
	case m.Type == "start" && m.ID != nil:
		if _, running := p.live[*m.ID]; !running {
			return p.start(*m.ID, "error")
		}
	}
	return verdict{pass: true}
}

var (
	msgPong        = []byte(`{"type":"pong"}`)
	suffixComplete = []byte(`"type":"complete"}`)
	suffixError    = []byte(`"type":"error"}`)
)

// sent notes a server message and reports whether to swallow it: complete
// and error end an operation, so its id may be used again, and a complete
// answering the client's own complete is not sent. gqlgen marshals its
// envelope with "type" last, so the common "next" messages are told apart
// by their suffix without decoding them.
func (p *protocolState) sent(data []byte) (swallow bool) {
	complete := bytes.HasSuffix(data, suffixComplete)
	if !complete && !bytes.HasSuffix(data, suffixError) {
		return false
	}
	var m clientMessage
	if json.Unmarshal(data, &m) != nil || m.ID == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if ch, ok := p.ended[*m.ID]; ok {
		close(ch)
		delete(p.ended, *m.ID)
		return complete
	}
	delete(p.live, *m.ID)
	return false
}

// initialised reports whether connection_init arrived.
func (p *protocolState) initialised() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inited
}
