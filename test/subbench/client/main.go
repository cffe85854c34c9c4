// Command client is the load side of the subscriptions benchmark
// (test/subbench): it opens one graphql-transport-ws connection per
// subscriber to a gateway, subscribes each to roomStatusChanged, answers
// keep-alive pings, and measures for every event the time from its "at"
// (when the gateway detected the change) to its arrival here. It runs in its
// own process so the gateway's memory and CPU are its own.
//
// Protocol with the benchmark, on stdin/stdout: the client prints
// "ready <n>" once every connection is acknowledged and subscribed, then
// "result <json>" when its stdin is closed.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

const query = `subscription { roomStatusChanged { status at room { id } } }`

// result is what the client reports.
type result struct {
	Subscribers int     `json:"subscribers"`
	Events      int     `json:"events"`
	Errors      int64   `json:"errors"`
	P50Ms       float64 `json:"p50Ms"`
	P99Ms       float64 `json:"p99Ms"`
	MaxMs       float64 `json:"maxMs"`
}

// recorder collects latencies from every connection's reader.
type recorder struct {
	mu        sync.Mutex
	latencies []time.Duration
	errors    atomic.Int64
}

func (r *recorder) add(d time.Duration) {
	r.mu.Lock()
	r.latencies = append(r.latencies, d)
	r.mu.Unlock()
}

func (r *recorder) result(subscribers int) result {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := result{Subscribers: subscribers, Events: len(r.latencies), Errors: r.errors.Load()}
	if len(r.latencies) == 0 {
		return out
	}
	slices.Sort(r.latencies)
	at := func(q float64) float64 {
		return float64(r.latencies[int(q*float64(len(r.latencies)-1))].Microseconds()) / 1000
	}
	out.P50Ms, out.P99Ms, out.MaxMs = at(0.50), at(0.99), at(1)
	return out
}

func main() {
	url := flag.String("url", "", "ws://host:port/graphql")
	tokensFile := flag.String("tokens", "", "file with one credential per line; subscribers are spread over them round-robin")
	n := flag.Int("n", 1000, "subscribers")
	parallel := flag.Int("parallel", 64, "connections opened at once")
	flag.Parse()
	tokens, err := readLines(*tokensFile)
	if err != nil || len(tokens) == 0 {
		log.Fatalf("client: tokens: %v", err)
	}
	rec := &recorder{}
	conns := make([]*websocket.Conn, *n)
	sem := make(chan struct{}, *parallel)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range *n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := open(*url, tokens[i%len(tokens)])
			if err != nil {
				if failed.Add(1) == 1 {
					log.Printf("client: connection %d: %v", i, err)
				}
				return
			}
			conns[i] = c
		}()
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		log.Fatalf("client: %d of %d connections failed", f, *n)
	}
	for _, c := range conns {
		go read(c, rec)
	}
	fmt.Printf("ready %d\n", *n)
	_, _ = io.Copy(io.Discard, os.Stdin)
	out, _ := json.Marshal(rec.result(*n))
	fmt.Printf("result %s\n", out)
	for _, c := range conns {
		_ = c.Close()
	}
}

// open connects, authenticates and subscribes one subscriber.
func open(url, token string) (*websocket.Conn, error) {
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: 30 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 1024}
	c, _, err := d.Dial(url, nil)
	if err != nil {
		return nil, err
	}
	_ = c.SetReadDeadline(time.Now().Add(60 * time.Second))
	if err := c.WriteJSON(map[string]any{"type": "connection_init", "payload": map[string]any{"authorization": "Bearer " + token}}); err != nil {
		c.Close()
		return nil, err
	}
	var ack struct{ Type string }
	for ack.Type == "" || ack.Type == "ping" {
		ack.Type = ""
		if err := c.ReadJSON(&ack); err != nil {
			c.Close()
			return nil, fmt.Errorf("connection_ack: %w", err)
		}
	}
	if ack.Type != "connection_ack" {
		c.Close()
		return nil, fmt.Errorf("got %q, want connection_ack", ack.Type)
	}
	if err := c.WriteJSON(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": query}}); err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetReadDeadline(time.Time{})
	return c, nil
}

// message is the part of a server message the client reads.
type message struct {
	Type    string `json:"type"`
	Payload struct {
		Data struct {
			RoomStatusChanged struct {
				At time.Time `json:"at"`
			} `json:"roomStatusChanged"`
		} `json:"data"`
		Errors []any `json:"errors"`
	} `json:"payload"`
}

// read records one connection's events; it is the connection's only
// writer too (pongs), as gorilla requires.
func read(c *websocket.Conn, rec *recorder) {
	for {
		_, data, err := c.ReadMessage()
		now := time.Now()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				rec.errors.Add(1)
			}
			return
		}
		var m message
		if json.Unmarshal(data, &m) != nil {
			rec.errors.Add(1)
			continue
		}
		switch m.Type {
		case "next":
			if len(m.Payload.Errors) > 0 {
				rec.errors.Add(1)
				continue
			}
			rec.add(now.Sub(m.Payload.Data.RoomStatusChanged.At))
		case "ping":
			_ = c.WriteMessage(websocket.TextMessage, []byte(`{"type":"pong"}`))
		default:
			rec.errors.Add(1)
		}
	}
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := strings.TrimSpace(s.Text()); line != "" {
			out = append(out, line)
		}
	}
	return out, s.Err()
}
